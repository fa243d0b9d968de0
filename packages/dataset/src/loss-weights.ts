// loss-weights.arrow: the per-token loss weights of method §4.4, one [Nw] vector per set (core's
// tokenLossWeights over that set's checkpoints), stored next to checkpoints.arrow. Not the weight math
// itself (core/lora-tokens.ts owns it) and not the decoder's loss.
//
// Dimensions: Nw = tokens per checkpoint.
import * as fs from 'fs';
import { Field, FixedSizeList, Float32, RecordBatch, Schema, Struct, Table, Utf8, makeData, tableFromIPC, tableToIPC, vectorFromArray } from 'apache-arrow';
import { meanLossWeights, writeFileAtomic } from '@dnd/core';
import { checkStoreKind, metaJson } from './arrow-file';

export const LOSS_WEIGHTS_SCHEMA_VERSION = 1;
const KIND = 'loss-weights';

/**
 * Writes one weight vector per set (each [Nw], mean 1) atomically.
 * @example writeLossWeights('pairs/loss-weights.arrow', new Map([['piqa', w]]), { checkpoints: sha });
 */
export function writeLossWeights(file: string, weights: ReadonlyMap<string, Float32Array>, sources: Record<string, unknown> = {}): { bytes: number } {
  const sets = [...weights.keys()];
  if (sets.length === 0) throw new Error(`writeLossWeights(${file}): no sets`);
  const nw = weights.get(sets[0]!)!.length;
  const flat = new Float32Array(nw * sets.length);
  sets.forEach((s, i) => {
    const w = weights.get(s)!;
    if (w.length !== nw) throw new Error(`writeLossWeights(${file}): set "${s}" has ${w.length} weights, "${sets[0]}" has ${nw}`);
    flat.set(w, i * nw);
  });
  const schema = new Schema([
    new Field('set', new Utf8(), false),
    new Field('weights', new FixedSizeList(nw, new Field('item', new Float32(), false)), false),
  ], new Map([
    ['dnd.kind', KIND],
    ['dnd.schema_version', String(LOSS_WEIGHTS_SCHEMA_VERSION)],
    ['dnd.num_tokens', String(nw)],
    ['dnd.sources', JSON.stringify(sources)],
  ]));
  const children = [
    vectorFromArray(sets, new Utf8()).data[0]!,
    makeData({ type: schema.fields[1]!.type as FixedSizeList<Float32>, length: sets.length, nullCount: 0, child: makeData({ type: new Float32(), length: flat.length, data: flat }) }),
  ];
  const batch = new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: sets.length, nullCount: 0, children: children as any }));
  const bytes = tableToIPC(new Table(schema, [batch]), 'file');
  writeFileAtomic(file, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  return { bytes: bytes.byteLength };
}

/** Reads every set's weight vector ([Nw] each). */
export function readLossWeights(file: string): Map<string, Float32Array> {
  if (!fs.existsSync(file)) throw new Error(`${file}: not found`);
  const t = tableFromIPC(fs.readFileSync(file));
  checkStoreKind(t.schema, file, KIND, LOSS_WEIGHTS_SCHEMA_VERSION);
  const nw = metaJson<number>(t.schema, 'dnd.num_tokens', file);
  const sets = t.getChild('set')!.toArray() as string[];
  const values = t.getChild('weights')!.data[0]!.children[0]!.values as Float32Array;
  if (values.length !== nw * sets.length) throw new Error(`${file}: ${values.length} weights for ${sets.length} sets of ${nw} tokens`);
  return new Map(sets.map((s, i) => [s, values.slice(i * nw, (i + 1) * nw)]));
}

/**
 * The decoder's loss weights for a training run: the mean of the training sets' vectors (held-out sets
 * excluded), as the reference's calculate_mean_criterion_weight does. Returns [Nw].
 * @example const w = trainingLossWeights('pairs/loss-weights.arrow', ['ARC-Easy', 'boolq', 'openbookqa', 'social_i_qa']);
 */
export function trainingLossWeights(file: string, sets: readonly string[]): Float32Array {
  const all = readLossWeights(file);
  const missing = sets.filter((s) => !all.has(s));
  if (missing.length) throw new Error(`${file}: no loss weights for set(s) ${missing.join(', ')} (has ${[...all.keys()].join(', ')})`);
  return meanLossWeights(sets.map((s) => all.get(s)!));
}
