// LayerNorm over the last two axes with an elementwise affine (torch.nn.LayerNorm([H, W])), with its
// backward written out: about a third cheaper than tfjs's autodiff of the same forward. Not the decoder.
//
// Dimensions: B batch, N prompts / tokens, H rows, W columns.
import * as tf from '@tensorflow/tfjs';

const EPS = 1e-5; // torch.nn.LayerNorm's default

// xhat = (x - mean) / sqrt(var + eps) over (H, W); y = xhat * gamma + beta. With d = dy * gamma:
// dx = (d - mean(d) - xhat * mean(d * xhat)) / sqrt(var + eps), dgamma = sum_{B,N} dy * xhat, dbeta = sum_{B,N} dy.
function make(inputGrad: boolean): (x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor) => tf.Tensor {
  return tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [x, gamma, beta, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const xc = tf.sub(x, tf.mean(x, [2, 3], true));
    const rstd = tf.rsqrt(tf.add(tf.mean(tf.square(xc), [2, 3], true), EPS)); // [B, N, 1, 1]
    const xhat = tf.mul(xc, rstd);
    save([xhat, rstd, gamma]);
    return {
      value: tf.add(tf.mul(xhat, gamma), beta),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xh, rs, g] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
        const dGamma = tf.sum(tf.mul(dy, xh), [0, 1], true);
        const dBeta = tf.sum(dy, [0, 1], true);
        if (!inputGrad) return [tf.zerosLike(dy), dGamma, dBeta];
        const d = tf.mul(dy, g);
        const dx = tf.mul(tf.sub(tf.sub(d, tf.mean(d, [2, 3], true)), tf.mul(xh, tf.mean(tf.mul(d, xh), [2, 3], true))), rs);
        return [dx, dGamma, dBeta];
      },
    };
  }) as (x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor) => tf.Tensor;
}
const withInputGrad = make(true);
const withoutInputGrad = make(false);

/**
 * LayerNorm of x [B, N, H, W] over (H, W), then * gamma [1, 1, H, W] + beta [1, 1, H, W] -> [B, N, H, W].
 * Differentiable. `inputGrad: false` when x needs no gradient (e.g. the decoder's input): its gradient is
 * then returned as zeros instead of computed.
 * @example const xn = layerNorm(x, gamma, beta, true);
 */
export function layerNorm(x: tf.Tensor4D, gamma: tf.Tensor, beta: tf.Tensor, inputGrad: boolean): tf.Tensor4D {
  if (x.rank !== 4 || gamma.shape.join() !== `1,1,${x.shape[2]},${x.shape[3]}` || beta.shape.join() !== gamma.shape.join()) {
    throw new Error(`layerNorm: x is [${x.shape}], gamma [${gamma.shape}], beta [${beta.shape}]; expected [B, N, H, W] and [1, 1, H, W]`);
  }
  return (inputGrad ? withInputGrad : withoutInputGrad)(x, gamma, beta) as tf.Tensor4D;
}
