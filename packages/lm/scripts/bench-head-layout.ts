// The LM head's two layouts at SmolLM2-135M's shape (V 49,152 x D 576): rows @ head^T (rows-major logits [m, V], what
// scoring uses, its chunks kept at 8-85 rows) against head @ rows^T (vocab-major [V, m], what generation uses), for m
// rows from a decode step's 1-8 to a scoring chunk's 85 and past it, then with what scoring does with the logits; the
// best of 3 alternating rounds, milliseconds per product. Not a test.
// Usage: node tools/bench/run-ts.cjs packages/lm/scripts/bench-head-layout.ts
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@dnd/core';
import { usPerCall } from './us-per-call';

async function main(): Promise<void> {
  const backend = await initBackend();
  console.log(`backend ${backend.name}; head [49152, 576]; ms per product, best of 3 rounds`);
  const head = tf.randomNormal([49152, 576]) as tf.Tensor2D;
  for (const m of [1, 2, 3, 4, 6, 8, 16, 32, 64, 85, 128, 256]) {
    const x = tf.randomNormal([m, 576]) as tf.Tensor2D;
    const reps = m > 64 ? 3 : 6;
    let rowsMajor = Infinity; let vocabMajor = Infinity;
    for (let round = 0; round < 3; round++) {
      rowsMajor = Math.min(rowsMajor, usPerCall(() => tf.matMul(x, head, false, true), reps));
      vocabMajor = Math.min(vocabMajor, usPerCall(() => tf.matMul(head, x, false, true), reps));
    }
    console.log(`${String(m).padStart(4)} rows: rows @ head^T ${(rowsMajor / 1e3).toFixed(1).padStart(6)} ms, head @ rows^T ${(vocabMajor / 1e3).toFixed(1).padStart(6)} ms: ${(rowsMajor / vocabMajor).toFixed(2)}x`);
    x.dispose();
  }
  // What scoring does with the logits (packed-scoring.ts headScores): the target's logit, log-sum-exp and argmax per row.
  console.log('with log-softmax at the targets and argmax (scoring):');
  for (const m of [16, 64, 85, 100]) {
    const x = tf.randomNormal([m, 576]) as tf.Tensor2D;
    const V = head.shape[0];
    const tgt = Int32Array.from({ length: m }, (_, i) => (i * 7919) % V);
    const rowsIdx = tf.tensor1d(Int32Array.from(tgt, (t, i) => i * V + t), 'int32');
    const vocabIdx = tf.tensor1d(Int32Array.from(tgt, (t, i) => t * m + i), 'int32');
    const rowsScore = (): tf.Tensor => { const lg = tf.matMul(x, head, false, true); return tf.concat([tf.gather(lg.flatten(), rowsIdx).sub(tf.logSumExp(lg, 1)), tf.argMax(lg, 1).cast('float32')]); };
    const vocabScore = (): tf.Tensor => { const lg = tf.matMul(head, x, false, true); return tf.concat([tf.gather(lg.flatten(), vocabIdx).sub(tf.logSumExp(lg, 0)), tf.argMax(lg, 0).cast('float32')]); };
    let a = Infinity; let b = Infinity;
    for (let round = 0; round < 3; round++) { a = Math.min(a, usPerCall(rowsScore, 3)); b = Math.min(b, usPerCall(vocabScore, 3)); }
    console.log(`${String(m).padStart(4)} rows: rows-major ${(a / 1e3).toFixed(1).padStart(6)} ms, vocab-major ${(b / 1e3).toFixed(1).padStart(6)} ms: ${(a / b).toFixed(2)}x`);
    for (const t of [x, rowsIdx, vocabIdx]) t.dispose();
  }
  head.dispose();
}
main().catch((e) => { console.error(e); process.exit(1); });
