// Runs each pipeline step in a child process that the activity owns, so that tensor work never blocks the
// worker's event loop: the parent heartbeats every tick with the child's latest progress whatever the child
// is doing, serves its checkpoint and resolve requests from the store, and kills it within seconds on
// cancellation, timeout or shutdown. A child that dies fails the attempt with its exit signal and the tail
// of its output. With an S3 store the child also stages its work folder at progress reports for the parent to
// upload (work-sync.ts). Not the step logic (the step functions run unchanged inside the child).
import { fork, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { Context } from '@temporalio/activity';
import type { StepContext, StepFunction, StepFunctions, StepName } from '../step-contract';
import { deserializeError, serializeError, type FromChild, type StartMessage } from './step-ipc';
import { childEntry, FROM_SOURCES } from '../child-entry';
import { LOADED_BUILD } from '../build-fingerprint';
import { heartbeatTickMs } from './step-slot';
import { moveContents } from '../move-contents';

/** Where the child finds its step functions, and how it is run. */
export interface StepProcessOptions {
  /** File the child requires; default: this build's `steps` module (DND_STEPS picks real or demo there). */
  module?: string;
  /** Export of `module` that returns the StepFunctions (default `createStepFunctions`). */
  factory?: string;
  /** Extra environment of the child. */
  env?: Record<string, string>;
  /** Milliseconds between SIGTERM and SIGKILL when stopping a child (default 2000). */
  killGraceMs?: number;
  /** Called with each child's pid when it starts and when it is gone (tests count processes). */
  onChild?: (pid: number, event: 'start' | 'exit') => void;
  /** The build the child must find on disk (default: the one this worker loaded, LOADED_BUILD; null: no check). */
  build?: string | null;
}

/** Children alive in this process: killed when it exits, however it exits short of SIGKILL. */
const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of live) try { c.kill('SIGKILL'); } catch { /* gone */ }
});

/**
 * Runs step `step` of the StepFunctions that `opts.module` builds in a fresh child process, with `ctx`'s
 * services served from this process. Resolves with the step's summary (plus `backend`, the child's
 * tensor backend, when the step did not set one); rejects with the step's own error (class kept), with
 * the cancellation reason once `ctx.signal` aborts (the child is killed first), or with the child's exit
 * signal or code and the tail of its output when it dies.
 * @example await runStepInChild('collectSet', input, outDir, ctx, { heartbeatTimeoutMs: 60_000 })
 */
export function runStepInChild(step: StepName, input: unknown, outDir: string, ctx: StepContext, o: StepProcessOptions & { heartbeatTimeoutMs?: number } = {}): Promise<Record<string, unknown>> {
  if (ctx.signal.aborted) return Promise.reject(ctx.signal.reason ?? new Error(`${step}: cancelled`));
  const { file, execArgv } = childEntry(__dirname, 'step-child');
  const child = fork(file, [], { execArgv, env: { ...process.env, ...o.env }, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  live.add(child);
  const pid = child.pid ?? -1;
  o.onChild?.(pid, 'start');
  let tail = '';
  const keep = (d: Buffer): void => { tail = (tail + String(d)).slice(-4000); };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);

  let note: string | undefined;
  let result: { meta: Record<string, unknown>; backend: string | null } | null = null;
  let failure: Error | null = null;
  const timer = setInterval(() => ctx.heartbeat(note), heartbeatTickMs(o.heartbeatTimeoutMs));
  let killTimer: NodeJS.Timeout | null = null;
  const stop = (): void => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    killTimer = setTimeout(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); }, o.killGraceMs ?? 2000);
  };
  ctx.signal.addEventListener('abort', stop, { once: true });
  const reply = (id: number, p: Promise<unknown>): void => {
    p.then((value) => child.connected && child.send({ t: 'reply', id, value }),
      (e) => child.connected && child.send({ t: 'reply', id, error: serializeError(e) }));
  };

  child.on('message', (m: FromChild) => {
    switch (m.t) {
      case 'progress':
        if (m.staged) {
          if (ctx.saveWork) ctx.saveWork(m.staged);
          else fs.rmSync(m.staged, { recursive: true, force: true });
        }
        note = m.note; ctx.progress(m.done, m.total, m.note); break;
      case 'heartbeat': note = m.note; ctx.heartbeat(m.note); break;
      case 'log': ctx.log(m.message); break;
      case 'checkpoint': reply(m.id, ctx.checkpoint(m.index, m.total, async (dir) => { moveContents(m.dir, dir); fs.rmSync(m.dir, { recursive: true, force: true }); })); break;
      case 'resolve': reply(m.id, ctx.resolve(m.ref)); break;
      case 'done': result = { meta: m.meta, backend: m.backend }; break;
      case 'error': failure = deserializeError(m.error); break;
    }
  });

  const start: StartMessage = {
    t: 'start', module: o.module ?? path.join(__dirname, '..', FROM_SOURCES ? 'step-selection.ts' : 'step-selection.js'), factory: o.factory ?? 'createStepFunctions',
    step, input, outDir, workDir: ctx.workDir, ...(ctx.cacheDir === undefined ? {} : { cacheDir: ctx.cacheDir }), resume: ctx.resume, workSyncMs: ctx.saveWork && ctx.workSyncMs !== undefined ? ctx.workSyncMs : null,
    build: o.build === undefined ? LOADED_BUILD : o.build,
  };
  child.send(start);

  return new Promise((resolve, reject) => {
    child.once('exit', (code, signal) => {
      clearInterval(timer);
      if (killTimer) clearTimeout(killTimer);
      ctx.signal.removeEventListener('abort', stop);
      live.delete(child);
      o.onChild?.(pid, 'exit');
      if (ctx.signal.aborted) return reject(ctx.signal.reason ?? new Error(`${step}: cancelled`));
      if (result && code === 0) {
        const meta = result.meta;
        return resolve(meta['backend'] === undefined && result.backend ? { ...meta, backend: result.backend } : meta);
      }
      if (failure) return reject(failure);
      const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
      reject(new Error(`${step}: the step process (pid ${pid}) ${how} before it finished${tail.trim() ? `; its last output:\n${tail.trim()}` : ''}`));
    });
  });
}

/**
 * `local` with each step run in a child process (runStepInChild); defaults, versions and validation stay
 * in this process (no model work). The child builds its own StepFunctions from `opts.module`, which must
 * choose the same steps as `local` (both default to src/step-selection.ts, which reads DND_STEPS).
 * @example createDndWorker({ ..., steps: inChildProcesses(createStepFunctions()) })
 */
export function inChildProcesses(local: StepFunctions, opts: StepProcessOptions = {}): StepFunctions {
  const wrap = (step: StepName): StepFunction<any> => async (input, outDir, ctx) => {
    let heartbeatTimeoutMs: number | undefined;
    try { heartbeatTimeoutMs = Context.current().info.heartbeatTimeoutMs; } catch { /* outside an activity */ }
    return runStepInChild(step, input, outDir, ctx, { ...opts, heartbeatTimeoutMs });
  };
  return {
    ...local,
    collectSet: wrap('collectSet'), buildPairs: wrap('buildPairs'), trainGenerator: wrap('trainGenerator'), evaluate: wrap('evaluate'),
  };
}
