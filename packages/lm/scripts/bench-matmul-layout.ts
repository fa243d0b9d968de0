// x @ W (weights stored [in, out]) against x @ W^T (HF's [out, in] layout, transposeB) on the tensor backend, at
// SmolLM2-135M's projection shapes (q|k|v, o, gate|up, down, the LM head) for M = 8 (a decode step of 8 prompts),
// 64 and 1,024 rows (a scoring pass); two alternating rounds, microseconds per matmul. Why @dnd/lm's inference
// copies are stored transposed (src/transformer.ts fuseProjections). Not a test.
// Usage: node tools/bench/run-ts.cjs packages/lm/scripts/bench-matmul-layout.ts
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@dnd/core';
import { usPerCall } from './us-per-call';

async function main(): Promise<void> {
  const backend = await initBackend();
  console.log(`backend ${backend.name}`);
  const shapes: Array<[string, number, number]> = [['q|k|v', 576, 960], ['o', 576, 576], ['gate|up', 576, 3072], ['down', 1536, 576], ['head', 576, 49152]];
  for (const [name, K, N] of shapes) {
    const W = tf.randomNormal([K, N]); const Wt = tf.randomNormal([N, K]);
    for (const M of [8, 64, 1024]) {
      const x = tf.randomNormal([M, K]);
      const n = Math.max(3, Math.min(200, Math.round(2e8 / (M * K * N))));
      let plain = 0; let transposed = 0;
      for (let r = 0; r < 2; r++) {
        if (r % 2) { plain += usPerCall(() => tf.matMul(x, W), n); transposed += usPerCall(() => tf.matMul(x, Wt, false, true), n); }
        else { transposed += usPerCall(() => tf.matMul(x, Wt, false, true), n); plain += usPerCall(() => tf.matMul(x, W), n); }
      }
      console.log(`${name} [${M}, ${K}] x [${K}, ${N}]: x@W ${(plain / 2).toFixed(0)} us, x@W^T ${(transposed / 2).toFixed(0)} us, x@W^T / x@W ${(transposed / plain).toFixed(2)}`);
      x.dispose();
    }
    W.dispose(); Wt.dispose();
  }
}
main().catch((e) => { console.error(e); process.exit(1); });
