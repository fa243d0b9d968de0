// An EvalModel whose scoring and generation calls are memoized on disk, one file per call (a batch), keyed
// by the adapter's content, the method and the exact request: an evaluation that is interrupted (a killed
// process, a retried attempt) resumes where it stopped, with results identical to an uninterrupted run.
// Also reports each finished call, so a long evaluation shows progress per batch. With a shared directory, calls
// are also looked up in (and written to) a cache that outlives the evaluation: another evaluation on the same
// base model and code (a later fold of a leave-one-out run) reads back the calls it repeats. Not a model.
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { writeFileAtomic, type LoraAdapter } from '@dnd/core';
import type { ContinuationRequest, ContinuationScore, EvalModel, GenerateOptions } from './scoring-model';

/**
 * What one memoized call returns for its request (method, adapter contents, requests, options): bump it when the
 * model's numerics or a call's meaning change, not when only the step around the calls does (EVALUATE_STEP_VERSION).
 * A cache shared across evaluations is named by it, so a step-version bump does not throw their calls away.
 * '6': the value EVALUATE_STEP_VERSION had when the shared cache came in, kept so that existing caches stay valid.
 */
export const EVAL_CALLS_VERSION = '6';

/** sha256 hex of an adapter's config and tensors (names, shapes, bytes), or "base" for none. */
export function adapterDigest(adapter: LoraAdapter | null): string {
  if (!adapter) return 'base';
  const h = crypto.createHash('sha256').update(JSON.stringify(adapter.config));
  for (const name of [...adapter.tensors.keys()].sort()) {
    const t = adapter.tensors.get(name)!;
    h.update(`\0${name}\0${t.shape.join('x')}\0`);
    h.update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  }
  return h.digest('hex');
}

/** What a memoized call reports when it finishes: computed now, or read back from an earlier attempt. */
export interface MemoCall {
  method: 'scoreContinuations' | 'generate' | 'scoreContinuationsMulti' | 'generateMulti';
  /** Requests or prompts of the call (times the adapters of a multi call). */
  size: number;
  reused: boolean;
  /** Read back from the shared cache (another evaluation's call), not from this evaluation's directory. */
  shared?: boolean;
}

export interface CallMemoOptions {
  /**
   * A cache shared by evaluations whose numbers agree (same base model, code version and tensor backend: the
   * caller names the directory by them). Never needed: an unreadable entry is computed again.
   */
  sharedDir?: string;
}

/**
 * `model` with every `scoreContinuations` and `generate` call (and their multi-adapter forms) stored under `dir`
 * and read back when the same call (same adapter contents, method, requests and options) comes again; with
 * `opts.sharedDir`, also looked up there (and copied into `dir`) and stored there.
 * @example const m = memoizedEvalModel(hostCausalLM(lm, name), path.join(workDir, 'calls'), (c) => heartbeat(c))
 */
export function memoizedEvalModel(model: EvalModel, dir: string, onCall?: (c: MemoCall) => void, opts: CallMemoOptions = {}): EvalModel {
  fs.mkdirSync(dir, { recursive: true });
  const sharedFile = (key: string): string | null => (opts.sharedDir ? path.join(opts.sharedDir, key.slice(0, 2), `${key}.json`) : null);
  const readShared = (key: string): { text: string; value: unknown } | null => {
    const f = sharedFile(key);
    if (!f || !fs.existsSync(f)) return null;
    try {
      const text = fs.readFileSync(f, 'utf8');
      return { text, value: JSON.parse(text) as unknown };
    } catch {
      return null; // a cache: an entry that cannot be read is computed again
    }
  };
  let adapter = 'base';
  // Each adapter object is hashed once, however often it is attached or named in a multi call.
  const digests = new WeakMap<LoraAdapter, string>();
  const digestsOf = (as: (LoraAdapter | null)[]): string[] => as.map((a) => {
    if (!a) return adapterDigest(a);
    if (!digests.has(a)) digests.set(a, adapterDigest(a));
    return digests.get(a)!;
  });
  // A multi call names its adapters by content in its arguments, and ignores the attached one.
  const memo = async <T>(method: MemoCall['method'], args: unknown, size: number, compute: () => Promise<T>): Promise<T> => {
    const key = crypto.createHash('sha256').update(JSON.stringify([method.endsWith('Multi') ? null : adapter, method, args])).digest('hex');
    const file = path.join(dir, `${key}.json`);
    if (fs.existsSync(file)) {
      const value = JSON.parse(fs.readFileSync(file, 'utf8')) as T;
      onCall?.({ method, size, reused: true });
      return value;
    }
    const hit = readShared(key);
    if (hit) {
      writeFileAtomic(file, hit.text); // this evaluation's directory holds every call it used (a retry elsewhere has them)
      onCall?.({ method, size, reused: true, shared: true });
      return hit.value as T;
    }
    const value = await compute();
    const text = JSON.stringify(value);
    writeFileAtomic(file, text);
    const shared = sharedFile(key);
    if (shared) {
      try {
        fs.mkdirSync(path.dirname(shared), { recursive: true });
        writeFileAtomic(shared, text);
      } catch { /* a cache that cannot be written only costs time later */ }
    }
    onCall?.({ method, size, reused: false });
    return value;
  };
  return {
    baseModelNameOrPath: model.baseModelNameOrPath,
    async useAdapter(a) {
      await model.useAdapter(a);
      adapter = digestsOf([a])[0]!;
    },
    scoreContinuations: (items: ContinuationRequest[], opts?: Record<string, unknown>): Promise<ContinuationScore[]> =>
      memo('scoreContinuations', [items, opts ?? null], items.length, () => model.scoreContinuations(items, opts)),
    generate: (prompts: string[], opts: GenerateOptions): Promise<string[]> =>
      memo('generate', [prompts, opts], prompts.length, () => model.generate(prompts, opts)),
    ...(model.scoreContinuationsMulti ? {
      scoreContinuationsMulti: (adapters: (LoraAdapter | null)[], items: ContinuationRequest[], opts?: Record<string, unknown>): Promise<ContinuationScore[][]> =>
        memo('scoreContinuationsMulti', [digestsOf(adapters), items, opts ?? null], items.length * adapters.length, () => model.scoreContinuationsMulti!(adapters, items, opts)),
    } : {}),
    ...(model.generateMulti ? {
      generateMulti: (adapters: (LoraAdapter | null)[], prompts: string[], opts: GenerateOptions & { batchSize?: number }): Promise<string[][]> =>
        memo('generateMulti', [digestsOf(adapters), prompts, opts], prompts.length * adapters.length, () => model.generateMulti!(adapters, prompts, opts)),
    } : {}),
  };
}
