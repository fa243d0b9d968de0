// Tests for the channels-first conv: both routes (native NCHW where the backend has it, and transpose +
// NHWC) give the same output and gradients within 1e-5, the shape check names the op, no tensors leak.
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@dnd/core';
import { conv2dChannelsFirst, nativeChannelsFirstConv } from './channels-first-conv';

beforeAll(async () => {
  await initBackend();
});

describe('conv2dChannelsFirst', () => {
  it('matches the transposing route (value and both gradients) on this backend', () => {
    const before = tf.memory().numTensors;
    expect(typeof nativeChannelsFirstConv()).toBe('boolean');
    tf.tidy(() => {
      const x = tf.tensor4d(Float32Array.from({ length: 2 * 6 * 5 * 7 }, (_, i) => Math.sin(0.7 * i)), [2, 6, 5, 7]);
      const k = tf.tensor4d(Float32Array.from({ length: 3 * 3 * 6 * 4 }, (_, i) => Math.cos(0.3 * i)), [3, 3, 6, 4]);
      const w = tf.tensor4d(Float32Array.from({ length: 2 * 4 * 5 * 7 }, (_, i) => Math.sin(1.3 * i)), [2, 4, 5, 7]);
      const run = (native: boolean) => {
        const y = conv2dChannelsFirst(x, k, native);
        const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(conv2dChannelsFirst(a as tf.Tensor4D, b as tf.Tensor4D, native), w)))([x, k]);
        return [y, ...g];
      };
      const ref = run(false);
      expect(ref[0]!.shape).toEqual([2, 4, 5, 7]);
      const got = nativeChannelsFirstConv() ? run(true) : ref; // tfjs-node (the test backend) has the native route
      got.forEach((t, i) => expect(tf.max(tf.abs(tf.sub(t, ref[i]!))).dataSync()[0]).toBeLessThan(1e-5));
    });
    expect(tf.memory().numTensors).toBe(before);
  });

  it('names the op when the channels do not match the filter', () => {
    tf.tidy(() => {
      expect(() => conv2dChannelsFirst(tf.zeros([1, 3, 4, 4]) as tf.Tensor4D, tf.zeros([3, 3, 2, 1]) as tf.Tensor4D)).toThrow('conv2dChannelsFirst: x is [1,3,4,4]');
    });
  });
});
