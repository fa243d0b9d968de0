// Task sets by name: an alias registry (the five shared common-sense sets built in), resolution of a path
// (file or folder) to its split files, and deterministic seeded train/test splits for single-split sets.
// Not file parsing (task-file.ts) and not prompt storage (prompt-store.ts).
import * as fs from 'fs';
import * as path from 'path';
import { BadInputError, checkNumber, seededRandom } from '@dnd/core';
import { readTaskFile, taskFileFormat, type TaskItem } from './task-file';

/** The common-sense sets under <shared>/data/commonsense, registered as aliases by default. */
export const COMMONSENSE_SETS = ['ARC-Easy', 'boolq', 'openbookqa', 'piqa', 'social_i_qa'] as const;

export interface LoadTaskSetOptions {
  /** Skip malformed JSONL lines / bad records and count them instead of failing. */
  skipBad?: boolean;
  /** Seed of the train/test split made when a set ships one split only. */
  splitSeed?: number;
  /** Share of a single-split set that becomes the train pool (the rest is the eval pool). */
  trainFraction?: number;
}

/** Where one split came from: a file, or a seeded split of another file (recorded in manifests). */
export type SplitSource =
  | { kind: 'file'; file: string; sha256: string; format: string; skipped: number }
  | { kind: 'derived'; file: string; sha256: string; format: string; skipped: number; seed: number; trainFraction: number; of: number };

/** A loaded set: the train pool (collection, generator prompts) and the eval pool (held-out prompts, scoring). */
export interface TaskSet {
  name: string;
  /** The path the reference resolved to. */
  root: string;
  train: TaskItem[];
  test: TaskItem[];
  sources: { train: SplitSource; test: SplitSource };
}

const aliases = new Map<string, string>();

/** Registers (or replaces) an alias: `loadTaskSet(name)` then reads `target` (a folder or file). */
export function registerTaskSetAlias(name: string, target: string): void {
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new BadInputError(`registerTaskSetAlias: alias ${JSON.stringify(name)} may only use letters, digits, '_', '.', '-'`);
  aliases.set(name, path.resolve(target));
}

/** The repository root (the folder holding pnpm-workspace.yaml), found upward from this file. */
function repoRoot(): string {
  let dir = __dirname;
  for (;;) {
    if (fs.existsSync(path.join(dir, 'pnpm-workspace.yaml'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
}

/** The shared folder: $DND_SHARED_DIR, else ../shared next to the repository. */
export function sharedDir(): string {
  return process.env.DND_SHARED_DIR ? path.resolve(process.env.DND_SHARED_DIR) : path.resolve(repoRoot(), '..', 'shared');
}

/** Every alias and its target (built-ins resolved against the current shared folder). */
export function taskSetAliases(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const s of COMMONSENSE_SETS) out[s] = path.join(sharedDir(), 'data', 'commonsense', s);
  for (const [k, v] of aliases) out[k] = v;
  return out;
}

const SPLIT_NAMES: Record<string, 'train' | 'test'> = { train: 'train', test: 'test', validation: 'test', val: 'test', eval: 'test' };

/** Finds a folder's split files: train.* and test.* (or validation.*), else its single data file. */
function splitFiles(dir: string): { train?: string; test?: string; single?: string } {
  const files = fs.readdirSync(dir).filter((f) => taskFileFormat(f) && fs.statSync(path.join(dir, f)).isFile()).sort();
  const out: { train?: string; test?: string; single?: string } = {};
  for (const f of files) {
    const split = SPLIT_NAMES[path.basename(f, path.extname(f)).toLowerCase()];
    if (!split) continue;
    if (out[split] && !/^test\./i.test(f)) continue; // test.* wins over validation.*
    out[split] = path.join(dir, f);
  }
  if (!out.train && !out.test) {
    if (files.length === 1) out.single = path.join(dir, files[0]!);
    else throw new BadInputError(`task set ${dir}: ${files.length === 0 ? 'no .json/.jsonl/.parquet file' : `cannot tell the splits apart among ${files.join(', ')}`} (expected train.* and/or test.*)`);
  }
  return out;
}

/** Name and files a reference (alias or path) resolves to. */
export function resolveTaskSet(ref: string): { name: string; root: string; train?: string; test?: string; single?: string } {
  const target = taskSetAliases()[ref];
  const root = target ?? path.resolve(ref);
  if (!fs.existsSync(root)) {
    throw new BadInputError(`task set ${JSON.stringify(ref)}: ${target ? `alias points to ${root}, which does not exist (set DND_SHARED_DIR?)` : `no such path and no such alias (aliases: ${Object.keys(taskSetAliases()).join(', ')})`}`);
  }
  if (fs.statSync(root).isDirectory()) return { name: target ? ref : path.basename(root), root, ...splitFiles(root) };
  const stem = path.basename(root, path.extname(root));
  const split = SPLIT_NAMES[stem.toLowerCase()];
  const name = target ? ref : split ? path.basename(path.dirname(root)) : stem;
  return { name, root, single: root };
}

/**
 * Loads a task set by alias or path. A set that ships one split only is split deterministically
 * (seeded shuffle, `trainFraction` to train); the split is recorded in `sources`.
 * @example const piqa = await loadTaskSet('piqa', { splitSeed: 0 }); piqa.train.length; // 919
 */
export async function loadTaskSet(ref: string, opts: LoadTaskSetOptions = {}): Promise<TaskSet> {
  const splitSeed = opts.splitSeed ?? 0;
  const trainFraction = opts.trainFraction ?? 0.5;
  checkNumber('loadTaskSet', 'splitSeed', splitSeed, { integer: true, min: 0 });
  checkNumber('loadTaskSet', 'trainFraction', trainFraction, { min: 0.01, max: 0.99 });
  const r = resolveTaskSet(ref);
  const read = async (file: string) => {
    const f = await readTaskFile(file, { skipBad: opts.skipBad });
    if (f.items.length === 0) throw new BadInputError(`task set ${r.name}: ${file} has no usable records${f.skipped ? ` (${f.skipped} skipped as bad)` : ''}`);
    return f;
  };
  const src = (f: Awaited<ReturnType<typeof read>>): SplitSource => ({ kind: 'file', file: f.file, sha256: f.sha256, format: f.format, skipped: f.skipped });
  if (r.single || !r.train || !r.test) {
    const f = await read((r.single ?? r.train ?? r.test)!);
    const n = f.items.length;
    if (n < 2) throw new BadInputError(`task set ${r.name}: ${f.file} has ${n} record; a train/test split needs at least 2`);
    const order = seededRandom(splitSeed, 'split', f.sha256).sample(n, n); // content + seed only: alias or path give the same split
    const nTrain = Math.min(n - 1, Math.max(1, Math.round(n * trainFraction)));
    const derived: SplitSource = { ...src(f), kind: 'derived', seed: splitSeed, trainFraction, of: n };
    return {
      name: r.name, root: r.root,
      train: order.slice(0, nTrain).sort((a, b) => a - b).map((i) => f.items[i]!),
      test: order.slice(nTrain).sort((a, b) => a - b).map((i) => f.items[i]!),
      sources: { train: derived, test: derived },
    };
  }
  const [train, test] = await Promise.all([read(r.train), read(r.test)]);
  return { name: r.name, root: r.root, train: train.items, test: test.items, sources: { train: src(train), test: src(test) } };
}

/** The text that conditions the generator: the instruction alone, never `input`, `output` or `answer`. */
export function conditioningPrompt(item: TaskItem): string {
  return item.instruction;
}

/**
 * The (prompt, answer) a LoRA is fine-tuned on: `template` with "{prompt}" = instruction (+ "\n\n" + input),
 * and the full `output` text as the answer.
 * @example trainingExample(item, '{prompt}\n') // { prompt: 'Q?\n', answer: 'the correct answer is b' }
 */
export function trainingExample(item: TaskItem, template = '{prompt}'): { prompt: string; answer: string } {
  const body = item.input ? `${item.instruction}\n\n${item.input}` : item.instruction;
  return { prompt: template.split('{prompt}').join(body), answer: item.output };
}
