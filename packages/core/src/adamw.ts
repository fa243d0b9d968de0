// AdamW exactly as torch.optim.AdamW (decoupled weight decay, bias-corrected moments, eps after the square
// root) with torch.nn.utils.clip_grad_norm_ in front: the one optimiser of the project (the decoder's
// training and the LM's LoRA training). Not a schedule: the caller passes the learning rate of each step.
// State: per parameter exp_avg (m) and exp_avg_sq (v), same shape as the parameter; `step` counts updates.
import * as tf from '@tensorflow/tfjs';

export interface AdamWOptions {
  weightDecay: number;
  betas: [number, number];
  eps: number;
  /** 0 = no clipping. */
  maxGradNorm: number;
}

/** Named parameters: a fixed map, or a function that returns the current ones (e.g. LoRA tensors re-attached). */
export type AdamWParams = Map<string, tf.Variable> | (() => Map<string, tf.Variable>);

/**
 * AdamW over named variables. Moments are created at construction for a fixed map, or on first use for a
 * parameter function (re-created when a parameter's shape changes). dispose() frees them.
 * @example const opt = new AdamW(params, { weightDecay: 0.1, betas: [0.9, 0.999], eps: 1e-8, maxGradNorm: 1 }); opt.apply(tf.variableGrads(loss).grads, 3e-5)
 */
export class AdamW {
  step = 0;
  readonly m = new Map<string, tf.Variable>();
  readonly v = new Map<string, tf.Variable>();

  constructor(private readonly params: AdamWParams, private readonly opts: AdamWOptions) {
    if (params instanceof Map) for (const [name, p] of params) this.moments(name, p);
  }

  private moments(name: string, p: tf.Variable): [tf.Variable, tf.Variable] {
    let m = this.m.get(name), v = this.v.get(name);
    if (!m || !v || m.shape.join() !== p.shape.join()) {
      m?.dispose(); v?.dispose();
      const z = tf.zerosLike(p);
      m = tf.variable(z, false); v = tf.variable(z, false);
      z.dispose(); // the variables hold their own references
      this.m.set(name, m); this.v.set(name, v);
    }
    return [m, v];
  }

  /**
   * Clips `grads` (keyed by tfjs variable name, as tf.variableGrads returns them) to the global norm, then
   * applies one AdamW update at learning rate `lr`. Returns the pre-clip global gradient norm (what
   * clip_grad_norm_ returns).
   */
  apply(grads: Record<string, tf.Tensor> | Map<string, tf.Tensor>, lr: number): number {
    const { weightDecay, betas: [b1, b2], eps, maxGradNorm } = this.opts;
    const params = this.params instanceof Map ? this.params : this.params();
    const gradOf = (p: tf.Variable, name: string): tf.Tensor => {
      const g = grads instanceof Map ? grads.get(p.name) : grads[p.name];
      if (!g) throw new Error(`AdamW: no gradient for "${name}"`);
      return g;
    };
    const all = [...params].map(([name, p]) => gradOf(p, name));
    const norm = tf.tidy(() => tf.sqrt(tf.addN(all.map((g) => tf.sum(tf.square(g))))).dataSync()[0]!);
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
      for (const [name, p] of params) {
        const g = gradOf(p, name);
        const [m, v] = this.moments(name, p);
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

  /** Replaces the moments (e.g. from a checkpoint): name -> [data, shape] for m and v, and the step count. */
  loadMoments(step: number, m: Map<string, { data: Float32Array; shape: number[] }>, v: Map<string, { data: Float32Array; shape: number[] }>): void {
    this.dispose();
    for (const [map, src] of [[this.m, m], [this.v, v]] as const) {
      for (const [k, t] of src) {
        const x = tf.tensor(t.data, t.shape);
        map.set(k, tf.variable(x, false));
        x.dispose(); // the variable holds its own reference
      }
    }
    this.step = step;
  }

  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
    this.m.clear();
    this.v.clear();
  }
}
