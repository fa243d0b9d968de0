// Tests for the LayerNorm with a written-out backward: value and all three gradients match tfjs's
// autodiff of the plain formula within 1e-5; without the input gradient that gradient is zeros and the
// others are unchanged; shapes are checked; no tensors leak.
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@dnd/core';
import { layerNorm } from './layer-norm';

beforeAll(async () => {
  await initBackend();
});

const plain = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor): tf.Tensor => {
  const { mean, variance } = tf.moments(x, [2, 3], true);
  return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5))), g), b);
};

describe('layerNorm', () => {
  it('matches autodiff of the plain formula (value, dx, dgamma, dbeta) within 1e-5', () => {
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      const x = tf.tensor4d(Float32Array.from({ length: 2 * 3 * 4 * 5 }, (_, i) => 3 * Math.sin(0.9 * i) + 1), [2, 3, 4, 5]);
      const g = tf.tensor4d(Float32Array.from({ length: 20 }, (_, i) => 1 + 0.1 * Math.cos(i)), [1, 1, 4, 5]);
      const b = tf.tensor4d(Float32Array.from({ length: 20 }, (_, i) => 0.2 * Math.sin(2 * i)), [1, 1, 4, 5]);
      const w = tf.tensor4d(Float32Array.from({ length: 2 * 3 * 4 * 5 }, (_, i) => Math.cos(1.7 * i)), [2, 3, 4, 5]);
      const grads = (f: (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.Tensor) => tf.grads((p: tf.Tensor, q: tf.Tensor, r: tf.Tensor) => tf.sum(tf.mul(f(p, q, r), w)))([x, g, b]);
      const diff = (p: tf.Tensor, q: tf.Tensor) => tf.max(tf.abs(tf.sub(p, q))).dataSync()[0]!;
      const ref = grads(plain);
      expect(diff(layerNorm(x, g, b, true), plain(x, g, b))).toBeLessThan(1e-5);
      const got = grads((p, q, r) => layerNorm(p as tf.Tensor4D, q, r, true));
      got.forEach((t, i) => expect(diff(t, ref[i]!)).toBeLessThan(1e-5));
      expect(diff(ref[0]!, tf.zerosLike(ref[0]!))).toBeGreaterThan(1e-3); // dx is not trivially zero
      const noInput = grads((p, q, r) => layerNorm(p as tf.Tensor4D, q, r, false));
      expect(diff(noInput[0]!, tf.zerosLike(x))).toBe(0);
      expect(diff(noInput[1]!, ref[1]!)).toBeLessThan(1e-5);
      expect(diff(noInput[2]!, ref[2]!)).toBeLessThan(1e-5);
    });
    expect(tf.memory().numTensors).toBe(before);
  });

  it('names the op when gamma does not match (H, W)', () => {
    tf.tidy(() => {
      expect(() => layerNorm(tf.zeros([1, 2, 3, 4]) as tf.Tensor4D, tf.ones([1, 1, 4, 3]), tf.zeros([1, 1, 4, 3]), true)).toThrow('layerNorm: x is [1,2,3,4]');
    });
  });
});
