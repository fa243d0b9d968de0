// RunInfo: what a report needs to stand alone (run id, preset, date, commit, config digest, seed, base
// model and encoder with digests, backend, wall time per step, the generator's training loss), its
// validator, and the path scrubbing that keeps local paths out of reports. Not collected here: the
// pipeline passes it in.
import { BadInputError } from '@dnd/core';

/** How and where a run was made; every field optional, a report says "not recorded" for a missing one. */
export interface RunInfo {
  /** The run's id, e.g. "commonsense-smollm2-20261201-0931". */
  runId?: string;
  /** The preset it ran, e.g. "commonsense-smollm2". */
  preset?: string;
  /** When it started, ISO 8601. */
  date?: string;
  /** The code's git commit. */
  commit?: string;
  /** sha256 of the run's canonical config. */
  configDigest?: string;
  seed?: number;
  /** The base model: a name (never a local path), its weights' digest, and how it was obtained (e.g. "dequantized from Q4_1 GGUF"). */
  baseModel?: { name: string; digest?: string; provenance?: string };
  /** The frozen text encoder (e.g. "all-MiniLM-L6-v2") and its digest. */
  encoder?: { name: string; digest?: string };
  /** The tensor backend the numbers were computed on (e.g. "tensorflow"). */
  backend?: string;
  /** Wall time per pipeline step, in pipeline order. */
  stepSeconds?: { step: string; seconds: number }[];
  /** The generator's training loss per logged step. */
  trainingLoss?: { step: number; loss: number }[];
}

const STRINGS = ['runId', 'preset', 'date', 'commit', 'configDigest', 'backend'] as const;

/**
 * Throws a BadInputError naming the field unless `info` is a well-formed RunInfo (unknown fields included).
 * @example validateRunInfo({ runId: 'r1', stepSeconds: [{ step: 'collect', seconds: 1200 }] })
 */
export function validateRunInfo(info: unknown, where = 'runInfo'): asserts info is RunInfo {
  if (!info || typeof info !== 'object' || Array.isArray(info)) throw new BadInputError(`${where} must be an object, got ${JSON.stringify(info)}`);
  const o = info as Record<string, unknown>;
  const known = new Set<string>([...STRINGS, 'seed', 'baseModel', 'encoder', 'stepSeconds', 'trainingLoss']);
  for (const k of Object.keys(o)) if (!known.has(k)) throw new BadInputError(`${where}: unknown field "${k}" (known: ${[...known].join(', ')})`);
  for (const k of STRINGS) if (o[k] !== undefined && typeof o[k] !== 'string') throw new BadInputError(`${where}.${k} must be a string, got ${JSON.stringify(o[k])}`);
  if (o.seed !== undefined && !Number.isInteger(o.seed)) throw new BadInputError(`${where}.seed must be an integer, got ${JSON.stringify(o.seed)}`);
  for (const k of ['baseModel', 'encoder'] as const) {
    const v = o[k] as Record<string, unknown> | undefined;
    if (v !== undefined && (typeof v !== 'object' || v === null || typeof v.name !== 'string' || v.name === '')) throw new BadInputError(`${where}.${k} must be { name, digest? }, got ${JSON.stringify(v)}`);
  }
  const series = (k: 'stepSeconds' | 'trainingLoss', a: string, b: string, ok: (x: Record<string, unknown>) => boolean) => {
    const v = o[k];
    if (v === undefined) return;
    if (!Array.isArray(v)) throw new BadInputError(`${where}.${k} must be an array of { ${a}, ${b} }`);
    v.forEach((x, i) => {
      if (!x || typeof x !== 'object' || !ok(x as Record<string, unknown>)) throw new BadInputError(`${where}.${k}[${i}] must be { ${a}, ${b} } with finite numbers, got ${JSON.stringify(x)}`);
    });
  };
  series('stepSeconds', 'step', 'seconds', (x) => typeof x.step === 'string' && typeof x.seconds === 'number' && Number.isFinite(x.seconds) && x.seconds >= 0);
  series('trainingLoss', 'step', 'loss', (x) => typeof x.step === 'number' && Number.isFinite(x.step) && typeof x.loss === 'number' && Number.isFinite(x.loss));
}

const ABS_PATH = /(?<=^|[\s([="'`,;>])(?:file:\/\/)?(?:~|[A-Za-z]:)?(?:[\\/][^\s\\/'"`<>()[\],;|]+){1,}[\\/]?/g;

/**
 * A name fit for a shared report: an absolute local path ("/home/a/.cache/dnd/models/smollm2-135m",
 * "file:///...", "C:\\m\\x", "~/m/x") becomes its last component ("smollm2-135m"); anything else is unchanged.
 * @example publicName('/home/me/.cache/dnd/models/SmolLM2-135M-Instruct') // 'SmolLM2-135M-Instruct'
 */
export function publicName(s: string): string {
  const t = s.trim();
  if (!/^(?:file:\/\/|~[\\/]|\/|[A-Za-z]:[\\/])/.test(t)) return s;
  const parts = t.replace(/^file:\/\//, '').split(/[\\/]+/).filter((p) => p !== '');
  return parts.length > 0 ? parts[parts.length - 1]! : s;
}

/**
 * Replaces every absolute local path inside free text by its last component (see publicName). Relative
 * names ("answer1/answer2", "ARC-Easy@20") and URLs other than file:// are left alone.
 * @example publicText('loaded from /srv/x/models/m1 in 3 s') // 'loaded from m1 in 3 s'
 */
export function publicText(s: string): string {
  return s.replace(ABS_PATH, (m) => (/^(?:file:\/\/|~[\\/]|\/|[A-Za-z]:[\\/])/.test(m) ? publicName(m) : m));
}
