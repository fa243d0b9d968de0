// The timing loop the lm micro-benchmarks share (bench-matmul-layout.ts, bench-lora-bank.ts). Not a benchmark itself.
import * as tf from '@tensorflow/tfjs';

/**
 * Mean microseconds per call of `fn` (run in a tidy) over n calls, after 3 warm-up calls; the outputs are kept until
 * the last one is read (TensorFlow runs ops as they are called, so that read waits for all of them), then freed.
 */
export function usPerCall(fn: () => tf.Tensor, n: number): number {
  for (let i = 0; i < 3; i++) tf.tidy(fn).dispose();
  const t0 = process.hrtime.bigint();
  const outs: tf.Tensor[] = [];
  for (let i = 0; i < n; i++) outs.push(tf.tidy(fn));
  outs[outs.length - 1]!.dataSync();
  const us = Number(process.hrtime.bigint() - t0) / 1e3 / n;
  outs.forEach((o) => o.dispose());
  return us;
}
