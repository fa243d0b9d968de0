// The two forms of a LoRA bank's per-row term (src/lora-bank.ts) at SmolLM2-135M's projection shapes, r 8: masked
// (x @ A_cat^T, times a row mask, @ B_cat: K times the LoRA arithmetic) against batched (x as K blocks of n rows @ each
// adapter's A^T @ B), for K adapters x n rows: a knowledge-scoring pass (12-14 adapters, 72-84 rows each) and a decode
// step (4-8 rows each); two alternating rounds, microseconds per term, and the max |difference|. Not a test.
// Usage: node tools/bench/run-ts.cjs packages/lm/scripts/bench-lora-bank.ts
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@dnd/core';
import { usPerCall } from './us-per-call';

async function main(): Promise<void> {
  const backend = await initBackend();
  console.log(`backend ${backend.name}, r 8`);
  const r = 8;
  for (const [K, n] of [[14, 72], [12, 84], [12, 8], [14, 4]] as const) {
    for (const [name, inF, out] of [['q/o', 576, 576], ['gate/up', 576, 1536], ['down', 1536, 576], ['k/v', 576, 192]] as const) {
      const N = K * n;
      const x = tf.randomNormal([N, inF]) as tf.Tensor2D;
      const A = tf.randomNormal([K * r, inF]) as tf.Tensor2D;
      const B = tf.randomNormal([K * r, out]) as tf.Tensor2D;
      const m = new Float32Array(N * K * r);
      for (let i = 0; i < N; i++) { const k = Math.floor(i / n); m.fill(1, i * K * r + k * r, i * K * r + (k + 1) * r); }
      const mask = tf.tensor2d(m, [N, K * r]);
      const At = tf.tidy(() => A.reshape([K, r, inF]).transpose([0, 2, 1])) as tf.Tensor3D;
      const masked = () => tf.matMul(tf.matMul(x, A, false, true).mul(mask), B);
      const batched = () => tf.matMul(tf.matMul(x.reshape([K, n, inF]), At), B.reshape([K, r, out])).reshape([N, out]);
      const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(masked(), batched()))).dataSync()[0]!);
      const reps = Math.max(5, Math.round(3000 / N));
      let a = 0; let b = 0;
      for (let round = 0; round < 2; round++) {
        if (round % 2) { b += usPerCall(batched, reps); a += usPerCall(masked, reps); }
        else { a += usPerCall(masked, reps); b += usPerCall(batched, reps); }
      }
      console.log(`K ${K} x n ${n} rows, ${name} [${inF} -> ${out}]: masked ${(a / 2).toFixed(0)} us, batched ${(b / 2).toFixed(0)} us, masked / batched ${(a / b).toFixed(2)}, max |diff| ${diff.toExponential(1)}`);
      for (const t of [x, A, B, mask, At]) t.dispose();
    }
  }
}
main().catch((e) => { console.error(e); process.exit(1); });
