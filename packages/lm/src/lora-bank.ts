// A bank of K LoRA adapters applied per batch row in one forward pass: the base weights are shared, and
// row block k (adapter-major: rows [k*n, (k+1)*n)) adds its own scaling_k * B_k A_k. Scoring only (no
// gradients, no merge). Not the single trainable LoRA (lora.ts) and not the adapter file format (@dnd/core).
//
// Dimensions: K adapters, r the largest rank (smaller ranks are zero-padded, which adds exact zeros), g the
// projections of a group, in / out the group's input and summed output features, N = K * n rows of the flattened batch.
//
// The factors are kept per group of projections that read the same input (q|k|v, o, gate|up, down; weights.ts
// GROUPS), as the inference copies stack the base: a group's LoRA term is one pair of matmuls whatever the number of
// its projections, with each adapter's B block-diagonal over them (zeros elsewhere, which add exact zeros).
// Adapter-major rows in K equal blocks (scoring passes, and generation until it drops finished rows) take each
// block through its own adapter in one batched matmul pair: x [K, n, in] @ A^T [K, in, g r] @ B [K, g r, out]. Rows in
// any order (useRows) take two plain matmuls through all K adapters' factors side by side, with the other adapters'
// rank columns masked to zero in between: x [N, in] @ A_cat^T [in, K g r] -> * row mask -> @ B_cat [K g r, out]. The
// masked form does K times the LoRA arithmetic, which at 12-14 adapters is a quarter or more of a projection's own
// (K r = 112 columns against 576 features). The batched form ran the LoRA term 1.0-2.7x faster at a scoring pass's
// shapes and 0.8-2.1x at a decode step's (scripts/bench-lora-bank.ts), and 14-adapter scoring on all 7 modules 1.11x
// faster end to end (scripts/bench-bank-forms.ts; docs/benchmarks.md `## eval, added by hand`).
import * as tf from '@tensorflow/tfjs';
import { loraScaling, peftTensorName, validateLoraAdapter, type HfModelConfig, type LoraAdapter } from '@dnd/core';
import { GROUPS, projShape, type GroupName, type ProjName } from './weights';

/** One group's factors of all K adapters side by side; B already carries each adapter's scaling. */
export interface LoraBankGroup {
  A: tf.Tensor2D; // [K g r, in]: rows (k g + j) r .. are adapter k's A of the group's projection j
  B: tf.Tensor2D; // [K g r, out]: the same rows hold adapter k's (scaling_k B_kj)^T at projection j's output columns, zeros elsewhere
  At: tf.Tensor3D; // [K, in, g r]: adapter k's A^T of the group's projections side by side (the batched form)
  g: number; // projections in the group
  cols: Map<ProjName, [number, number]>; // each projection's output columns [start, width] within the group
}

/**
 * K adapters stacked for per-row LoRA. `null` stands for the bare base model (zero factors). A group that no
 * adapter targets is left out; projections that only some adapters target get zeros for the others.
 * @example const bank = LoraBank.fromAdapters([a, b, null], lm.config); ... bank.dispose();
 */
export class LoraBank {
  readonly groups = new Map<string, LoraBankGroup>(); // key `${layer}.${group}`
  private rowsOf: readonly number[] | null = null; // set by useRows: rows in any order, each with its own adapter
  private readonly masks = new Map<number, tf.Tensor2D>(); // g -> [rows, K g r] row masks of useRows

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
        for (const [group, members] of GROUPS) {
          if (!members.some((p) => projs.has(p))) continue;
          const g = members.length;
          const inF = projShape(mc, members[0]!)[1];
          const cols = new Map<ProjName, [number, number]>();
          let out = 0;
          for (const p of members) { const w = projShape(mc, p)[0]; cols.set(p, [out, w]); out += w; }
          const A = new Float32Array(K * g * r * inF); // [K g r, in]
          const B = new Float32Array(K * g * r * out); // [K g r, out]
          adapters.forEach((a, k) => {
            if (!a) return;
            const ra = a.config.r; const s = loraScaling(a.config);
            members.forEach((proj, j) => {
              if (!a.config.targetModules.includes(proj)) return;
              const row0 = (k * g + j) * r;
              const [c0, w] = cols.get(proj)!;
              const ta = a.tensors.get(peftTensorName(l, proj, 'A'))!.data as Float32Array; // [ra, in]
              const tb = a.tensors.get(peftTensorName(l, proj, 'B'))!.data as Float32Array; // [w, ra]
              A.set(ta, row0 * inF);
              for (let o = 0; o < w; o++) for (let i = 0; i < ra; i++) B[(row0 + i) * out + c0 + o] = Math.fround(tb[o * ra + i]! * s);
            });
          });
          const At = tf.tidy(() => tf.tensor3d(A, [K, g * r, inF]).transpose<tf.Tensor3D>([0, 2, 1]));
          bank.groups.set(`${l}.${group}`, { A: tf.tensor2d(A, [K * g * r, inF]), B: tf.tensor2d(B, [K * g * r, out]), At, g, cols });
        }
      }
    } catch (e) { bank.dispose(); throw e; }
    return bank;
  }

  /**
   * The LoRA term of one group of projections: x [N, in] -> [N, out] (the group's outputs side by side), for
   * adapter-major rows (N divisible by K) or the rows useRows named. Call inside tf.tidy. Returns null when no
   * adapter wraps any projection of the group.
   */
  groupDelta(layer: number, group: GroupName, x: tf.Tensor2D): tf.Tensor2D | null {
    const p = this.groups.get(`${layer}.${group}`);
    if (!p) return null;
    const [N, inF] = x.shape;
    const out = p.B.shape[1];
    if (this.rowsOf) {
      if (this.rowsOf.length !== N) throw new Error(`LoraBank.groupDelta(${group}): ${N} rows, but useRows named ${this.rowsOf.length}`);
      const h = tf.matMul(x, p.A, false, true); // [N, K g r]
      return tf.matMul(h.mul(this.rowMask(p.g)), p.B) as tf.Tensor2D; // [N, out]
    }
    if (N % this.K !== 0) throw new Error(`LoraBank.groupDelta(${group}): ${N} rows do not split into ${this.K} adapter blocks`);
    const h = tf.matMul(x.reshape([this.K, N / this.K, inF]), p.At); // [K, n, g r]
    return tf.matMul(h, p.B.reshape([this.K, p.g * this.r, out])).reshape([N, out]) as tf.Tensor2D; // [N, out]
  }

  /** The LoRA term of one projection, x [N, in] -> [N, out] (its columns of the group's term). Call inside tf.tidy. */
  delta(layer: number, proj: ProjName, x: tf.Tensor2D): tf.Tensor2D | null {
    const [group] = GROUPS.find(([, members]) => members.includes(proj))!;
    const d = this.groupDelta(layer, group, x);
    if (!d) return null;
    const [c0, w] = this.groups.get(`${layer}.${group}`)!.cols.get(proj)!;
    return d.shape[1] === w ? d : d.slice([0, c0], [-1, w]);
  }

  /**
   * Rows in any order from now on: row i uses adapter `adapterOf[i]` (generation drops finished rows from its
   * batch, so the adapter-major blocks stop being equal). `null` goes back to adapter-major blocks.
   */
  useRows(adapterOf: readonly number[] | null): void {
    for (const m of this.masks.values()) m.dispose();
    this.masks.clear();
    this.rowsOf = null;
    if (!adapterOf) return;
    adapterOf.forEach((k, i) => {
      if (!(Number.isInteger(k) && k >= 0 && k < this.K)) throw new Error(`LoraBank.useRows: row ${i} names adapter ${k}, the bank holds ${this.K}`);
    });
    this.rowsOf = [...adapterOf];
  }

  // [rows, K g r], 1 in row i's adapter's rank columns; built once per width and kept outside any tidy.
  private rowMask(g: number): tf.Tensor2D {
    let m = this.masks.get(g);
    if (!m) {
      const W = this.K * g * this.r;
      const data = new Float32Array(this.rowsOf!.length * W);
      this.rowsOf!.forEach((k, i) => data.fill(1, i * W + k * g * this.r, i * W + (k + 1) * g * this.r));
      m = tf.keep(tf.tensor2d(data, [this.rowsOf!.length, W]));
      this.masks.set(g, m);
    }
    return m;
  }

  dispose(): void {
    for (const p of this.groups.values()) { p.A.dispose(); p.B.dispose(); p.At.dispose(); }
    this.groups.clear();
    this.useRows(null);
  }
}
