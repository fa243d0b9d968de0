// Sentence-BERT pooling on typed data: masked mean over positions, then L2 normalisation
// (sentence-transformers' Pooling(mean) + Normalize). Not an encoder; no tensors.
//
// Dimensions: N = prompts, L = padded length, C = state width.
import type { TensorData } from '@dnd/core';
import { assertShape } from '@dnd/core';

/**
 * Mean of the states where `mask` is 1, L2-normalised per row (a row with no real position stays zero).
 * @param condition token states // [N, L, C]
 * @param mask 1 = real position // [N * L]
 * @returns sentence embeddings // [N, C]
 * @example meanPoolNormalize({ data, shape: [2, 8, 4] }, mask).shape // [2, 4]
 */
export function meanPoolNormalize(condition: TensorData, mask: Uint8Array, normalize = true): TensorData {
  assertShape(condition, [-1, -1, -1], 'meanPoolNormalize condition');
  const [N, L, C] = condition.shape as [number, number, number];
  if (mask.length !== N * L) throw new Error(`meanPoolNormalize: mask has ${mask.length} values, expected N*L = ${N * L}`);
  const out = new Float32Array(N * C);
  const acc = new Float64Array(C);
  for (let n = 0; n < N; n++) {
    acc.fill(0);
    let count = 0;
    for (let l = 0; l < L; l++) {
      if (!mask[n * L + l]) continue;
      count++;
      const base = (n * L + l) * C;
      for (let c = 0; c < C; c++) acc[c]! += condition.data[base + c]!;
    }
    if (count === 0) continue;
    let norm = 0;
    for (let c = 0; c < C; c++) { acc[c]! /= count; norm += acc[c]! * acc[c]!; }
    const scale = normalize ? 1 / Math.max(Math.sqrt(norm), 1e-12) : 1;
    for (let c = 0; c < C; c++) out[n * C + c] = acc[c]! * scale;
  }
  return { data: out, shape: [N, C] };
}
