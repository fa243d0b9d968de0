// Runs one step function as a Temporal activity: computes the cache key, returns a stored output
// without recomputing, resumes checkpointed units from heartbeat details and the store, heartbeats
// {done, total, last}, and maps bad input to non-retryable failures. Not the step logic itself.
import * as fs from 'fs';
import * as path from 'path';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { artifactKey, isBadInput, type ArtifactRef, type ArtifactStore } from '@dnd/core';
import { STEP_CACHE_DIR, type StepContext, type StepFunction } from '../step-contract';
import type { Progress, StepResult } from '../types';
import { heartbeatTickMs, type StepSlot } from './step-slot';
import { restoreWork, workDirEmpty, workEntries, workKey, WorkUploader } from './work-sync';

/** What runStep needs besides the step: where outputs go, and who is running it. */
export interface RunStepEnv {
  store: ArtifactStore;
  /** Parent of the per-key work directories (StepContext.workDir). */
  workRoot: string;
  queue: string;
  backend: () => Promise<string | null>;
  /** One computing step at a time per worker (waiters heartbeat; a cancelled waiter never computes). */
  slot: StepSlot;
  /**
   * Copy each step's work folder to the store at most this often (work-sync.ts), and restore it from there when
   * an attempt finds none here: for stores that other hosts read but whose work folders they cannot (S3).
   * null or absent: never (the work folder is on the store's own disk).
   */
  workSyncMs?: number | null;
}

/** One step invocation: name and version (key parts), the config and input digests that key it. */
export interface StepCall<I> {
  step: string;
  version: string;
  keyConfig: unknown;
  inputDigests: string[];
  input: I;
  mediaType: string;
  validate?: () => void;
}

/** Key of checkpoint unit `index` of the step output `stepKey`. */
export function checkpointKey(step: string, version: string, stepKey: string, index: number): string {
  return artifactKey(`${step}/checkpoint`, version, { index }, [stepKey]);
}

/** Turns errors that can never succeed on retry into ApplicationFailure.nonRetryable, keeping the cause. */
export function toFailure(step: string, e: unknown): unknown {
  if (e instanceof ApplicationFailure) return e;
  const err = e as Error;
  if (err && (isBadInput(err) || (err as any).nonRetryable === true)) {
    return ApplicationFailure.create({ message: `${step}: ${err.message}`, type: 'BadInput', nonRetryable: true, cause: err });
  }
  return e;
}

/**
 * Runs `fn` under the activity context unless its output exists. Returns references only.
 * @example await runStep(env, { step: 'collectSet', version: '1', keyConfig: cfg, inputDigests: [d], input, mediaType: 'application/vnd.dnd.zoo+dir' }, steps.collectSet)
 */
export async function runStep<I>(env: RunStepEnv, call: StepCall<I>, fn: StepFunction<I>): Promise<StepResult> {
  const ctx = Context.current();
  try {
    call.validate?.();
  } catch (e) {
    throw ApplicationFailure.create({ message: `${call.step}: invalid config: ${(e as Error).message}`, type: 'BadInput', nonRetryable: true, cause: e as Error });
  }
  const key = artifactKey(call.step, call.version, call.keyConfig, call.inputDigests);
  const cached = async (): Promise<StepResult | null> => {
    const existing = await env.store.get(key);
    if (!existing) return null;
    ctx.log.info(`${call.step}: output ${key.slice(0, 12)} exists, not recomputing`);
    return { step: call.step, key, ref: existing.ref, cached: true, meta: existing.meta, backend: null, queue: env.queue };
  };
  const before = await cached();
  if (before) return before;
  const details = ctx.info.heartbeatDetails as Progress | undefined;
  const waiting = { ...(details ?? { done: 0, total: 0, last: null }), note: 'waiting for another step of this worker' };
  // Checked again once the slot is ours: an earlier attempt of this step may have finished meanwhile.
  return env.slot.run(ctx.cancellationSignal, () => ctx.heartbeat(waiting), async () => (await cached()) ?? compute(env, call, fn, key, details), heartbeatTickMs(ctx.info.heartbeatTimeoutMs));
}

async function compute<I>(env: RunStepEnv, call: StepCall<I>, fn: StepFunction<I>, key: string, details: Progress | undefined): Promise<StepResult> {
  const ctx = Context.current();
  // Resume point: the last heartbeat of a killed attempt, then whatever further units the store holds
  // (a heartbeat can be throttled away just before a crash; the store cannot lose a committed unit).
  let done = 0;
  let last: ArtifactRef | null = null;
  if (details && Number.isInteger(details.done) && details.done > 0 && details.last
      && (await env.store.has(checkpointKey(call.step, call.version, key, details.done - 1)))) {
    done = details.done;
    last = details.last;
  }
  for (let rec = await env.store.get(checkpointKey(call.step, call.version, key, done)); rec; rec = await env.store.get(checkpointKey(call.step, call.version, key, done))) {
    last = rec.ref;
    done += 1;
  }
  if (done > 0) ctx.log.info(`${call.step}: resuming after unit ${done} (attempt ${ctx.info.attempt})`);

  const units: ArtifactRef[] = [];
  for (let i = 0; i < done; i++) units.push((await env.store.get(checkpointKey(call.step, call.version, key, i)))!.ref);
  let progress: Progress = { done, total: details?.total ?? 0, last };
  const workDir = path.join(env.workRoot, key);
  const sync = env.workSyncMs === null || env.workSyncMs === undefined ? null : await startWorkSync(env, call, key, workDir);
  fs.mkdirSync(workDir, { recursive: true });
  const stepCtx: StepContext = {
    ...(sync ? { workSyncMs: env.workSyncMs!, saveWork: (staged: string) => sync.save(staged) } : {}),
    resume: { done, last },
    workDir,
    cacheDir: path.join(env.workRoot, STEP_CACHE_DIR),
    progress(d, total, note) {
      progress = { done: d, total, last: progress.last, ...(note === undefined ? {} : { note }) };
      ctx.heartbeat(progress);
    },
    async checkpoint(index, total, write) {
      if (!Number.isInteger(index) || index < 0) throw new Error(`${call.step}: checkpoint index must be an integer >= 0, got ${index}`);
      const rec = await env.store.putDir(checkpointKey(call.step, call.version, key, index), 'application/vnd.dnd.checkpoint+dir', async (dir) => {
        await write(dir);
      }, { step: call.step, index, stepKey: key });
      units[index] = rec.ref;
      progress = { done: index + 1, total, last: rec.ref };
      ctx.heartbeat(progress);
      return rec.ref;
    },
    resolve: (ref) => env.store.resolve(ref),
    heartbeat(note) {
      ctx.heartbeat(note === undefined ? progress : { ...progress, note });
    },
    signal: ctx.cancellationSignal,
    log: (m) => ctx.log.info(`${call.step}: ${m}`),
  };

  ctx.heartbeat(progress);
  // Once the step function has returned (or thrown), nothing of it heartbeats any more (a step in its own process
  // stops with that process), while the store may still publish a large output and the work copies finish and go:
  // an S3 upload can outlast the heartbeat timeout. Keep the attempt alive through that.
  let tick: NodeJS.Timeout | null = null;
  const keepAlive = (): void => { tick ??= setInterval(() => ctx.heartbeat(progress), heartbeatTickMs(ctx.info.heartbeatTimeoutMs)); };
  try {
    const rec = await env.store.putDir(key, call.mediaType, async (dir) => {
      const meta = (await fn(call.input, dir, stepCtx)) ?? {};
      keepAlive();
      return units.length ? { ...meta, checkpoints: units.filter(Boolean) } : meta;
    }, { step: call.step, version: call.version });
    await sync?.close();
    await sync?.discardAll();
    fs.rmSync(workDir, { recursive: true, force: true });
    const backend = typeof rec.meta['backend'] === 'string' ? rec.meta['backend'] : await env.backend();
    return { step: call.step, key, ref: rec.ref, cached: false, meta: rec.meta, backend, queue: env.queue };
  } catch (e) {
    keepAlive();
    await sync?.close();
    throw toFailure(call.step, e);
  } finally {
    if (tick) clearInterval(tick);
  }
}

// Restores the work folder from the store when this host has none (an attempt that moved hosts), and returns
// the uploader of this attempt's copies, numbered after the stored ones.
async function startWorkSync<I>(env: RunStepEnv, call: StepCall<I>, key: string, workDir: string): Promise<WorkUploader> {
  const ctx = Context.current();
  for (const f of fs.existsSync(env.workRoot) ? fs.readdirSync(env.workRoot) : []) {
    if (f.startsWith(`${key}.staged-`)) fs.rmSync(path.join(env.workRoot, f), { recursive: true, force: true }); // left by a killed attempt
  }
  const keyOf = (seq: number): string => workKey(call.step, call.version, key, seq);
  const entries = await workEntries(env.store, keyOf);
  if (entries.length > 0 && workDirEmpty(workDir)) {
    await restoreWork(env.store, entries, workDir);
    ctx.log.info(`${call.step}: work folder restored from ${entries.length} stored cop${entries.length === 1 ? 'y' : 'ies'} (attempt ${ctx.info.attempt})`);
  }
  return new WorkUploader(env.store, keyOf, entries.length, (m) => ctx.log.warn(`${call.step}: ${m}`), { step: call.step, stepKey: key, kind: 'work' });
}
