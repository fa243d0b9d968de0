// The thin glue between @dnd/dataset's pair files and @dnd/decoder's trainer (the decoder never reads
// data): encodes a capped, seeded pool of each training set's prompts once with the frozen encoder, then
// yields (condition, target) batches whose pair i is a pure function of (seed, i), so a resumed run
// continues the same sequence. Not the sampler's file formats (@dnd/dataset) nor the loop (@dnd/decoder).
//
// Dimensions: B batch, N prompts per pair, L text length, C encoder dim, Nw tokens, (R, Cw) = (r+2, w+2).
import { assertShape } from '@dnd/core';
import { seededRandom, type CheckpointStore } from '@dnd/dataset';
import type { DecoderBatch } from '@dnd/decoder';
import type { TextEncoder } from '@dnd/encoder';

/** Frozen-encoder states of one set's prompt pool: one [L, C] Float32Array per prompt. */
export type EncodedPool = Float32Array[];

/**
 * Encodes up to `max` prompts of `prompts` (a seeded sample, in pool order; all when max = 0), 64 at a time.
 * `tick` is called after every chunk (heartbeats and cancellation checks).
 */
export async function encodePool(encoder: TextEncoder, prompts: string[], opts: { max: number; textLength: number; seed: number; set: string; tick?: () => void }): Promise<EncodedPool> {
  const L = opts.textLength;
  const n = opts.max > 0 ? Math.min(opts.max, prompts.length) : prompts.length;
  const idx = seededRandom(opts.seed, 'pool', opts.set).sample(prompts.length, n).sort((a, b) => a - b);
  const chosen = idx.map((i) => prompts[i]!);
  const out: EncodedPool = [];
  for (let i = 0; i < chosen.length; i += 64) {
    const r = await encoder.encode(chosen.slice(i, i + 64), { maxLength: L });
    const rows = Math.min(64, chosen.length - i);
    assertShape(r.condition, [rows, L, encoder.dim], 'encodePool: condition');
    const per = L * encoder.dim;
    for (let j = 0; j < rows; j++) out.push(r.condition.data.slice(j * per, (j + 1) * per));
    opts.tick?.();
  }
  return out;
}

/** What decoderBatches draws from. */
export interface PairBatchSource {
  store: CheckpointStore;
  /** Encoded prompt pools of the training sets (only these sets' checkpoints are drawn). */
  pools: Map<string, EncodedPool>;
  batchSize: number;
  promptsPerPair: number;
  textLength: number;
  dim: number;
  seed: number;
  /** Called before each batch; throw from it to stop (cancellation). */
  tick?: (step: number) => void;
}

/**
 * Endless decoder batches from step `start` on: element b of step t is a uniformly drawn checkpoint of a
 * training set s and N prompts of s's pool drawn without replacement (method §2 "Strategy 2", pool capped).
 * @example trainDecoder({ ..., batches: (start) => decoderBatches(src, start) })
 */
export async function* decoderBatches(src: PairBatchSource, start: number): AsyncGenerator<DecoderBatch> {
  const [Nw, R, Cw] = src.store.tokenShape;
  const { batchSize: B, promptsPerPair: N, textLength: L, dim: C } = src;
  const rows = src.store.rows.map((r, i) => ({ set: r.set, i })).filter((r) => src.pools.has(r.set));
  if (rows.length === 0) throw new Error(`decoderBatches: no checkpoint of the training sets ${[...src.pools.keys()].join(', ')} in the pairs`);
  for (const [set, pool] of src.pools) if (pool.length < N) throw new Error(`decoderBatches: set "${set}" has ${pool.length} encoded prompts, fewer than promptsPerPair = ${N}`);
  for (let step = start; ; step++) {
    src.tick?.(step);
    const cond = new Float32Array(B * N * L * C); // [B, N, L, C]
    const tgt = new Float32Array(B * Nw * R * Cw); // [B, Nw, R, Cw]
    for (let b = 0; b < B; b++) {
      const rng = seededRandom(src.seed, 'pair', step, b);
      const row = rows[rng.int(rows.length)]!;
      const pool = src.pools.get(row.set)!;
      rng.sample(pool.length, N).forEach((pi, n) => cond.set(pool[pi]!, (b * N + n) * L * C));
      tgt.set((await src.store.read(row.i)).tokens.data, b * Nw * R * Cw);
    }
    yield { condition: { data: cond, shape: [B, N, L, C] }, target: { data: tgt, shape: [B, Nw, R, Cw] } };
  }
}
