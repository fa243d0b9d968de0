// AdamW exactly as torch.optim.AdamW (decoupled weight decay, bias-corrected moments, eps after the square
// root) with torch.nn.utils.clip_grad_norm_ in front: the one optimiser of the project (the decoder's
// training and the LM's LoRA training). Not a schedule: the caller passes the learning rate of each step.
// State: exp_avg (m) and exp_avg_sq (v) of every parameter, kept as two flat tensors over all parameters
// (map order), so one update is about twenty kernels over all of them instead of thirteen per parameter
// (a third of the time for the decoder's 27 parameters); `step` counts updates.
import * as tf from '@tensorflow/tfjs';
import type { TensorData } from './tensor-data';

export interface AdamWOptions {
  weightDecay: number;
  betas: [number, number];
  eps: number;
  /** 0 = no clipping. */
  maxGradNorm: number;
}

/** Named parameters: a fixed map, or a function that returns the current ones (e.g. LoRA tensors re-attached). */
export type AdamWParams = Map<string, tf.Variable> | (() => Map<string, tf.Variable>);

interface Slot {
  name: string;
  shape: number[];
  size: number;
}

const sameShape = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((d, i) => d === b[i]);

const copyMoments = (src: Map<string, TensorData>): Map<string, TensorData> => new Map([...src].map(([k, t]) => [k, { data: Float32Array.from(t.data), shape: [...t.shape] }]));

/**
 * AdamW over named variables. Moments start at zero: at construction for a fixed map, on first use for a
 * parameter function (a parameter that appears or changes shape starts again at zero; the others keep theirs).
 * dispose() frees them.
 * @example const opt = new AdamW(params, { weightDecay: 0.1, betas: [0.9, 0.999], eps: 1e-8, maxGradNorm: 1 }); opt.apply(tf.variableGrads(loss).grads, 3e-5)
 */
export class AdamW {
  step = 0;
  private slots: Slot[] = [];
  private m: tf.Variable | null = null; // [sum of sizes]
  private v: tf.Variable | null = null;
  /** Moments loaded (loadMoments) before the parameters they belong to were seen. */
  private pending: { m: Map<string, TensorData>; v: Map<string, TensorData> } | null = null;

  constructor(private readonly params: AdamWParams, private readonly opts: AdamWOptions) {
    if (params instanceof Map) this.layout(params);
  }

  // Lays the flat moments out over `params` (map order), keeping each moment whose parameter kept its shape.
  private layout(params: Map<string, tf.Variable>): void {
    const slots = [...params].map(([name, p]) => ({ name, shape: [...p.shape], size: p.size }));
    if (this.m && slots.length === this.slots.length && slots.every((s, i) => s.name === this.slots[i]!.name && sameShape(s.shape, this.slots[i]!.shape))) return;
    const keep = this.moments();
    const total = slots.reduce((a, s) => a + s.size, 0);
    const m = new Float32Array(total), v = new Float32Array(total);
    let at = 0;
    for (const s of slots) {
      const a = keep.m.get(s.name), b = keep.v.get(s.name);
      if (a && b && sameShape(a.shape, s.shape) && sameShape(b.shape, s.shape)) { m.set(a.data, at); v.set(b.data, at); }
      at += s.size;
    }
    this.disposeMoments();
    this.slots = slots;
    const variable = (data: Float32Array): tf.Variable => {
      const t = tf.tensor1d(data);
      try {
        return tf.variable(t, false);
      } finally {
        t.dispose(); // the variable holds its own reference
      }
    };
    this.m = variable(m);
    this.v = variable(v);
    this.pending = null;
  }

  /** The moments by parameter name, each in its parameter's shape (copies; e.g. for a checkpoint). */
  moments(): { m: Map<string, TensorData>; v: Map<string, TensorData> } {
    if (this.pending) return { m: copyMoments(this.pending.m), v: copyMoments(this.pending.v) };
    const out = { m: new Map<string, TensorData>(), v: new Map<string, TensorData>() };
    if (!this.m || !this.v) return out;
    const [m, v] = [this.m.dataSync() as Float32Array, this.v.dataSync() as Float32Array];
    let at = 0;
    for (const s of this.slots) {
      out.m.set(s.name, { data: m.slice(at, at + s.size), shape: [...s.shape] });
      out.v.set(s.name, { data: v.slice(at, at + s.size), shape: [...s.shape] });
      at += s.size;
    }
    return out;
  }

  /**
   * Clips `grads` (keyed by tfjs variable name, as tf.variableGrads returns them) to the global norm, then
   * applies one AdamW update at learning rate `lr`. Returns the pre-clip global gradient norm (what
   * clip_grad_norm_ returns).
   */
  apply(grads: Record<string, tf.Tensor> | Map<string, tf.Tensor>, lr: number): number {
    const { weightDecay, betas: [b1, b2], eps, maxGradNorm } = this.opts;
    const params = this.params instanceof Map ? this.params : this.params();
    const gs = [...params].map(([name, p]) => {
      const g = grads instanceof Map ? grads.get(p.name) : grads[p.name];
      if (!g) throw new Error(`AdamW: no gradient for "${name}"`);
      if (!sameShape(g.shape, p.shape)) throw new Error(`AdamW: the gradient of "${name}" is [${g.shape}], the parameter [${p.shape}]`);
      return g;
    });
    this.layout(params);
    const flat = (ts: tf.Tensor[]): tf.Tensor => (ts.length === 1 ? ts[0]!.reshape([-1]) : tf.concat(ts.map((t) => t.reshape([-1]))));
    const [g, g2, normT] = tf.tidy(() => {
      const g = flat(gs);
      const g2 = tf.square(g);
      return [g, g2, tf.sqrt(tf.sum(g2))];
    });
    try {
      const norm = normT.dataSync()[0]!;
      // torch: clip_coef = max_norm / (total_norm + 1e-6), applied only when < 1
      const coef = maxGradNorm > 0 ? Math.min(1, maxGradNorm / (norm + 1e-6)) : 1;
      this.step += 1;
      const bc1 = 1 - Math.pow(b1, this.step);
      const sbc2 = Math.sqrt(1 - Math.pow(b2, this.step));
      const [m, v] = [this.m!, this.v!];
      tf.tidy(() => {
        // One scalar tensor per constant (a JS number in an op would make one per use), the clip coefficient
        // folded into the moment updates, and torch's m / (sqrt(v) / sbc2 + eps) * lr / bc1 as
        // m / (sqrt(v) + eps * sbc2) * (lr * sbc2 / bc1): the same update in fewer ops.
        const s = (x: number) => tf.scalar(x, 'float32');
        const m2 = tf.add(tf.mul(m, s(b1)), tf.mul(g, s((1 - b1) * coef)));
        const v2 = tf.add(tf.mul(v, s(b2)), tf.mul(g2, s((1 - b2) * coef * coef)));
        m.assign(m2);
        v.assign(v2);
        const ps = [...params.values()];
        const p = flat(ps);
        const decayed = weightDecay > 0 ? tf.mul(p, s(1 - lr * weightDecay)) : p;
        const next = tf.sub(decayed, tf.mul(tf.div(m2, tf.add(tf.sqrt(v2), s(eps * sbc2))), s((lr * sbc2) / bc1)));
        const parts = ps.length === 1 ? [next] : tf.split(next, this.slots.map((x) => x.size));
        ps.forEach((q, i) => q.assign(parts[i]!.reshape(q.shape)));
      });
      return norm;
    } finally {
      tf.dispose([g, g2, normT]);
    }
  }

  /**
   * Replaces the moments (e.g. from a checkpoint): name -> data in the parameter's shape for m and v, and the
   * step count. A name without a parameter is ignored; a parameter without a moment starts at zero.
   */
  loadMoments(step: number, m: Map<string, TensorData>, v: Map<string, TensorData>): void {
    for (const [k, t] of [...m, ...v]) {
      if (t.data.length !== t.shape.reduce((a, b) => a * b, 1)) throw new Error(`AdamW.loadMoments: "${k}" has ${t.data.length} values for shape [${t.shape}]`);
    }
    this.disposeMoments();
    this.slots = [];
    this.pending = { m: copyMoments(m), v: copyMoments(v) };
    this.step = step;
    if (this.params instanceof Map) this.layout(this.params);
  }

  private disposeMoments(): void {
    this.m?.dispose();
    this.v?.dispose();
    this.m = this.v = null;
  }

  dispose(): void {
    this.disposeMoments();
    this.slots = [];
    this.pending = null;
  }
}
