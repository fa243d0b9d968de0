// What a run left on its Temporal server: each workflow's history size, from `temporal workflow describe`
// (historyLength, historySizeBytes), and each workflow's start and close times, from `temporal workflow list`;
// and a dev server started on a copy of a finished local run's temporal.db to ask (the run's own file is not
// touched). Shared by footprint.ts (a run against S3), run-footprint.ts (a finished local run) and step-times.ts
// (results-table.py --history).
import { execFileSync, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { freePort } from '@dnd/core';

export interface WorkflowHistory { id: string; events: number; bytes: number }

export function describeHistories(temporal: string, address: string, ids: readonly string[]): WorkflowHistory[] {
  return ids.map((id) => {
    const d = JSON.parse(execFileSync(temporal, ['workflow', 'describe', '--address', address, '-w', id, '-o', 'json'], { encoding: 'utf8' })) as { workflowExecutionInfo?: { historyLength?: string; historySizeBytes?: string } };
    return { id, events: Number(d.workflowExecutionInfo?.historyLength ?? 0), bytes: Number(d.workflowExecutionInfo?.historySizeBytes ?? 0) };
  });
}

export function historyTotals(h: readonly WorkflowHistory[]): { workflows: number; events: number; bytes: number; perWorkflow: readonly WorkflowHistory[] } {
  return { workflows: h.length, events: h.reduce((a, x) => a + x.events, 0), bytes: h.reduce((a, x) => a + x.bytes, 0), perWorkflow: h };
}

/** One workflow execution as `temporal workflow list` gives it; closeTime is absent while it runs. */
export interface WorkflowTimes { id: string; start: string; close: string | null }

/** Every workflow execution on the server at `address`, with its start and close times (ISO). */
export function listWorkflows(temporal: string, address: string): WorkflowTimes[] {
  const listed = JSON.parse(execFileSync(temporal, ['workflow', 'list', '--address', address, '-o', 'json'], { encoding: 'utf8' }) || '[]') as Array<{ execution?: { workflowId?: string }; startTime?: string; closeTime?: string }>;
  return listed.filter((w) => typeof w.execution?.workflowId === 'string' && typeof w.startTime === 'string')
    .map((w) => ({ id: w.execution!.workflowId!, start: w.startTime!, close: w.closeTime ?? null }));
}

/**
 * Runs `fn` against a headless dev server started on a copy of `<runDir>/temporal.db` (a finished local run's
 * history), then stops it and removes the copy.
 */
export async function withRunHistory<T>(temporal: string, runDir: string, fn: (address: string) => T | Promise<T>): Promise<T> {
  const db = path.join(runDir, 'temporal.db');
  if (!fs.existsSync(db)) throw new Error(`${runDir}: no temporal.db (a run started with --address keeps its history on that server)`);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'dnd-run-history-'));
  fs.copyFileSync(db, path.join(work, 'temporal.db'));
  const port = await freePort();
  const address = `127.0.0.1:${port}`;
  const server = spawn(temporal, ['server', 'start-dev', '--headless', '--ip', '127.0.0.1', '--port', String(port), '--db-filename', path.join(work, 'temporal.db'), '--log-level', 'error'], { stdio: 'ignore' });
  try {
    const t0 = Date.now();
    for (;;) {
      try { execFileSync(temporal, ['operator', 'cluster', 'health', '--address', address], { stdio: 'ignore' }); break; } catch {
        if (Date.now() - t0 > 60_000) throw new Error(`the dev server on a copy of ${db} did not come up in 60 s`);
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    return await fn(address);
  } finally {
    server.kill('SIGTERM');
    fs.rmSync(work, { recursive: true, force: true });
  }
}
