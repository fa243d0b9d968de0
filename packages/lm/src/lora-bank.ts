// A bank of K LoRA adapters applied per batch row in one forward pass: the base weights are shared, and
// row block k (adapter-major: rows [k*n, (k+1)*n)) adds its own scaling_k * B_k A_k. Scoring only (no
// gradients, no merge). Not the single trainable LoRA (lora.ts) and not the adapter file format (@dnd/core).
//
// Dimensions: K adapters, r the largest rank (smaller ranks are zero-padded, which adds exact zeros),
// in / out the projection's features, N = K * n rows of the flattened batch.
//
// Adapter-major rows in K equal blocks (scoring passes, and generation until it drops finished rows) take each
// block through its own adapter in one batched matmul pair: x [K, n, in] @ A^T [K, in, r] @ B [K, r, out]. Rows in
// any order (useRows) take two plain matmuls through all K adapters' factors side by side, with the other adapters'
// rank columns masked to zero in between: x [N, in] @ A_cat^T [in, K r] -> * row mask -> @ B_cat [K r, out]. The
// masked form does K times the LoRA arithmetic, which at 12-14 adapters is a quarter or more of a projection's own
// (K r = 112 columns against 576 features). The batched form ran the LoRA term 1.0-2.7x faster at a scoring pass's
// shapes and 0.8-2.1x at a decode step's (scripts/bench-lora-bank.ts), and 14-adapter scoring on all 7 modules 1.11x
// faster end to end (scripts/bench-bank-forms.ts; docs/benchmarks.md `## eval, added by hand`).
import * as tf from '@tensorflow/tfjs';
import { loraScaling, peftTensorName, validateLoraAdapter, type HfModelConfig, type LoraAdapter } from '@dnd/core';
import { projShape, type ProjName } from './weights';

/** One projection's factors of all K adapters side by side; B already carries each adapter's scaling. */
export interface LoraBankPair {
  A: tf.Tensor2D; // [K r, in]: rows k r .. k r + r - 1 are adapter k's A
  B: tf.Tensor2D; // [K r, out]: rows k r .. are adapter k's (scaling_k B_k)^T
  At: tf.Tensor3D; // [K, in, r]: adapter k's A^T (the batched form)
}

/**
 * K adapters stacked for per-row LoRA. `null` stands for the bare base model (zero factors). A projection
 * that no adapter targets is left out; one that only some target gets zeros for the others.
 * @example const bank = LoraBank.fromAdapters([a, b, null], lm.config); ... bank.dispose();
 */
export class LoraBank {
  readonly pairs = new Map<string, LoraBankPair>(); // key `${layer}.${proj}`
  private rowMask: tf.Tensor2D | null = null; // set by useRows: rows in any order, each with its own adapter

  private constructor(readonly K: number, readonly r: number) {}

  /** Checks every adapter against the base (every layer x its target modules, shapes [r, in] / [out, r]) and stacks them. */
  static fromAdapters(adapters: readonly (LoraAdapter | null)[], mc: HfModelConfig, where = 'LoraBank'): LoraBank {
    if (adapters.length === 0) throw new Error(`${where}: no adapters`);
    adapters.forEach((a, k) => { if (a) validateLoraAdapter(a, `${where}: adapter ${k}`); });
    const r = Math.max(1, ...adapters.map((a) => (a ? a.config.r : 0)));
    const K = adapters.length;
    const projs = new Set<ProjName>();
    for (const a of adapters) for (const m of a?.config.targetModules ?? []) projs.add(m as ProjName);
    // Check shapes before allocating anything.
    adapters.forEach((a, k) => {
      if (!a) return;
      for (const name of a.tensors.keys()) {
        const layer = Number(/layers\.(\d+)\./.exec(name)?.[1]);
        if (layer >= mc.numHiddenLayers) throw new Error(`${where}: adapter ${k} tensor "${name}" is for layer ${layer}, but the base model has ${mc.numHiddenLayers} layers`);
      }
      for (let l = 0; l < mc.numHiddenLayers; l++) {
        for (const proj of a.config.targetModules as ProjName[]) {
          const [out, inF] = projShape(mc, proj);
          const want = { A: [a.config.r, inF], B: [out, a.config.r] };
          for (const part of ['A', 'B'] as const) {
            const n = peftTensorName(l, proj, part);
            const t = a.tensors.get(n);
            if (!t) throw new Error(`${where}: adapter ${k} is missing tensor "${n}"`);
            if (t.shape.length !== 2 || t.shape[0] !== want[part][0] || t.shape[1] !== want[part][1]) {
              throw new Error(`${where}: adapter ${k} tensor "${n}" has shape [${t.shape}] but the base model needs [${want[part]}]`);
            }
          }
        }
      }
    });
    const bank = new LoraBank(K, r);
    try {
      for (let l = 0; l < mc.numHiddenLayers; l++) {
        for (const proj of projs) {
          const [out, inF] = projShape(mc, proj);
          const A = new Float32Array(K * r * inF); // [K r, in]
          const B = new Float32Array(K * r * out); // [K r, out]
          adapters.forEach((a, k) => {
            if (!a || !a.config.targetModules.includes(proj)) return;
            const ra = a.config.r; const s = loraScaling(a.config);
            const ta = a.tensors.get(peftTensorName(l, proj, 'A'))!.data as Float32Array; // [ra, in]
            const tb = a.tensors.get(peftTensorName(l, proj, 'B'))!.data as Float32Array; // [out, ra]
            A.set(ta, k * r * inF);
            for (let o = 0; o < out; o++) for (let j = 0; j < ra; j++) B[(k * r + j) * out + o] = Math.fround(tb[o * ra + j]! * s);
          });
          const At = tf.tidy(() => tf.tensor3d(A, [K, r, inF]).transpose<tf.Tensor3D>([0, 2, 1]));
          bank.pairs.set(`${l}.${proj}`, { A: tf.tensor2d(A, [K * r, inF]), B: tf.tensor2d(B, [K * r, out]), At });
        }
      }
    } catch (e) { bank.dispose(); throw e; }
    return bank;
  }

  /**
   * The LoRA term of one projection for adapter-major rows: x [N, in] -> [N, out], N divisible by K.
   * Call inside tf.tidy. Returns null when no adapter wraps this projection.
   */
  delta(layer: number, proj: ProjName, x: tf.Tensor2D): tf.Tensor2D | null {
    const p = this.pairs.get(`${layer}.${proj}`);
    if (!p) return null;
    const [N, inF] = x.shape;
    const out = p.B.shape[1];
    if (this.rowMask) {
      if (this.rowMask.shape[0] !== N) throw new Error(`LoraBank.delta(${proj}): ${N} rows, but useRows named ${this.rowMask.shape[0]}`);
      const h = tf.matMul(x, p.A, false, true); // [N, K r]
      return tf.matMul(h.mul(this.rowMask), p.B) as tf.Tensor2D; // [N, out]
    }
    if (N % this.K !== 0) throw new Error(`LoraBank.delta(${proj}): ${N} rows do not split into ${this.K} adapter blocks`);
    const h = tf.matMul(x.reshape([this.K, N / this.K, inF]), p.At); // [K, n, r]
    return tf.matMul(h, p.B.reshape([this.K, this.r, out])).reshape([N, out]) as tf.Tensor2D; // [N, out]
  }

  /**
   * Rows in any order from now on: row i uses adapter `adapterOf[i]` (generation drops finished rows from its
   * batch, so the adapter-major blocks stop being equal). `null` goes back to adapter-major blocks.
   */
  useRows(adapterOf: readonly number[] | null): void {
    this.rowMask?.dispose();
    this.rowMask = null;
    if (!adapterOf) return;
    adapterOf.forEach((k, i) => {
      if (!(Number.isInteger(k) && k >= 0 && k < this.K)) throw new Error(`LoraBank.useRows: row ${i} names adapter ${k}, the bank holds ${this.K}`);
    });
    this.rowMask = this.rowsMask(adapterOf);
  }

  // [rows, K r], 1 in row i's adapter's rank columns; kept outside any tidy.
  private rowsMask(adapterOf: readonly number[]): tf.Tensor2D {
    const W = this.K * this.r;
    const data = new Float32Array(adapterOf.length * W);
    adapterOf.forEach((k, i) => data.fill(1, i * W + k * this.r, i * W + (k + 1) * this.r));
    return tf.keep(tf.tensor2d(data, [adapterOf.length, W]));
  }

  dispose(): void {
    for (const p of this.pairs.values()) { p.A.dispose(); p.B.dispose(); p.At.dispose(); }
    this.pairs.clear();
    this.useRows(null);
  }
}
