// Where a dnd command finds Temporal: TEMPORAL_ADDRESS (a cluster), a dev server another dnd process
// already runs for this run directory (server.json), or a dev server started now on the run's SQLite
// file. Also the run directory's files. Not the workflows or the worker.
import * as fs from 'fs';
import * as path from 'path';
import type { Client } from '@temporalio/client';
import { writeFileAtomic } from '@dnd/core';
import { connectClient } from './client';
import { startDevServer, type DevServer } from './dev-server';
import type { RunConfig } from './types';

/** A connection to Temporal for one command, and how to let go of it. */
export interface Session {
  client: Client;
  address: string;
  /** Web UI base URL when known (dev server with UI, or TEMPORAL_UI_URL). */
  uiUrl: string | null;
  /** True when this process started the dev server (and will stop it). */
  embedded: boolean;
  /** PID of the dev server this process started (for a hard stop on Ctrl-C); absent otherwise. */
  serverPid?: number;
  close(): Promise<void>;
}

/** The files of a run directory. */
export const runFiles = (runDir: string) => ({
  config: path.join(runDir, 'config.json'),
  db: path.join(runDir, 'temporal.db'),
  server: path.join(runDir, 'server.json'),
  manifest: path.join(runDir, 'manifest.json'),
});

/** What `dnd run` records so that status/cancel/resume can find the run again. */
export interface SavedRun {
  runId: string;
  preset: string | null;
  config: RunConfig;
  workflow: 'dndPipeline' | 'leaveOneOut';
}

export function saveRun(runDir: string, run: SavedRun): void {
  writeFileAtomic(runFiles(runDir).config, JSON.stringify(run, null, 2) + '\n');
}

export function loadRun(runDir: string): SavedRun {
  const f = runFiles(runDir).config;
  if (!fs.existsSync(f)) throw new Error(`no run at ${runDir} (missing ${f})`);
  return JSON.parse(fs.readFileSync(f, 'utf8')) as SavedRun;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Opens a session for `runDir`: TEMPORAL_ADDRESS if set; else the live dev server of this run dir; else
 * starts one on `<runDir>/temporal.db` (history persists across restarts) unless `start` is false.
 */
export async function openSession(runDir: string, opts: { namespace?: string; ui?: boolean; start?: boolean; log?: (m: string) => void } = {}): Promise<Session> {
  const ns = opts.namespace ?? 'default';
  const log = opts.log ?? (() => undefined);
  const cluster = process.env['TEMPORAL_ADDRESS'];
  if (cluster) {
    const client = await connectClient(cluster, ns);
    return { client, address: cluster, uiUrl: process.env['TEMPORAL_UI_URL'] ?? null, embedded: false, close: () => client.connection.close() };
  }
  const files = runFiles(runDir);
  if (fs.existsSync(files.server)) {
    const s = JSON.parse(fs.readFileSync(files.server, 'utf8')) as { address: string; uiUrl: string | null; pid: number; owner: number };
    if (alive(s.pid) && alive(s.owner)) {
      const client = await connectClient(s.address, ns, 'the run\'s dev server');
      return { client, address: s.address, uiUrl: s.uiUrl, embedded: false, close: () => client.connection.close() };
    }
    // The dnd process that started it died without stopping it: the orphan holds the SQLite file.
    if (alive(s.pid)) {
      log(`stopping an orphaned dev server (pid ${s.pid}) left by a dnd process that died`);
      process.kill(s.pid, 'SIGTERM');
      for (let i = 0; i < 100 && alive(s.pid); i++) await new Promise((r) => setTimeout(r, 100));
      if (alive(s.pid)) process.kill(s.pid, 'SIGKILL');
    }
    fs.rmSync(files.server, { force: true });
  }
  if (opts.start === false) throw new Error(`no Temporal server for ${runDir}: set TEMPORAL_ADDRESS or run \`dnd resume\``);
  fs.mkdirSync(runDir, { recursive: true });
  log(`starting the Temporal dev server (history in ${files.db})`);
  const server: DevServer = await startDevServer({ dbFile: files.db, ui: opts.ui ?? true });
  writeFileAtomic(files.server, JSON.stringify({ address: server.address, uiUrl: server.uiUrl, pid: server.pid, owner: process.pid }) + '\n');
  const client = await connectClient(server.address, ns, 'the embedded dev server').catch(async (e) => { await server.stop(); throw e; });
  return {
    client, address: server.address, uiUrl: server.uiUrl, embedded: true, serverPid: server.pid,
    async close() {
      await client.connection.close().catch(() => undefined);
      await server.stop();
      fs.rmSync(files.server, { force: true });
    },
  };
}
