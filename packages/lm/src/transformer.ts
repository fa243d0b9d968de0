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
import * as tf from '@tensorflow/tfjs';
import type { HfModelConfig } from '@dnd/core';
import type { LoraState } from './lora';
import type { LoraBank } from './lora-bank';
import type { BaseWeights, ProjName } from './weights';

/** Per-layer cached keys (post-RoPE) and values. */
export interface KVCache {
  k: tf.Tensor4D[]; // per layer [B, KV, P, HD]
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
}

/** One layer's projection weights for inference, transposed to [in, out]; those that read the same input stacked column-wise. */
export interface FusedLayer {
  qkv: tf.Tensor2D; // [D, H*HD + 2*KV*HD]
  o: tf.Tensor2D; // [H*HD, D]
  gateUp: tf.Tensor2D; // [D, 2F]
  down: tf.Tensor2D; // [F, D]
}

/** Forward options. */
export interface ForwardOptions {
  cache?: KVCache;
  /** Apply LoRA dropout (training). */
  training?: boolean;
  /** Seed of LoRA dropout masks. */
  dropoutSeed?: number;
}

function rmsNorm(x: tf.Tensor2D, w: tf.Tensor1D, eps: number): tf.Tensor2D { // x [N, D]
  return x.mul(x.square().mean(-1, true).add(eps).rsqrt()).mul(w) as tf.Tensor2D;
}

function rotateHalf(x: tf.Tensor4D): tf.Tensor4D { // [B, T, h, HD]
  const [x1, x2] = tf.split(x, 2, -1) as [tf.Tensor4D, tf.Tensor4D];
  return tf.concat([x2.neg(), x1], -1);
}

function linear(m: ModelParts, layer: number, proj: ProjName, x: tf.Tensor2D, bias: tf.Tensor1D | null, opts: ForwardOptions, seedOff: number, base?: tf.Tensor2D): tf.Tensor2D {
  let y = base ?? tf.matMul(x, m.w.layers[layer]![proj], false, true) as tf.Tensor2D; // [N, out]
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
}

/**
 * Token embeddings and RoPE tables for the new tokens.
 * @param ids [B, T] int32 token ids; @param pos [B, T] int32 RoPE positions;
 * @param bias [B, 1, G*T, S] additive mask (0 keep, -1e9 drop), rows repeated per query group (see maskBias).
 */
export function embed(m: ModelParts, ids: tf.Tensor2D, pos: tf.Tensor2D, bias: tf.Tensor4D, pastLength = 0): { x: tf.Tensor2D; ctx: LayerContext } {
  const { cfg } = m;
  const [B, T] = ids.shape;
  const G = cfg.numAttentionHeads / cfg.numKeyValueHeads; const HD = cfg.headDim;
  const S = pastLength + T;
  if (bias.shape[0] !== B || bias.shape[2] !== G * T || bias.shape[3] !== S) throw new Error(`forwardHidden: mask bias [${bias.shape}] does not fit [${B}, 1, ${G * T}, ${S}]`);
  const cos = tf.gather(m.ropeCos, pos.flatten()).reshape([B, T, 1, HD]) as tf.Tensor4D;
  const sin = tf.gather(m.ropeSin, pos.flatten()).reshape([B, T, 1, HD]) as tf.Tensor4D;
  const x = tf.gather(m.w.embed, ids.flatten()) as tf.Tensor2D; // [N, D]
  return { x, ctx: { B, T, cos, sin, bias } };
}

/**
 * One decoder layer: x [N, D] -> x [N, D], with this call's keys and values ([B, KV, S, HD], cache included).
 * Not wrapped in tidy: callers scope it.
 */
export function layerForward(m: ModelParts, l: number, x: tf.Tensor2D, c: LayerContext, opts: ForwardOptions = {}): { x: tf.Tensor2D; k: tf.Tensor4D; v: tf.Tensor4D } {
  const { cfg, w } = m;
  const { B, T } = c;
  const H = cfg.numAttentionHeads; const KV = cfg.numKeyValueHeads; const G = H / KV; const HD = cfg.headDim;
  const rope = (t: tf.Tensor4D): tf.Tensor4D => t.mul(c.cos).add(rotateHalf(t).mul(c.sin));
  const lw = w.layers[l]!;
  const so = l * 16;
  const h = rmsNorm(x, lw.inputNorm, cfg.rmsNormEps);
  const fl = opts.training ? undefined : m.fused?.[l]; // training keeps one matmul per projection: its backward ran ~8% slower stacked
  const [qb, kb, vb] = fl ? tf.split(tf.matMul(h, fl.qkv), [H * HD, KV * HD, KV * HD], 1) as tf.Tensor2D[] : [];
  const q = rope(linear(m, l, 'q_proj', h, lw.q_bias, opts, so, qb).reshape([B, T, H, HD]))
    .transpose([0, 2, 1, 3]).reshape([B, KV, G * T, HD]) as tf.Tensor4D;
  let k = rope(linear(m, l, 'k_proj', h, lw.k_bias, opts, so + 1, kb).reshape([B, T, KV, HD])).transpose([0, 2, 1, 3]) as tf.Tensor4D;
  let v = linear(m, l, 'v_proj', h, lw.v_bias, opts, so + 2, vb).reshape([B, T, KV, HD]).transpose([0, 2, 1, 3]) as tf.Tensor4D;
  if (opts.cache) {
    k = tf.concat([opts.cache.k[l]!, k], 2);
    v = tf.concat([opts.cache.v[l]!, v], 2);
  }
  const probs = tf.softmax(tf.matMul(q, k, false, true).mul(1 / Math.sqrt(HD)).add(c.bias)); // [B, KV, G*T, S]
  const ctx = tf.matMul(probs, v).reshape([B, H, T, HD]).transpose([0, 2, 1, 3]).reshape([B * T, H * HD]) as tf.Tensor2D;
  const x1 = x.add(linear(m, l, 'o_proj', ctx, lw.o_bias, opts, so + 3, fl && tf.matMul(ctx, fl.o) as tf.Tensor2D)) as tf.Tensor2D;
  const h2 = rmsNorm(x1, lw.postNorm, cfg.rmsNormEps);
  const F = cfg.intermediateSize;
  const [gb, ub] = fl ? tf.split(tf.matMul(h2, fl.gateUp), [F, F], 1) as tf.Tensor2D[] : [];
  const gate = linear(m, l, 'gate_proj', h2, null, opts, so + 4, gb);
  const up = linear(m, l, 'up_proj', h2, null, opts, so + 5, ub);
  const act = tf.mul(gate.mul(tf.sigmoid(gate)), up) as tf.Tensor2D;
  const x2 = x1.add(linear(m, l, 'down_proj', act, null, opts, so + 6, fl && tf.matMul(act, fl.down) as tf.Tensor2D)) as tf.Tensor2D;
  return { x: x2, k, v };
}

/** Each layer's projection weights transposed to [in, out], q|k|v and gate|up stacked (same products, fewer and faster matmuls). Kept outside any tidy. */
export function fuseProjections(w: BaseWeights): FusedLayer[] {
  return w.layers.map((lw) => tf.tidy(() => ({
    qkv: tf.keep(tf.concat([lw.q_proj, lw.k_proj, lw.v_proj], 0).transpose<tf.Tensor2D>()),
    o: tf.keep(lw.o_proj.transpose<tf.Tensor2D>()),
    gateUp: tf.keep(tf.concat([lw.gate_proj, lw.up_proj], 0).transpose<tf.Tensor2D>()),
    down: tf.keep(lw.down_proj.transpose<tf.Tensor2D>()),
  })));
}

/** The final RMSNorm: [N, D] -> [N, D]. */
export function finalNorm(m: ModelParts, x: tf.Tensor2D): tf.Tensor2D {
  return rmsNorm(x, m.w.norm, m.cfg.rmsNormEps);
}

/**
 * Runs the decoder on new tokens, returning the final-normed hidden states [B, T, D] and the extended cache.
 * Arguments as for `embed`.
 */
export function forwardHidden(m: ModelParts, ids: tf.Tensor2D, pos: tf.Tensor2D, bias: tf.Tensor4D, opts: ForwardOptions = {}): { hidden: tf.Tensor3D; cache: KVCache } {
  const e = embed(m, ids, pos, bias, opts.cache?.k[0]?.shape[2] ?? 0);
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
