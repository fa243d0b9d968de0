// `dnd worker` as a long-running service: connects with the production connection options, opens the
// artifact store its URL names (local directory or s3://), writes a health file and/or serves a health
// endpoint, logs JSON lines on request, and shuts down gracefully on SIGTERM/SIGINT.
// Not the worker's construction (worker.ts) and not the flag definitions of other commands (cli.ts).
import * as fs from 'fs';
import * as http from 'http';
import * as path from 'path';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { LocalArtifactStore, openArtifactStore, writeFileAtomic } from '@dnd/core';
import { loadRunConfig } from '../config';
import { connectOptions, describeConnection, resolveConnection, type ConnectionFlags } from '../connection-options';
import type { StepFunctions } from '../step-contract';
import { inChildProcesses } from '../activities/step-process';
import { createStepFunctions } from '../step-selection';
import { createDndWorker, type DndWorkerOptions } from '../worker';

/** The flags of `dnd worker` (connection flags included). */
export interface WorkerCommandOptions extends ConnectionFlags {
  queue: 'cpu' | 'gpu';
  config?: string;
  /** A directory or a store URL (`s3://bucket/prefix`); default DND_ARTIFACTS, else the config's artifactsDir. */
  artifacts?: string;
  concurrency: number;
  /** File rewritten every `healthIntervalSec` with the worker's state; removed when the worker has stopped. */
  healthFile?: string;
  /** Port of a loopback-or-any HTTP health endpoint: 200 while polling, 503 otherwise. */
  healthPort?: number;
  /** Host the health endpoint binds (default 127.0.0.1). */
  healthHost?: string;
  /** JSON lines on stderr instead of `[dnd]` text. */
  logJson?: boolean;
  /** Seconds between copies of a step's work folder to an S3 store (0: at every progress call); default 30. */
  workSyncSeconds?: number;
}

/** What the health file and endpoint report. */
export interface WorkerHealth {
  status: 'starting' | 'polling' | 'stopping' | 'stopped' | 'failed';
  pid: number;
  taskQueue: string;
  namespace: string;
  address: string;
  store: string;
  startedAt: string;
  updatedAt: string;
  /** The SDK worker state (RUNNING, DRAINING, STOPPING...). */
  workerState?: string;
}

/** A logger that writes one JSON object per line (`{"at","level","event",...}`) or a `[dnd]` text line. */
export function workerLog(json: boolean): (level: 'info' | 'warn' | 'error', event: string, fields?: Record<string, unknown>) => void {
  return (level, event, fields = {}) => {
    if (json) process.stderr.write(JSON.stringify({ at: new Date().toISOString(), level, event, ...fields }) + '\n');
    else process.stderr.write(`[dnd] ${event}${Object.keys(fields).length ? ` ${Object.entries(fields).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ')}` : ''}\n`);
  };
}

/**
 * Runs `dnd worker` until SIGTERM/SIGINT (the Temporal runtime's shutdown signals): stops polling, lets the
 * running steps finish within the worker's grace time and hands the rest back to the server (their outputs
 * publish atomically, so nothing half-written stays), then closes the connection and removes the health file.
 * `deps` replaces the step functions or the workflow bundle (tests: demo steps that log their units).
 * @example await runWorkerCommand({ queue: 'gpu', artifacts: 's3://dnd/prod', concurrency: 1, healthFile: '/run/dnd/health.json' })
 */
export async function runWorkerCommand(o: WorkerCommandOptions, deps: { steps?: StepFunctions; workflowBundle?: DndWorkerOptions['workflowBundle'] } = {}): Promise<void> {
  const log = workerLog(Boolean(o.logJson));
  const conn = resolveConnection(o);
  if (!conn.address) throw new Error('dnd worker needs TEMPORAL_ADDRESS or --address (host:port of the Temporal frontend)');
  const local = createStepFunctions();
  const { config } = loadRunConfig(o.config ?? null, local);
  // Each step runs in a child process of this worker (activities/step-process.ts); tests may pass in-process steps.
  const steps = deps.steps ?? inChildProcesses(local);
  const namespace = conn.namespace ?? config.temporal.namespace;
  const taskQueue = o.queue === 'gpu' ? config.temporal.gpuQueue : config.temporal.cpuQueue;
  const storeUrl = o.artifacts ?? config.artifactsDir;
  const health: WorkerHealth = {
    status: 'starting', pid: process.pid, taskQueue, namespace, address: conn.address, store: storeUrl,
    startedAt: new Date().toISOString(), updatedAt: new Date().toISOString(),
  };
  let worker: Worker | null = null;
  const writeHealth = (status?: WorkerHealth['status']): void => {
    if (status) health.status = status;
    health.updatedAt = new Date().toISOString();
    health.workerState = worker?.getState();
    if (o.healthFile) writeFileAtomic(o.healthFile, JSON.stringify(health, null, 2) + '\n');
  };
  let server: http.Server | null = null;
  if (o.healthPort !== undefined) {
    server = http.createServer((_req, res) => {
      health.updatedAt = new Date().toISOString();
      health.workerState = worker?.getState();
      res.writeHead(health.status === 'polling' && health.workerState === 'RUNNING' ? 200 : 503, { 'content-type': 'application/json' });
      res.end(JSON.stringify(health) + '\n');
    });
    await new Promise<void>((resolve, reject) => { server!.once('error', reject); server!.listen(o.healthPort, o.healthHost ?? '127.0.0.1', resolve); });
  }
  if (o.healthFile) fs.mkdirSync(path.dirname(path.resolve(o.healthFile)), { recursive: true });
  writeHealth();
  const timer = setInterval(() => writeHealth(), 10_000);
  timer.unref();
  // Once the worker runs, the Temporal runtime's own handlers shut it down on these signals; before that
  // (opening the store, connecting), this flag makes the start-up end without polling.
  let stopRequested = false;
  const onSignal = (signal: string): void => {
    stopRequested = true;
    log('info', 'worker.stopping', { signal, taskQueue, pid: process.pid });
    writeHealth('stopping');
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  let connection: NativeConnection | null = null;
  try {
    const store = await openArtifactStore(storeUrl);
    connection = await NativeConnection.connect(connectOptions(conn, conn.address));
    worker = await createDndWorker({
      connection, namespace, role: o.queue, taskQueue, steps, store, maxConcurrentActivityTaskExecutions: o.concurrency, workflowBundle: deps.workflowBundle,
      ...(o.workSyncSeconds === undefined || store instanceof LocalArtifactStore ? {} : { workSyncMs: o.workSyncSeconds * 1000 }),
    });
    if (stopRequested) {
      writeHealth('stopped');
      log('info', 'worker.stopped', { taskQueue, pid: process.pid, before: 'polling' });
      return;
    }
    const running = worker.run();
    writeHealth('polling');
    log('info', 'worker.polling', { taskQueue, namespace, address: conn.address, connection: describeConnection(conn), store: store.location, pid: process.pid });
    await running;
    writeHealth('stopped');
    log('info', 'worker.stopped', { taskQueue, pid: process.pid });
  } catch (e) {
    writeHealth('failed');
    log('error', 'worker.failed', { taskQueue, error: (e as Error).message });
    throw e;
  } finally {
    clearInterval(timer);
    process.removeListener('SIGTERM', onSignal);
    process.removeListener('SIGINT', onSignal);
    await connection?.close().catch(() => undefined);
    if (server) await new Promise((r) => server!.close(r));
    if (o.healthFile && health.status === 'stopped') fs.rmSync(o.healthFile, { force: true });
  }
}
