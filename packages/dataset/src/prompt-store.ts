// prompts.arrow: the unlabeled condition prompts (the instruction text alone) of every set and split, with
// a sha256 per text; the sets' sources and split seeds in schema metadata. Small: written and read whole.
// Not the encoder's embeddings, and never answers.
import { createHash } from 'crypto';
import * as fs from 'fs';
import { Field, Schema, Table, Utf8, tableFromIPC, tableToIPC, vectorFromArray, RecordBatch, Struct, makeData } from 'apache-arrow';
import { writeFileAtomic } from '@dnd/core';
import { checkStoreKind, metaJson } from './arrow-file';
import { conditioningPrompt, type TaskSet } from './task-set';

/** Bumped whenever columns or metadata change meaning. */
export const PROMPT_STORE_SCHEMA_VERSION = 1;
const KIND = 'prompts';
export type PromptSplit = 'train' | 'test';

/** The prompts of every set, by split. */
export interface PromptStore {
  file: string;
  /** set -> split -> prompt texts, in file order. */
  pools: Map<string, Record<PromptSplit, string[]>>;
  /** Per set: where its splits came from (files, sha256, seeded split parameters). */
  sources: Record<string, unknown>;
}

/** Hex sha256 of a prompt's UTF-8 text (the `hash` column). */
export function promptHash(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/**
 * Writes prompts.arrow for `sets` (conditioning prompts only: `instruction`, never output or answer),
 * atomically. Returns the bytes written.
 * @example writePromptStore('pairs/prompts.arrow', [await loadTaskSet('piqa')]);
 */
export function writePromptStore(file: string, sets: readonly TaskSet[]): { bytes: number; rows: number } {
  if (sets.length === 0) throw new Error(`writePromptStore(${file}): no task sets`);
  const names = new Set<string>();
  const cols = { set: [] as string[], split: [] as string[], text: [] as string[], hash: [] as string[] };
  const sources: Record<string, unknown> = {};
  for (const s of sets) {
    if (names.has(s.name)) throw new Error(`writePromptStore(${file}): set "${s.name}" given twice`);
    names.add(s.name);
    sources[s.name] = s.sources;
    for (const split of ['train', 'test'] as const) {
      for (const item of s[split]) {
        const text = conditioningPrompt(item);
        cols.set.push(s.name); cols.split.push(split); cols.text.push(text); cols.hash.push(promptHash(text));
      }
    }
  }
  const schema = new Schema(
    (['set', 'split', 'text', 'hash'] as const).map((n) => new Field(n, new Utf8(), false)),
    new Map([
      ['dnd.kind', KIND],
      ['dnd.schema_version', String(PROMPT_STORE_SCHEMA_VERSION)],
      ['dnd.sets', JSON.stringify([...names])],
      ['dnd.sources', JSON.stringify(sources)],
    ]),
  );
  const n = cols.set.length;
  const children = (['set', 'split', 'text', 'hash'] as const).map((k) => vectorFromArray(cols[k], new Utf8()).data[0]!);
  const batch = new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: n, nullCount: 0, children: children as any }));
  const bytes = tableToIPC(new Table(schema, [batch]), 'file');
  writeFileAtomic(file, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  return { bytes: bytes.byteLength, rows: n };
}

/**
 * Reads prompts.arrow whole and checks every text against its hash.
 * @example const p = readPromptStore('pairs/prompts.arrow'); p.pools.get('piqa')!.train.length;
 */
export function readPromptStore(file: string): PromptStore {
  if (!fs.existsSync(file)) throw new Error(`${file}: not found`);
  let t: Table;
  try {
    t = tableFromIPC(fs.readFileSync(file));
  } catch (e) {
    throw new Error(`${file}: cannot read as Arrow IPC (${(e as Error).message})`);
  }
  checkStoreKind(t.schema, file, KIND, PROMPT_STORE_SCHEMA_VERSION);
  const sets = metaJson<string[]>(t.schema, 'dnd.sets', file);
  const pools = new Map<string, Record<PromptSplit, string[]>>(sets.map((s) => [s, { train: [], test: [] }]));
  const [set, split, text, hash] = (['set', 'split', 'text', 'hash'] as const).map((c) => t.getChild(c)!.toArray() as string[]);
  for (let i = 0; i < t.numRows; i++) {
    const pool = pools.get(set![i]!);
    if (!pool) throw new Error(`${file}: row ${i} names set "${set![i]}" missing from dnd.sets`);
    if (split![i] !== 'train' && split![i] !== 'test') throw new Error(`${file}: row ${i} has split "${split![i]}" (expected train or test)`);
    if (promptHash(text![i]!) !== hash![i]) throw new Error(`${file}: row ${i} (${set![i]}/${split![i]}) text does not match its sha256`);
    pool[split![i] as PromptSplit].push(text![i]!);
  }
  return { file, pools, sources: metaJson(t.schema, 'dnd.sources', file) };
}
