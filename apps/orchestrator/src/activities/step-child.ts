// The entry point of a step's child process: loads the step functions, runs the one step the parent
// names, and talks back over IPC (progress, checkpoints, resolves, the result). Exits as soon as the
// parent goes away. Not the parent's side (step-process.ts) and not any step's logic.
import * as fs from 'fs';
import * as path from 'path';
import { currentBackend, type ArtifactRef } from '@dnd/core';
import type { StepContext, StepFunctions } from '../step-contract';
import { deserializeError, serializeError, type FromChild, type ReplyMessage, type StartMessage, type ToChild } from './step-ipc';
import { stageWork } from './work-sync';
import { buildFingerprint } from '../build-fingerprint';

const send = (m: FromChild): Promise<void> => new Promise((resolve) => {
  if (!process.send || !process.connected) return resolve();
  process.send(m, undefined, {}, () => resolve());
});

const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
let nextId = 1;
type Request = { t: 'checkpoint'; index: number; total: number; dir: string } | { t: 'resolve'; ref: ArtifactRef };
function request<T>(m: Request): Promise<T> {
  const id = nextId++;
  return new Promise<T>((resolve, reject) => {
    pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
    void send({ ...m, id });
  });
}

function onReply(m: ReplyMessage): void {
  const p = pending.get(m.id);
  if (!p) return;
  pending.delete(m.id);
  if (m.error) p.reject(deserializeError(m.error));
  else p.resolve(m.value);
}

async function run(m: StartMessage): Promise<void> {
  // Before any step code loads: the code on disk must be the build the worker named its cache keys by.
  if (m.build !== null) {
    const here = buildFingerprint();
    if (here !== m.build) {
      throw new Error('step process: restart this worker (a local run: interrupt it, then dnd resume <run-id>): the code on disk is not the build it loaded '
        + `(worker ${m.build.slice(0, 12)}, on disk ${here === null ? 'sources' : here.slice(0, 12)}). The packages were rebuilt after the worker started (any ./dnd `
        + 'command rebuilds changed sources), and the worker names its steps\' cache keys by the code it loaded; a restarted worker retries the step with the new code under new keys.');
    }
  }
  const mod = require(m.module) as Record<string, () => StepFunctions>;
  const factory = mod[m.factory];
  if (typeof factory !== 'function') throw new Error(`step process: ${m.module} exports no function "${m.factory}"`);
  const steps = factory();
  const fn = steps[m.step] as (input: unknown, outDir: string, ctx: StepContext) => Promise<Record<string, unknown> | void>;
  const units = path.join(m.workDir, '.units');
  // A progress call is a point between units, where workDir is consistent: stage it there when a copy is due.
  let lastStaged = 0;
  let staged = 0;
  const stage = (): string | undefined => {
    if (m.workSyncMs === null || Date.now() - lastStaged < m.workSyncMs || !fs.existsSync(m.workDir)) return undefined;
    lastStaged = Date.now();
    const dir = `${m.workDir}.staged-${process.pid}-${staged++}`;
    stageWork(m.workDir, dir);
    return dir;
  };
  const ctx: StepContext = {
    resume: m.resume,
    workDir: m.workDir,
    ...(m.cacheDir === undefined ? {} : { cacheDir: m.cacheDir }),
    ...(m.workSyncMs === null ? {} : { workSyncMs: m.workSyncMs }),
    progress: (done, total, note) => {
      const dir = stage();
      void send({ t: 'progress', done, total, ...(note === undefined ? {} : { note }), ...(dir ? { staged: dir } : {}) });
    },
    heartbeat: (note) => { void send({ t: 'heartbeat', ...(note === undefined ? {} : { note }) }); },
    log: (message) => { void send({ t: 'log', message }); },
    // The unit is written here, then the parent moves it into the store (the store lives in the parent).
    async checkpoint(index, total, write) {
      const dir = path.join(units, String(index));
      fs.rmSync(dir, { recursive: true, force: true });
      fs.mkdirSync(dir, { recursive: true });
      await write(dir);
      return request({ t: 'checkpoint', index, total, dir });
    },
    resolve: (ref) => request({ t: 'resolve', ref }),
    // The parent kills this process on cancellation; nothing here ever aborts.
    signal: new AbortController().signal,
  };
  const meta = (await fn(m.input, m.outDir, ctx)) ?? {};
  await send({ t: 'done', meta, backend: (await currentBackend())?.name ?? null });
}

process.on('disconnect', () => process.exit(70)); // the activity went away: stop computing at once
process.on('message', (m: ToChild) => {
  if (m.t === 'reply') return onReply(m);
  if (m.t === 'start') {
    run(m).then(() => process.exit(0), async (e) => {
      await send({ t: 'error', error: serializeError(e) });
      process.exit(1);
    });
  }
});
