// 'same' stride-1 conv2d with the channels on axis 1 (NCHW): native where a probe finds the backend runs it
// (TensorFlow with oneDNN, cpu), else (wasm, TensorFlow without oneDNN) as transpose -> NHWC conv -> transpose.
// Not the decoder (hyperconv.ts): only this layout choice.
//
// Dimensions: B batch, C / O in / out channels, S1 / S2 the spatial axes, k kernel.
import * as tf from '@tensorflow/tfjs';

const nativeByBackend = new Map<string, boolean>();

// NCHW through the NHWC kernel: what every backend can do.
function viaChannelsLast(x: tf.Tensor4D, filter: tf.Tensor4D): tf.Tensor4D {
  return tf.transpose(tf.conv2d(tf.transpose(x, [0, 2, 3, 1]) as tf.Tensor4D, filter, 1, 'same'), [0, 3, 1, 2]);
}

// True when this backend's NCHW conv, input gradient and filter gradient all run and agree with the
// NHWC route (TensorFlow without oneDNN rejects NCHW on the CPU; a backend may also get it wrong).
function probeNative(): boolean {
  try {
    return tf.tidy(() => {
      const x = tf.tensor4d(Float32Array.from({ length: 2 * 3 * 4 * 5 }, (_, i) => Math.sin(i)), [2, 3, 4, 5]);
      const k = tf.tensor4d(Float32Array.from({ length: 3 * 3 * 3 * 2 }, (_, i) => Math.cos(i)), [3, 3, 3, 2]);
      const w = tf.tensor4d(Float32Array.from({ length: 2 * 2 * 4 * 5 }, (_, i) => Math.sin(3 * i)), [2, 2, 4, 5]);
      const f = (conv: typeof viaChannelsLast) => tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(conv(a as tf.Tensor4D, b as tf.Tensor4D), w)));
      const native = f((a, b) => tf.conv2d(a, b, 1, 'same', 'NCHW'))([x, k]);
      const ref = f(viaChannelsLast)([x, k]);
      const y = [tf.conv2d(x, k, 1, 'same', 'NCHW'), viaChannelsLast(x, k)];
      const diff = (a: tf.Tensor, b: tf.Tensor) => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!;
      return Math.max(diff(y[0]!, y[1]!), diff(native[0]!, ref[0]!), diff(native[1]!, ref[1]!)) < 1e-4;
    });
  } catch {
    return false;
  }
}

/** Whether conv2dChannelsFirst runs natively on the current backend (probed once per backend). */
export function nativeChannelsFirstConv(): boolean {
  const backend = tf.getBackend();
  let native = nativeByBackend.get(backend);
  if (native === undefined) {
    native = probeNative();
    nativeByBackend.set(backend, native);
  }
  return native;
}

/**
 * conv2d, 'same' padding, stride 1, on x [B, C, S1, S2] with filter [k, k, C, O] (HWIO, kernel axes over
 * (S1, S2)) -> [B, O, S1, S2]. Differentiable. Pass `native` to force a route (tests compare the two).
 * @example const y = conv2dChannelsFirst(x, filter); // [B, O, S1, S2]
 */
export function conv2dChannelsFirst(x: tf.Tensor4D, filter: tf.Tensor4D, native = nativeChannelsFirstConv()): tf.Tensor4D {
  if (x.shape[1] !== filter.shape[2]) throw new Error(`conv2dChannelsFirst: x is [${x.shape}] (channels on axis 1) but the filter is [${filter.shape}]`);
  return native ? tf.conv2d(x, filter, 1, 'same', 'NCHW') : viaChannelsLast(x, filter);
}
