// Builds a dnd worker: the CPU role polls the CPU queue with every workflow and activity; the GPU role
// polls the GPU queue with activities only (its presence on that queue is what routes training there).
// Not the CLI (cli.ts) and not the step logic (step-selection.ts chooses the step functions).
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { monitorEventLoopDelay } from 'perf_hooks';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { currentBackend, sha256Hex, writeFileAtomic, type ArtifactStore } from '@dnd/core';
import { createActivities } from './activities';
import type { StepFunctions } from './step-contract';

/** Options of createDndWorker. */
export interface DndWorkerOptions {
  connection: NativeConnection;
  namespace?: string;
  /** 'cpu': workflows + activities on `taskQueue`; 'gpu': activities only. */
  role: 'cpu' | 'gpu';
  taskQueue: string;
  store: ArtifactStore;
  steps: StepFunctions;
  /** A prebuilt workflow bundle (tests share one); default: bundle ./workflows at start. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  identity?: string;
  /**
   * Concurrent activities (default 8). The real steps run their model work one at a time per process (a
   * StepSlot in activities/run-step.ts), so the slots hold waiting steps and quick activities (pickQueue, writeManifest):
   * with 2, two model steps waiting on the lock kept a fold's writeManifest queued for minutes.
   */
  maxConcurrentActivityTaskExecutions?: number;
  /** How often a step's work folder is copied to the store for other hosts (ActivityDeps.workSyncMs; default by store kind). */
  workSyncMs?: number | null;
  /** Time a workflow task waits on this worker's sticky queue before going to the normal queue (default 10 s). */
  stickyQueueScheduleToStartTimeoutMs?: number;
}

/** Activity slots of a worker when not given (see DndWorkerOptions.maxConcurrentActivityTaskExecutions). */
export const DEFAULT_ACTIVITY_SLOTS = 8;

/**
 * Creates (does not run) a dnd worker. Run it with `worker.run()`; stop it with `worker.shutdown()`.
 * @example const w = await createDndWorker({ connection, role: 'cpu', taskQueue: 'dnd-cpu', store, steps }); await w.run();
 */
export async function createDndWorker(o: DndWorkerOptions): Promise<Worker> {
  const identity = o.identity ?? `dnd-${o.role}@${os.hostname()}:${process.pid}`;
  const loop = monitorEventLoopDelay({ resolution: 20 });
  loop.enable();
  const since = new Date().toISOString();
  const ms = (ns: number): number => Math.round(ns / 1e4) / 100;
  const activities = createActivities({
    store: o.store, steps: o.steps, queue: o.taskQueue, ...(o.workSyncMs === undefined ? {} : { workSyncMs: o.workSyncMs }),
    backend: async () => (await currentBackend())?.name ?? null,
    eventLoopDelay: () => ({ p50Ms: ms(loop.percentile(50)), p99Ms: ms(loop.percentile(99)), maxMs: ms(loop.max), worker: identity, since }),
  });
  const workflows: Partial<WorkerOptions> = o.role === 'cpu' ? { workflowBundle: o.workflowBundle ?? { codePath: await cachedWorkflowBundle() } } : {};
  return Worker.create({
    connection: o.connection,
    namespace: o.namespace ?? 'default',
    taskQueue: o.taskQueue,
    identity,
    activities,
    ...workflows,
    maxConcurrentActivityTaskExecutions: o.maxConcurrentActivityTaskExecutions ?? DEFAULT_ACTIVITY_SLOTS,
    stickyQueueScheduleToStartTimeout: o.stickyQueueScheduleToStartTimeoutMs ?? 10_000,
    // Give running activities a moment to heartbeat their last unit on shutdown.
    shutdownGraceTime: 5_000,
    // Heartbeats carry the progress `dnd run`/`dnd status` show, and the step processes' parents send one every
    // tick: let one through every second at most (the SDK's default is 0.8 x heartbeatTimeout, 48 s here), so a
    // heartbeat reaches the server well inside even a short timeout on a loaded machine; one small RPC per step.
    maxHeartbeatThrottleInterval: '1 second',
    defaultHeartbeatThrottleInterval: '1 second',
  });
}

/**
 * The workflow bundle (webpack over ./workflows, a few seconds) cached as a file keyed by the workflow
 * sources and the SDK version, so that `dnd run`/`dnd worker` start without re-bundling unchanged code.
 * Cache folder: DND_CACHE/workflow-bundles (default ~/.cache/dnd).
 */
export async function cachedWorkflowBundle(): Promise<string> {
  const workflowsPath = require.resolve('./workflows');
  const dir = path.dirname(workflowsPath);
  const files: string[] = [];
  const walk = (d: string): void => {
    for (const f of fs.readdirSync(d).sort()) {
      const p = path.join(d, f);
      if (fs.statSync(p).isDirectory()) walk(p);
      else if (/\.(ts|js)$/.test(f) && !f.endsWith('.d.ts')) files.push(p);
    }
  };
  walk(dir);
  const sdk = (require('@temporalio/worker/package.json') as { version: string }).version;
  const key = sha256Hex([sdk, ...files.map((f) => `${path.relative(dir, f)}\0${sha256Hex(fs.readFileSync(f))}`)].join('\n')).slice(0, 24);
  const cacheDir = path.join(process.env['DND_CACHE'] ?? path.join(os.homedir(), '.cache', 'dnd'), 'workflow-bundles');
  const file = path.join(cacheDir, `dnd-workflows-${key}.js`);
  if (!fs.existsSync(file)) {
    const { code } = await bundleWorkflowCode({ workflowsPath, logger: new DefaultLogger('WARN') });
    writeFileAtomic(file, code);
  }
  return file;
}
