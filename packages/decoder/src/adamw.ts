// AdamW exactly as torch.optim.AdamW (decoupled weight decay, bias-corrected moments, eps after the
// square root) with torch.nn.utils.clip_grad_norm_ in front. Not the schedule (train-config.ts).
// State: per parameter exp_avg (m) and exp_avg_sq (v), same shape as the parameter; `step` counts updates.
import * as tf from '@tensorflow/tfjs';

export interface AdamWOptions {
  weightDecay: number;
  betas: [number, number];
  eps: number;
  /** 0 = no clipping. */
  maxGradNorm: number;
}

/** AdamW over named variables. dispose() frees the moment buffers. */
export class AdamW {
  step = 0;
  readonly m = new Map<string, tf.Variable>();
  readonly v = new Map<string, tf.Variable>();

  constructor(private readonly params: Map<string, tf.Variable>, private readonly opts: AdamWOptions) {
    for (const [name, p] of params) {
      const z = tf.zerosLike(p);
      this.m.set(name, tf.variable(z, false));
      this.v.set(name, tf.variable(z, false));
      z.dispose(); // the variables hold their own references
    }
  }

  /**
   * Clips `grads` (keyed by tfjs variable name, as tf.variableGrads returns them) to the global norm, then applies one AdamW update at learning rate `lr`.
   * Returns the pre-clip global gradient norm (what clip_grad_norm_ returns).
   */
  apply(grads: Record<string, tf.Tensor>, lr: number): number {
    const { weightDecay, betas: [b1, b2], eps, maxGradNorm } = this.opts;
    const norm = tf.tidy(() => tf.sqrt(tf.addN(Object.values(grads).map((g) => tf.sum(tf.square(g))))).dataSync()[0]!);
    // torch: clip_coef = max_norm / (total_norm + 1e-6), applied only when < 1
    const coef = maxGradNorm > 0 ? Math.min(1, maxGradNorm / (norm + 1e-6)) : 1;
    this.step += 1;
    const bc1 = 1 - Math.pow(b1, this.step);
    const sbc2 = Math.sqrt(1 - Math.pow(b2, this.step));
    tf.tidy(() => {
      // One scalar tensor per constant per step (a JS number in an op would make one per variable), the
      // clip coefficient folded into the moment updates, and torch's m / (sqrt(v) / sbc2 + eps) * lr / bc1
      // as m / (sqrt(v) + eps * sbc2) * (lr * sbc2 / bc1): the same update in fewer ops.
      const s = (x: number) => tf.scalar(x, 'float32');
      const [beta1, gain1, beta2, gain2, decay, epsScaled, stepSize] = [
        s(b1), s((1 - b1) * coef), s(b2), s((1 - b2) * coef * coef), s(1 - lr * weightDecay), s(eps * sbc2), s((lr * sbc2) / bc1)];
      for (const [name, p] of this.params) {
        const g = grads[p.name];
        if (!g) throw new Error(`AdamW: no gradient for "${name}"`);
        const m = this.m.get(name)!;
        const v = this.v.get(name)!;
        const m2 = tf.add(tf.mul(m, beta1), tf.mul(g, gain1));
        const v2 = tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), gain2));
        m.assign(m2);
        v.assign(v2);
        const decayed = weightDecay > 0 ? tf.mul(p, decay) : p;
        p.assign(tf.sub(decayed, tf.mul(tf.div(m2, tf.add(tf.sqrt(v2), epsScaled)), stepSize)));
      }
    });
    return norm;
  }

  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
    this.m.clear();
    this.v.clear();
  }
}
