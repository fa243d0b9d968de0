// Where a dnd command finds Temporal: TEMPORAL_ADDRESS (a cluster), a dev server another dnd process
// already runs for this run directory (server.json), or a dev server started now on the run's SQLite
// file. Also the run directory's files. Not the workflows or the worker.
import * as fs from 'fs';
import * as path from 'path';
import type { Client } from '@temporalio/client';
import { BadInputError, validateName, writeFileAtomic } from '@dnd/core';
import { connectClient } from './client';
import { resolveConnection, type TemporalConnectionConfig } from './connection-options';
import { validateRunConfig } from './config';
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

/**
 * Reads `<runDir>/config.json`. A file that is not JSON, or not a saved run, is an error naming the file;
 * the run id and set names it holds pass the one name rule like those typed on the command line.
 * @example loadRun('runs/exp-3').config.sets
 */
export function loadRun(runDir: string): SavedRun {
  const f = runFiles(runDir).config;
  if (!fs.existsSync(f)) throw new BadInputError(`no run at ${runDir} (missing ${f})`);
  let run: SavedRun;
  try {
    run = JSON.parse(fs.readFileSync(f, 'utf8')) as SavedRun;
  } catch (e) {
    throw new BadInputError(`${f} is corrupt: ${(e as Error).message} (it is written by \`dnd run\`; start the run again with \`dnd run\` to rewrite it)`);
  }
  if (!run || typeof run !== 'object' || !run.config || typeof run.config !== 'object' || (run.workflow !== 'dndPipeline' && run.workflow !== 'leaveOneOut')) {
    throw new BadInputError(`${f} is not a saved run (expected {runId, preset, config, workflow})`);
  }
  try {
    validateName('run id', run.runId);
    validateRunConfig(run.config);
  } catch (e) {
    throw new BadInputError(`${f}: ${(e as Error).message}`);
  }
  return run;
}

/** Whether process `pid` is alive (signal 0). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Opens a session for `runDir`: the cluster of `opts.connection` (default: TEMPORAL_ADDRESS and the other
 * TEMPORAL_* variables, see connection-options.ts) if it names one; else the live dev server of this run dir; else
 * starts one on `<runDir>/temporal.db` (history persists across restarts) unless `start` is false.
 */
export async function openSession(runDir: string, opts: { namespace?: string; ui?: boolean; start?: boolean; log?: (m: string) => void; connection?: TemporalConnectionConfig } = {}): Promise<Session> {
  const conn = opts.connection ?? resolveConnection({});
  const ns = conn.namespace ?? opts.namespace ?? 'default';
  const log = opts.log ?? (() => undefined);
  const cluster = conn.address;
  if (cluster) {
    const client = await connectClient(cluster, ns, conn, process.env['TEMPORAL_ADDRESS'] === cluster ? 'TEMPORAL_ADDRESS' : '--address');
    return { client, address: cluster, uiUrl: process.env['TEMPORAL_UI_URL'] ?? null, embedded: false, close: () => client.connection.close() };
  }
  const files = runFiles(runDir);
  if (fs.existsSync(files.server)) {
    const s = JSON.parse(fs.readFileSync(files.server, 'utf8')) as { address: string; uiUrl: string | null; pid: number; owner: number };
    if (alive(s.pid) && alive(s.owner)) {
      const client = await connectClient(s.address, ns, undefined, 'the run\'s dev server');
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
  const client = await connectClient(server.address, ns, undefined, 'the embedded dev server').catch(async (e) => { await server.stop(); throw e; });
  return {
    client, address: server.address, uiUrl: server.uiUrl, embedded: true, serverPid: server.pid,
    async close() {
      await client.connection.close().catch(() => undefined);
      await server.stop();
      fs.rmSync(files.server, { force: true });
    },
  };
}
