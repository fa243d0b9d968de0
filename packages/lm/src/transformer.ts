// The Llama / Qwen2 decoder forward pass in tfjs: embeddings, RMSNorm, RoPE, grouped-query attention with an
// additive mask and optional KV cache, SwiGLU MLP, optional LoRA on any projection, final norm, LM head.
// Pure functions over tensors; call inside tf.tidy (or a gradient closure). Not the batching or the API.
//
// Dimensions: B batch, T new tokens, P cached tokens, S = P + T keys, D hidden, H heads, KV kv heads,
// G = H / KV queries per kv head, HD head dim, N = B * T rows, V vocab.
// GQA without tile: queries [B, H, T, HD] reshape to [B, KV, G*T, HD] (head h uses kv head h / G, as HF's
// repeat_kv), so every op stays rank 4 and has a gradient.
// With `fused` set, q|k|v and gate|up each run as one wider matmul, then split: the same dot products in fewer,
// larger kernels, for inference only (training's backward ran about 8% slower stacked, so it keeps them apart).
// These inference copies are stored transposed ([in, out], o and down too): TensorFlow's CPU matmul ran x @ W
// 1.3-3.8x faster than x @ W^T over HF's [out, in] layout for the 8 rows of a decode step, and 1.03-1.30x for
// a 1,024-row scoring pass (scripts/bench-matmul-layout.ts; docs/benchmarks.md `## eval, added by hand`).
// Inference on those copies runs stackedLayerForward: the same arithmetic in fewer kernels (the attached LoRA or
// the bank per group, RoPE over q|k|v at once, keys cached transposed); layerForward is the general path, which
// training and `stackedProjections = false` take.
import * as tf from '@tensorflow/tfjs';
import type { HfModelConfig } from '@dnd/core';
import type { LoraState } from './lora';
import type { LoraBank } from './lora-bank';
import { GROUPS, projShape, type BaseWeights, type GroupName, type ProjName } from './weights';

/**
 * Per-layer cached keys (post-RoPE) and values. The stacked inference path keeps keys transposed, [B, KV, HD, P]
 * (the scores' matmul then needs no transposed operand); a cache is read
 * back by the path that made it (the same model settings within one generate call).
 */
export interface KVCache {
  k: tf.Tensor4D[]; // per layer [B, KV, P, HD]; [B, KV, HD, P] from stackedLayerForward
  v: tf.Tensor4D[]; // per layer [B, KV, P, HD]
}

/** What the forward pass reads. */
export interface ModelParts {
  cfg: HfModelConfig;
  w: BaseWeights;
  lora: LoraState | null;
  /** Per-row LoRA of K adapters (adapter-major rows); while set, it replaces `lora`. */
  bank?: LoraBank | null;
  ropeCos: tf.Tensor2D; // [Pmax, HD]
  ropeSin: tf.Tensor2D; // [Pmax, HD]
  /** Per layer, q|k|v and gate|up stacked (fuseProjections); null or absent: one matmul per projection. */
  fused?: FusedLayer[] | null;
  /** Per layer, the attached LoRA's factors stacked the same way (fuseLora); read with `fused` and without a bank only. */
  fusedLora?: FusedLoraLayer[] | null;
  /** [HD, HD] signed permutation: t @ ropeRot is HF's rotate_half(t), exactly (inference only). */
  ropeRot?: tf.Tensor2D | null;
  /** cfg.rmsNormEps as a tensor made once (a number becomes a new scalar tensor at every use). */
  normEps?: tf.Scalar | null;
}

/** One group's LoRA factors for inference: x [N, in] @ A [in, n r] @ B [n r, out] is the group's summed LoRA term. */
export interface LoraFactors {
  A: tf.Tensor2D; // [in, n r]: the targeted modules' A^T side by side
  B: tf.Tensor2D; // [n r, out]: block-diagonal, module j's (scaling B_j)^T at its rank rows and output columns, zeros elsewhere
}

/** One layer's single-adapter LoRA grouped as FusedLayer's projections; a group none of whose modules the adapter targets is absent. */
export type FusedLoraLayer = Partial<Record<GroupName, LoraFactors>>;

/** One layer's projection weights for inference, transposed to [in, out]; those that read the same input stacked column-wise. */
export interface FusedLayer {
  qkv: tf.Tensor2D; // [D, H*HD + 2*KV*HD]
  o: tf.Tensor2D; // [H*HD, D]
  gateUp: tf.Tensor2D; // [D, 2F]
  down: tf.Tensor2D; // [F, D]
  qkvBias: tf.Tensor1D | null; // [H*HD + 2*KV*HD], the q|k|v biases side by side (Qwen2), null without them
}

/** Forward options. */
export interface ForwardOptions {
  cache?: KVCache;
  /** Apply LoRA dropout (training). */
  training?: boolean;
  /** Seed of LoRA dropout masks. */
  dropoutSeed?: number;
}

function rmsNorm(x: tf.Tensor2D, w: tf.Tensor1D, eps: number | tf.Scalar): tf.Tensor2D { // x [N, D]
  return x.mul(x.square().mean(-1, true).add(eps).rsqrt()).mul(w) as tf.Tensor2D;
}

function rotateHalf(x: tf.Tensor4D, rot?: tf.Tensor2D | null): tf.Tensor4D { // [B, T, h, HD]
  // One matmul by the signed permutation instead of split, neg and concat: the same values, a third of the kernels.
  if (rot) return tf.matMul(x.reshape([-1, x.shape[3]]), rot).reshape(x.shape);
  const [x1, x2] = tf.split(x, 2, -1) as [tf.Tensor4D, tf.Tensor4D];
  return tf.concat([x2.neg(), x1], -1);
}

/** The [HD, HD] matrix R with t @ R = rotate_half(t) = [-t2, t1]. */
export function rotateHalfMatrix(HD: number): tf.Tensor2D {
  const half = HD / 2;
  const r = new Float32Array(HD * HD);
  for (let j = 0; j < half; j++) { r[(j + half) * HD + j] = -1; r[j * HD + j + half] = 1; }
  return tf.tensor2d(r, [HD, HD]);
}

function linear(m: ModelParts, layer: number, proj: ProjName, x: tf.Tensor2D, bias: tf.Tensor1D | null, opts: ForwardOptions, seedOff: number): tf.Tensor2D {
  let y = tf.matMul(x, m.w.layers[layer]![proj], false, true) as tf.Tensor2D; // [N, out]
  if (bias) y = y.add(bias) as tf.Tensor2D;
  if (m.bank) {
    const d = m.bank.delta(layer, proj, x); // [N, out]
    return d ? y.add(d) as tf.Tensor2D : y;
  }
  const lora = m.lora && !m.lora.merged ? m.lora.get(layer, proj) : undefined;
  if (lora) {
    const p = m.lora!.config.loraDropout;
    const xin = opts.training && p > 0 ? tf.dropout(x, p, undefined, (opts.dropoutSeed ?? 0) * 7919 + seedOff) : x;
    y = y.add(tf.matMul(tf.matMul(xin, lora.A, false, true), lora.B, false, true).mul(m.lora!.scaling)) as tf.Tensor2D;
  }
  return y;
}

/** Per-call inputs every layer reads. */
export interface LayerContext {
  B: number;
  T: number;
  cos: tf.Tensor4D; // [B, T, 1, HD]
  sin: tf.Tensor4D; // [B, T, 1, HD]
  bias: tf.Tensor4D; // [B, 1, G*T, S]
  /** Inference on the stacked copies: RoPE tables over q|k|v side by side, [N, (H + 2 KV) HD]; q's part times 1/sqrt(HD), v's 1 (cos) and 0 (sin). */
  qkvCos?: tf.Tensor2D;
  qkvSin?: tf.Tensor2D;
}

/**
 * Token embeddings and RoPE tables for the new tokens.
 * @param ids [B, T] int32 token ids; @param pos [B, T] int32 RoPE positions;
 * @param bias [B, 1, G*T, S] additive mask (0 keep, -1e9 drop), rows repeated per query group (see maskBias).
 */
export function embed(m: ModelParts, ids: tf.Tensor2D, pos: tf.Tensor2D, bias: tf.Tensor4D, pastLength = 0, stacked = false): { x: tf.Tensor2D; ctx: LayerContext } {
  const { cfg } = m;
  const [B, T] = ids.shape;
  const G = cfg.numAttentionHeads / cfg.numKeyValueHeads; const HD = cfg.headDim;
  const S = pastLength + T;
  if (bias.shape[0] !== B || bias.shape[2] !== G * T || bias.shape[3] !== S) throw new Error(`forwardHidden: mask bias [${bias.shape}] does not fit [${B}, 1, ${G * T}, ${S}]`);
  const cos = tf.gather(m.ropeCos, pos.flatten()).reshape([B, T, 1, HD]) as tf.Tensor4D;
  const sin = tf.gather(m.ropeSin, pos.flatten()).reshape([B, T, 1, HD]) as tf.Tensor4D;
  const x = tf.gather(m.w.embed, ids.flatten()) as tf.Tensor2D; // [N, D]
  if (!stacked) return { x, ctx: { B, T, cos, sin, bias } };
  const H = cfg.numAttentionHeads; const KV = cfg.numKeyValueHeads; const N = B * T;
  const table = (t: tf.Tensor4D, vPart: number): tf.Tensor2D => {
    const t2 = t.reshape([N, HD]) as tf.Tensor2D;
    return tf.concat([tf.tile(t2.mul(1 / Math.sqrt(HD)), [1, H]), tf.tile(t2, [1, KV]), tf.fill([N, KV * HD], vPart)], 1) as tf.Tensor2D;
  };
  return { x, ctx: { B, T, cos, sin, bias, qkvCos: table(cos, 1), qkvSin: table(sin, 0) } };
}

/**
 * One decoder layer: x [N, D] -> x [N, D], with this call's keys and values ([B, KV, S, HD], cache included).
 * Not wrapped in tidy: callers scope it.
 */
export function layerForward(m: ModelParts, l: number, x: tf.Tensor2D, c: LayerContext, opts: ForwardOptions = {}): { x: tf.Tensor2D; k: tf.Tensor4D; v: tf.Tensor4D } {
  // Training keeps one matmul per projection: its backward ran ~8% slower stacked.
  const fl = opts.training ? undefined : m.fused?.[l];
  if (fl && c.qkvCos && m.ropeRot) return stackedLayerForward(m, l, x, c, fl, opts.cache);
  const { cfg, w } = m;
  const { B, T } = c;
  const H = cfg.numAttentionHeads; const KV = cfg.numKeyValueHeads; const G = H / KV; const HD = cfg.headDim;
  const rot = opts.training ? null : m.ropeRot;
  const rope = (t: tf.Tensor4D): tf.Tensor4D => t.mul(c.cos).add(rotateHalf(t, rot).mul(c.sin));
  const lw = w.layers[l]!;
  const so = l * 16;
  const h = rmsNorm(x, lw.inputNorm, m.normEps ?? cfg.rmsNormEps);
  const q = rope(linear(m, l, 'q_proj', h, lw.q_bias, opts, so).reshape([B, T, H, HD]))
    .transpose([0, 2, 1, 3]).reshape([B, KV, G * T, HD]) as tf.Tensor4D;
  let k = rope(linear(m, l, 'k_proj', h, lw.k_bias, opts, so + 1).reshape([B, T, KV, HD])).transpose([0, 2, 1, 3]) as tf.Tensor4D;
  let v = linear(m, l, 'v_proj', h, lw.v_bias, opts, so + 2).reshape([B, T, KV, HD]).transpose([0, 2, 1, 3]) as tf.Tensor4D;
  if (opts.cache) {
    k = tf.concat([opts.cache.k[l]!, k], 2);
    v = tf.concat([opts.cache.v[l]!, v], 2);
  }
  const probs = tf.softmax(tf.matMul(q, k, false, true).mul(1 / Math.sqrt(HD)).add(c.bias)); // [B, KV, G*T, S]
  const ctx = tf.matMul(probs, v).reshape([B, H, T, HD]).transpose([0, 2, 1, 3]).reshape([B * T, H * HD]) as tf.Tensor2D;
  const x1 = x.add(linear(m, l, 'o_proj', ctx, lw.o_bias, opts, so + 3)) as tf.Tensor2D;
  const h2 = rmsNorm(x1, lw.postNorm, m.normEps ?? cfg.rmsNormEps);
  const gate = linear(m, l, 'gate_proj', h2, null, opts, so + 4);
  const up = linear(m, l, 'up_proj', h2, null, opts, so + 5);
  const act = tf.mul(gate.mul(tf.sigmoid(gate)), up) as tf.Tensor2D;
  const x2 = x1.add(linear(m, l, 'down_proj', act, null, opts, so + 6)) as tf.Tensor2D;
  return { x: x2, k, v };
}

/**
 * layerForward for inference on the stacked copies, in as few kernels as the same arithmetic allows (a decode step
 * is a few rows, so its time goes to per-kernel overhead as much as to the products): each group's LoRA term
 * (attached adapter or bank) as one matmul pair; RoPE over q|k|v at once (v's columns times 1 plus 0: unchanged),
 * with 1/sqrt(HD) folded into q's tables; for one new token per row, reshapes where the general case transposes;
 * the residual, the projection and its LoRA term summed by one addN.
 */
function stackedLayerForward(m: ModelParts, l: number, x: tf.Tensor2D, c: LayerContext, fl: FusedLayer, cache?: KVCache): { x: tf.Tensor2D; k: tf.Tensor4D; v: tf.Tensor4D } {
  const { cfg } = m;
  const { B, T } = c;
  const H = cfg.numAttentionHeads; const KV = cfg.numKeyValueHeads; const G = H / KV; const HD = cfg.headDim; const F = cfg.intermediateSize;
  const N = B * T; const W = (H + 2 * KV) * HD;
  const lw = m.w.layers[l]!;
  const lf = m.bank ? undefined : m.fusedLora?.[l];
  const delta = (g: GroupName, inp: tf.Tensor2D): tf.Tensor2D | null => {
    if (m.bank) return m.bank.groupDelta(l, g, inp);
    const f = lf?.[g];
    return f ? tf.matMul(tf.matMul(inp, f.A), f.B) as tf.Tensor2D : null;
  };
  const sum = (terms: Array<tf.Tensor2D | null>): tf.Tensor2D => {
    const t = terms.filter((e): e is tf.Tensor2D => e !== null);
    return t.length === 1 ? t[0]! : tf.addN(t) as tf.Tensor2D;
  };
  const h = rmsNorm(x, lw.inputNorm, m.normEps ?? cfg.rmsNormEps);
  let qkv = sum([tf.matMul(h, fl.qkv) as tf.Tensor2D, delta('qkv', h)]);
  if (fl.qkvBias) qkv = qkv.add(fl.qkvBias) as tf.Tensor2D;
  const rot = tf.matMul(qkv.reshape([N * (H + 2 * KV), HD]), m.ropeRot!).reshape([N, W]);
  qkv = qkv.mul(c.qkvCos!).add(rot.mul(c.qkvSin!)) as tf.Tensor2D; // q scaled by 1/sqrt(HD), k rotated, v as it was
  const [q2, k2, v2] = tf.split(qkv, [H * HD, KV * HD, KV * HD], 1) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
  const q = (T === 1 ? q2.reshape([B, KV, G, HD]) : q2.reshape([B, T, H, HD]).transpose([0, 2, 1, 3]).reshape([B, KV, G * T, HD])) as tf.Tensor4D;
  let k = (T === 1 ? k2.reshape([B, KV, HD, 1]) : k2.reshape([B, T, KV, HD]).transpose([0, 2, 3, 1])) as tf.Tensor4D; // keys transposed
  let v = (T === 1 ? v2.reshape([B, KV, 1, HD]) : v2.reshape([B, T, KV, HD]).transpose([0, 2, 1, 3])) as tf.Tensor4D;
  if (cache) {
    const ck = cache.k[l]!;
    if (ck.shape[2] !== HD || ck.shape[3] !== cache.v[l]!.shape[2]) throw new Error(`stackedLayerForward: layer ${l}'s cached keys [${ck.shape}] are not transposed ([B, KV, HD, P])`);
    k = tf.concat([ck, k], 3);
    v = tf.concat([cache.v[l]!, v], 2);
  }
  const att = tf.matMul(tf.softmax(tf.matMul(q, k).add(c.bias)), v); // [B, KV, G*T, HD]
  const ctx = (T === 1 ? att.reshape([N, H * HD]) : att.reshape([B, H, T, HD]).transpose([0, 2, 1, 3]).reshape([N, H * HD])) as tf.Tensor2D;
  const o = tf.matMul(ctx, fl.o) as tf.Tensor2D;
  const x1 = sum([x, lw.o_bias ? o.add(lw.o_bias) as tf.Tensor2D : o, delta('o', ctx)]);
  const h2 = rmsNorm(x1, lw.postNorm, m.normEps ?? cfg.rmsNormEps);
  const [gate, up] = tf.split(sum([tf.matMul(h2, fl.gateUp) as tf.Tensor2D, delta('gateUp', h2)]), [F, F], 1) as [tf.Tensor2D, tf.Tensor2D];
  const act = gate.mul(tf.sigmoid(gate)).mul(up) as tf.Tensor2D;
  const x2 = sum([x1, tf.matMul(act, fl.down) as tf.Tensor2D, delta('down', act)]);
  return { x: x2, k, v };
}

/** Each layer's projection weights transposed to [in, out], q|k|v and gate|up stacked (same products, fewer and faster matmuls). Kept outside any tidy. */
export function fuseProjections(w: BaseWeights): FusedLayer[] {
  return w.layers.map((lw) => {
    const f = tf.tidy(() => ({
      qkv: tf.keep(tf.concat([lw.q_proj, lw.k_proj, lw.v_proj], 0).transpose<tf.Tensor2D>()),
      o: tf.keep(lw.o_proj.transpose<tf.Tensor2D>()),
      gateUp: tf.keep(tf.concat([lw.gate_proj, lw.up_proj], 0).transpose<tf.Tensor2D>()),
      down: tf.keep(lw.down_proj.transpose<tf.Tensor2D>()),
    }));
    const qkvBias = lw.q_bias && lw.k_bias && lw.v_bias ? tf.concat([lw.q_bias, lw.k_bias, lw.v_bias]) : null;
    return { ...f, qkvBias };
  });
}

/**
 * The attached LoRA's factors for inference, grouped as fuseProjections groups the base (q|k|v, o, gate|up, down):
 * A^T of a group's targeted modules side by side, B^T block-diagonal with the scaling folded in, so a group's LoRA
 * term is two matmuls and one add however many of its modules the adapter wraps (seven modules: 14 matmuls, 7
 * scalings and 7 adds a layer become 8 matmuls and 4 adds). The zero blocks add exact zeros. Kept outside any tidy;
 * the caller disposes them (disposeFusedLora) and rebuilds them whenever the adapter's weights may have changed.
 */
export function fuseLora(cfg: HfModelConfig, lora: LoraState): FusedLoraLayer[] {
  const out: FusedLoraLayer[] = [];
  for (let l = 0; l < cfg.numHiddenLayers; l++) {
    const layer: FusedLoraLayer = {};
    tf.tidy(() => {
      for (const [g, projs] of GROUPS) {
        const widths = projs.map((p) => projShape(cfg, p)[0]);
        const total = widths.reduce((a, b) => a + b, 0);
        const As: tf.Tensor2D[] = []; const Bs: tf.Tensor2D[] = [];
        let off = 0;
        projs.forEach((p, j) => {
          const pair = lora.get(l, p);
          if (pair) {
            As.push(pair.A.transpose<tf.Tensor2D>()); // [in, r]
            Bs.push(tf.pad(pair.B.transpose<tf.Tensor2D>().mul<tf.Tensor2D>(lora.scaling), [[0, 0], [off, total - off - widths[j]!]])); // [r, total]
          }
          off += widths[j]!;
        });
        if (As.length) layer[g] = { A: tf.keep(tf.concat(As, 1)), B: tf.keep(tf.concat(Bs, 0)) };
      }
    });
    out.push(layer);
  }
  return out;
}

/** Frees fuseLora's tensors. */
export function disposeFusedLora(f: FusedLoraLayer[] | null | undefined): void {
  for (const layer of f ?? []) for (const g of Object.values(layer)) { g.A.dispose(); g.B.dispose(); }
}

/** The final RMSNorm: [N, D] -> [N, D]. */
export function finalNorm(m: ModelParts, x: tf.Tensor2D): tf.Tensor2D {
  return rmsNorm(x, m.w.norm, m.normEps ?? m.cfg.rmsNormEps);
}

/**
 * Runs the decoder on new tokens, returning the final-normed hidden states [B, T, D] and the extended cache.
 * Arguments as for `embed`.
 */
export function forwardHidden(m: ModelParts, ids: tf.Tensor2D, pos: tf.Tensor2D, bias: tf.Tensor4D, opts: ForwardOptions = {}): { hidden: tf.Tensor3D; cache: KVCache } {
  const e = embed(m, ids, pos, bias, opts.cache?.v[0]?.shape[2] ?? 0, !opts.training && !!m.fused && !!m.ropeRot);
  let x = e.x;
  const cache: KVCache = { k: [], v: [] };
  for (let l = 0; l < m.cfg.numHiddenLayers; l++) {
    // One tidy per layer frees its intermediates at once (tensors a gradient tape saved are kept by tfjs).
    const xin = x;
    const out = tf.tidy(() => layerForward(m, l, xin, e.ctx, opts));
    x = out.x;
    cache.k.push(out.k); cache.v.push(out.v);
  }
  const hidden = finalNorm(m, x).reshape([e.ctx.B, e.ctx.T, m.cfg.hiddenSize]) as tf.Tensor3D;
  return { hidden, cache };
}

/** Logits for hidden rows: [N, D] -> [N, V] (tied head uses the embedding). */
export function headLogits(m: ModelParts, rows: tf.Tensor2D): tf.Tensor2D {
  return tf.matMul(rows, m.w.lmHead ?? m.w.embed, false, true);
}

/**
 * The same logits vocab-major: [N, D] -> [V, N] (column i is row i's logits). TensorFlow's CPU matmul ran
 * rows @ head^T 6-8x slower for 2-7 rows and 3-5x slower for 128 or more than head @ rows^T, and within 0.9-1.3x
 * of it elsewhere (scripts/bench-head-layout.ts): generation, whose rows are the batch's, uses this one.
 */
export function headLogitsVocabMajor(m: ModelParts, rows: tf.Tensor2D): tf.Tensor2D {
  return tf.matMul(m.w.lmHead ?? m.w.embed, rows, false, true);
}

/**
 * Additive attention bias for T new queries over S = P + T keys. `keyMask` [B][S] is 1 for real tokens;
 * query t (absolute index P + t) sees key j iff j <= P + t and keyMask[b][j]. Rows repeated G times.
 * Returns [B, 1, G*T, S].
 */
export function maskBias(keyMask: Uint8Array[], T: number, G: number): tf.Tensor4D {
  const B = keyMask.length; const S = keyMask[0]!.length; const P = S - T;
  const out = new Float32Array(B * G * T * S);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      for (let j = 0; j < S; j++) {
        const val = j <= P + t && keyMask[b]![j] ? 0 : -1e9;
        if (val === 0) continue;
        for (let g = 0; g < G; g++) out[((b * G + g) * T + t) * S + j] = val;
      }
    }
  }
  return tf.tensor4d(out, [B, 1, G * T, S]);
}
