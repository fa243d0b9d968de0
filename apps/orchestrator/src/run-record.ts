// What a run directory says about its run without asking Temporal: status.json (running, completed, failed,
// interrupted, cancelled; dates; report paths), the reports copied beside the run (report.md / report.html /
// results.json out of the content-addressed store), and the listing behind `dnd runs`.
// Not the run's config (session.ts: config.json) and not its manifest (written by the workflow).
import * as fs from 'fs';
import * as path from 'path';
import { writeFileAtomic, type ArtifactStore } from '@dnd/core';
import type { PipelineResult } from './types';
import { alive } from './session';

/** The files of a pipeline's report that `dnd run` places beside the run. */
export const REPORT_FILES = ['report.md', 'report.html', 'results.json'] as const;

/** A run's state as the last `dnd run` / `dnd resume` on it left it. */
export interface RunStatus {
  runId: string;
  status: 'running' | 'completed' | 'failed' | 'interrupted' | 'cancelled';
  preset: string | null;
  workflow: 'dndPipeline' | 'leaveOneOut';
  /** ISO dates. */
  startedAt: string;
  updatedAt: string;
  /** PID of the dnd process driving it while running. */
  pid?: number;
  /** Main report (report.md beside the run) once completed; one per fold under leave-one-out. */
  reports: string[];
  error?: string;
}

const statusFile = (runDir: string): string => path.join(runDir, 'status.json');

/** Writes `<runDir>/status.json` atomically. */
export function writeRunStatus(runDir: string, s: RunStatus): void {
  writeFileAtomic(statusFile(runDir), JSON.stringify(s, null, 2) + '\n');
}


/** Reads `<runDir>/status.json`; a 'running' status whose dnd process is gone reads as 'interrupted'. Null when absent or unreadable. */
export function readRunStatus(runDir: string): RunStatus | null {
  try {
    const s = JSON.parse(fs.readFileSync(statusFile(runDir), 'utf8')) as RunStatus;
    if (s.status === 'running' && s.pid !== undefined && !alive(s.pid)) return { ...s, status: 'interrupted' };
    return s;
  } catch {
    return null;
  }
}

/**
 * Copies a pipeline's report files from its store directory into `destDir` (atomically, each file), so that
 * `runs/<id>/report.html` stands beside the run. Returns the paths written.
 * @example placeReports('/store/ab/abcd.../data', 'runs/quickstart-1') // ['runs/quickstart-1/report.md', ...]
 */
export function placeReports(storeDir: string, destDir: string): string[] {
  const written: string[] = [];
  for (const f of REPORT_FILES) {
    const src = path.join(storeDir, f);
    if (!fs.existsSync(src)) continue;
    const dest = path.join(destDir, f);
    writeFileAtomic(dest, fs.readFileSync(src));
    written.push(dest);
  }
  return written;
}

/**
 * The run manifest beside the run on this host: `<destDir>/manifest.json`. When the worker that wrote it ran
 * elsewhere (its path is not that file), the copy it put in the store is placed there. Returns the local path,
 * or the worker's path when there is no store copy (results of workers older than the copy).
 * @example await placeManifest(store, result, 'runs/quickstart-1') // 'runs/quickstart-1/manifest.json'
 */
export async function placeManifest(store: ArtifactStore, r: Pick<PipelineResult, 'manifestPath' | 'manifestRef'>, destDir: string): Promise<string> {
  const local = path.join(destDir, 'manifest.json');
  if (path.resolve(r.manifestPath) === path.resolve(local) && fs.existsSync(local)) return local;
  if (!r.manifestRef) return r.manifestPath;
  writeFileAtomic(local, fs.readFileSync(await store.resolve(r.manifestRef)));
  return local;
}

/** One row of `dnd runs`. */
export interface RunListing {
  runId: string;
  status: RunStatus['status'] | 'unknown';
  preset: string | null;
  /** When it was started (status.json, else config.json's modification time). */
  date: string;
  report: string | null;
  runDir: string;
}

/**
 * The runs under `runsDir` (folders with a config.json), newest first.
 * @example listRuns('runs').map((r) => r.runId)
 */
export function listRuns(runsDir: string): RunListing[] {
  if (!fs.existsSync(runsDir)) return [];
  const out: RunListing[] = [];
  for (const name of fs.readdirSync(runsDir)) {
    const runDir = path.join(runsDir, name);
    const config = path.join(runDir, 'config.json');
    if (!fs.existsSync(config)) continue;
    const s = readRunStatus(runDir);
    let preset: string | null = s?.preset ?? null;
    if (!s) {
      try { preset = (JSON.parse(fs.readFileSync(config, 'utf8')) as { preset?: string | null }).preset ?? null; } catch { /* unreadable: no preset */ }
    }
    const report = s?.reports[0] ?? (fs.existsSync(path.join(runDir, 'report.md')) ? path.join(runDir, 'report.md') : null);
    out.push({ runId: name, status: s?.status ?? 'unknown', preset, date: s?.startedAt ?? fs.statSync(config).mtime.toISOString(), report, runDir });
  }
  return out.sort((a, b) => b.date.localeCompare(a.date));
}

/** `dnd runs` as a table: run id, status, preset, date (UTC, minutes), report path. */
export function formatRunList(runs: RunListing[]): string {
  if (runs.length === 0) return 'no runs';
  const rows = [['RUN', 'STATUS', 'PRESET', 'STARTED (UTC)', 'REPORT'], ...runs.map((r) => [r.runId, r.status, r.preset ?? '-', r.date.slice(0, 16).replace('T', ' '), r.report ?? '-'])];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n');
}
