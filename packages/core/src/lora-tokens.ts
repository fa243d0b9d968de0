// The ONE mapping between a PEFT LoRA adapter and DnD's token grids (method §4), shared by the dataset
// (targets, loss weights) and the decoder (de-tokenising what it generates). Pure Float32Array math,
// no tensors. Not the adapter file format (peft.ts) and not the decoder.
//
// Dimensions: r = LoRA rank, w = chunk width, Nw = number of tokens, (r+2) x (w+2) = one token grid,
//             in / out = a wrapped Linear's input / output features, K = number of checkpoints.
// Order: layer 0..L-1 -> q, k, v, o, up, gate, down -> all A-chunks, then all B-chunks.
// A [r, in] is cut along `in` into (r x w) chunks; B [out, r] is transposed to [r, out] and cut along `out`.
// Each chunk X is z-normalised, (X - mu) / sigma, in the top-left r x w cells; the stats fill the border:
// the last 2 rows hold [m', s', m', s', ...] and the last 2 columns of every row hold [m', s'], with
// m' = 8 mu and s' = ln(0.9 sigma + 0.1) + 1.6. Decoding averages every border copy.
//
// Degenerate chunks (a deliberate, documented deviation from the reference code, which would emit NaN):
// sigma = 0 (e.g. lora_B is all zeros at init) -> the data cells hold X - mu = 0 and the border encodes
// sigma = 0 (the continuous limit, s' = ln 0.1 + 1.6), so decoding gives back mu exactly. A one-element
// chunk (r = w = 1) has no unbiased std: sigma = 1, as in the reference.
// Precision: the fp32 border limits sigma to ~1e-7 * (0.9 sigma + 0.1) / 0.9 absolute, so round trips are
// exact to ~1e-6 relative for chunks with sigma >~ 0.02, and to ~5e-9 absolute per unit z for tiny sigma.
import { validateLoraAdapter, peftTensorName, type LoraAdapter, type LoraAdapterConfig, type LoraModule } from './peft';
import { assertShape, type TensorData } from './tensor-data';

/** Token order of the projections inside a layer (method §4.1: q, k, v, o, up, gate, down). */
export const LORA_TOKEN_MODULE_ORDER: readonly LoraModule[] = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'up_proj', 'gate_proj', 'down_proj'];
/** m' = TOKEN_MEAN_SCALE * mu (the reference's `mean_scale`). */
export const TOKEN_MEAN_SCALE = 8;
/** s' = ln(0.9 sigma + 0.1) + TOKEN_STD_BIAS (the reference's `std_bias`). */
export const TOKEN_STD_BIAS = 1.6;

/** One wrapped projection: lora_A is [r, inFeatures], lora_B is [outFeatures, r]. */
export interface LoraModuleShape {
  layer: number;
  module: LoraModule;
  inFeatures: number;
  outFeatures: number;
}

/** Where one projection's chunks live in the token sequence. */
export interface LoraTokenEntry extends LoraModuleShape {
  /** PEFT names of the pair. */
  aName: string;
  bName: string;
  /** First token index of the A-chunks and their count (inFeatures / w). */
  aStart: number;
  aTokens: number;
  /** First token index of the B-chunks and their count (outFeatures / w). */
  bStart: number;
  bTokens: number;
}

/** The token layout for one LoRA structure (JSON-serialisable: record it with every run). */
export interface LoraTokenLayout {
  rank: number; // r
  width: number; // w
  numTokens: number; // Nw
  tokenShape: [number, number, number]; // [Nw, r+2, w+2]
  entries: LoraTokenEntry[];
}

/** Shapes of a Llama / Qwen2 family model, for layouts computed without an adapter in hand. */
export interface LlamaLoraShapeSpec {
  numLayers: number;
  hiddenSize: number;
  intermediateSize: number;
  /** num_key_value_heads * head_dim (k/v projection output). */
  kvOutSize: number;
  targetModules: readonly string[];
}

/**
 * The projections of a Llama / Qwen2 model that LoRA wraps, in token order.
 * @example llamaLoraShapes({ numLayers: 24, hiddenSize: 896, intermediateSize: 4864, kvOutSize: 128, targetModules: LORA_TOKEN_MODULE_ORDER })
 */
export function llamaLoraShapes(spec: LlamaLoraShapeSpec): LoraModuleShape[] {
  const { numLayers: L, hiddenSize: h, intermediateSize: f, kvOutSize: kv } = spec;
  const io: Record<LoraModule, [number, number]> = {
    q_proj: [h, h], k_proj: [h, kv], v_proj: [h, kv], o_proj: [h, h], up_proj: [h, f], gate_proj: [h, f], down_proj: [f, h],
  };
  for (const m of spec.targetModules) if (!(m in io)) throw new Error(`llamaLoraShapes: unknown target module ${JSON.stringify(m)}`);
  const out: LoraModuleShape[] = [];
  for (let layer = 0; layer < L; layer++) {
    for (const module of LORA_TOKEN_MODULE_ORDER) {
      if (!spec.targetModules.includes(module)) continue;
      const [inFeatures, outFeatures] = io[module];
      out.push({ layer, module, inFeatures, outFeatures });
    }
  }
  return out;
}

function moduleOrder(m: LoraModule): number {
  return LORA_TOKEN_MODULE_ORDER.indexOf(m);
}

/**
 * The token layout: which chunks of which tensor become which token. Throws naming the dimension when
 * `width` does not divide it.
 * @example loraTokenLayout(llamaLoraShapes(qwen05), { rank: 8, width: 128 }).tokenShape // [4296, 10, 130]
 */
export function loraTokenLayout(shapes: readonly LoraModuleShape[], opts: { rank: number; width: number }): LoraTokenLayout {
  const { rank, width } = opts;
  if (!Number.isInteger(rank) || rank < 1) throw new Error(`loraTokenLayout: rank must be an integer >= 1, got ${JSON.stringify(rank)}`);
  if (!Number.isInteger(width) || width < 1) throw new Error(`loraTokenLayout: width must be an integer >= 1, got ${JSON.stringify(width)}`);
  if (shapes.length === 0) throw new Error('loraTokenLayout: no LoRA modules');
  const sorted = [...shapes].sort((a, b) => a.layer - b.layer || moduleOrder(a.module) - moduleOrder(b.module));
  const entries: LoraTokenEntry[] = [];
  let next = 0;
  const seen = new Set<string>();
  for (const s of sorted) {
    const key = `${s.layer}.${s.module}`;
    if (moduleOrder(s.module) < 0) throw new Error(`loraTokenLayout: unknown module ${JSON.stringify(s.module)}`);
    if (seen.has(key)) throw new Error(`loraTokenLayout: layer ${s.layer} ${s.module} listed twice`);
    seen.add(key);
    for (const [dim, v] of [['inFeatures', s.inFeatures], ['outFeatures', s.outFeatures]] as const) {
      if (!Number.isInteger(v) || v < 1 || v % width !== 0) {
        throw new Error(`loraTokenLayout: chunk width ${width} does not divide layer ${s.layer} ${s.module} ${dim} = ${v}; choose a width that divides every LoRA dimension`);
      }
    }
    const aTokens = s.inFeatures / width;
    const bTokens = s.outFeatures / width;
    entries.push({
      layer: s.layer, module: s.module, inFeatures: s.inFeatures, outFeatures: s.outFeatures,
      aName: peftTensorName(s.layer, s.module, 'A'), bName: peftTensorName(s.layer, s.module, 'B'),
      aStart: next, aTokens, bStart: next + aTokens, bTokens,
    });
    next += aTokens + bTokens;
  }
  return { rank, width, numTokens: next, tokenShape: [next, rank + 2, width + 2], entries };
}

/** The layout of an adapter's own structure (its rank, its modules) at chunk width `width`. */
export function loraTokenLayoutOf(adapter: LoraAdapter, width: number): LoraTokenLayout {
  return loraTokenLayout(validateLoraAdapter(adapter, 'loraTokenLayoutOf'), { rank: adapter.config.r, width });
}

// Border cell role: 0 = data, 1 = m' copy, 2 = s' copy. Rows are written first, then the columns.
function borderRole(i: number, j: number, r: number, w: number): number {
  if (j >= w) return j === w ? 1 : 2;
  if (i >= r) return j % 2 === 0 ? 1 : 2;
  return 0;
}

function encodeStd(sigma: number): number {
  return Math.log(0.9 * sigma + 0.1) + TOKEN_STD_BIAS;
}

function decodeStd(s: number): number {
  return (Math.exp(s - TOKEN_STD_BIAS) - 0.1) / 0.9;
}

// Writes one (r x w) chunk of `src` as a normalised token at `out[base ...]`; chunk element (i, j) is
// src[off + i * rowStride + j * colStride] (A: row-major slice; B^T: a strided view of B).
function writeToken(out: Float32Array, base: number, r: number, w: number, src: Float32Array, off: number, rowStride: number, colStride: number, what: string): void {
  const n = r * w;
  let sum = 0;
  for (let i = 0; i < r; i++) {
    for (let j = 0, p = off + i * rowStride; j < w; j++, p += colStride) {
      const v = src[p]!;
      if (!Number.isFinite(v)) throw new Error(`tokenizeLora: ${what} holds a non-finite value (${v}) at chunk row ${i}, column ${j}`);
      sum += v;
    }
  }
  const mu = sum / n;
  let ss = 0;
  for (let i = 0; i < r; i++) for (let j = 0, p = off + i * rowStride; j < w; j++, p += colStride) { const d = src[p]! - mu; ss += d * d; }
  const sigma = n > 1 ? Math.sqrt(ss / (n - 1)) : 1; // unbiased; NaN (one element) -> 1 as in the reference
  const divisor = sigma > 0 ? sigma : 1; // sigma = 0: data cells are X - mu = 0 (see file header)
  const W = w + 2;
  for (let i = 0; i < r; i++) {
    for (let j = 0, p = off + i * rowStride, q = base + i * W; j < w; j++, p += colStride, q++) out[q] = (src[p]! - mu) / divisor;
  }
  const m = TOKEN_MEAN_SCALE * mu;
  const s = encodeStd(sigma);
  for (let i = 0; i < r + 2; i++) for (let j = 0; j < W; j++) {
    const role = borderRole(i, j, r, w);
    if (role !== 0) out[base + i * W + j] = role === 1 ? m : s;
  }
}

// Reads one token back: returns mu and sigma from the border averages.
function readStats(tok: Float32Array, base: number, r: number, w: number): { mu: number; sigma: number } {
  const W = w + 2;
  let sm = 0, cm = 0, ss = 0, cs = 0;
  for (let i = 0; i < r + 2; i++) for (let j = 0; j < W; j++) {
    const role = borderRole(i, j, r, w);
    if (role === 1) { sm += tok[base + i * W + j]!; cm++; } else if (role === 2) { ss += tok[base + i * W + j]!; cs++; }
  }
  return { mu: sm / cm / TOKEN_MEAN_SCALE, sigma: decodeStd(ss / cs) };
}

function checkAgainstLayout(adapter: LoraAdapter, layout: LoraTokenLayout): void {
  const { r } = adapter.config;
  if (r !== layout.rank) throw new Error(`tokenizeLora: adapter has rank r=${r} but the layout has rank ${layout.rank} (a zoo with mixed ranks?)`);
  const expected = new Set<string>();
  for (const e of layout.entries) { expected.add(e.aName); expected.add(e.bName); }
  for (const name of adapter.tensors.keys()) {
    if (!expected.has(name)) throw new Error(`tokenizeLora: adapter tensor "${name}" is not in the token layout (a zoo with mixed target modules or layers?)`);
  }
  for (const e of layout.entries) {
    const a = adapter.tensors.get(e.aName);
    const b = adapter.tensors.get(e.bName);
    if (!a || !b) throw new Error(`tokenizeLora: adapter lacks "${a ? e.bName : e.aName}" that the layout needs (a zoo with mixed target modules?)`);
    assertShape(a, [r, e.inFeatures], `tokenizeLora: ${e.aName}`);
    assertShape(b, [e.outFeatures, r], `tokenizeLora: ${e.bName}`);
  }
}

/**
 * LoRA adapter -> token grids [Nw, r+2, w+2] (fp32), per `layout`. Throws when the adapter's rank,
 * modules or shapes differ from the layout.
 * @example const layout = loraTokenLayoutOf(adapter, 64); const t = tokenizeLora(adapter, layout); t.shape // [Nw, r+2, 66]
 */
export function tokenizeLora(adapter: LoraAdapter, layout: LoraTokenLayout): TensorData {
  checkAgainstLayout(adapter, layout);
  const { rank: r, width: w, numTokens } = layout;
  const tokSize = (r + 2) * (w + 2);
  const out = new Float32Array(numTokens * tokSize);
  for (const e of layout.entries) {
    const A = adapter.tensors.get(e.aName)!.data; // [r, in]
    const B = adapter.tensors.get(e.bName)!.data; // [out, r]
    const inF = e.inFeatures;
    for (let c = 0; c < e.aTokens; c++) {
      writeToken(out, (e.aStart + c) * tokSize, r, w, A, c * w, inF, 1, `${e.aName} chunk ${c}`); // A[i, c*w+j]
    }
    for (let c = 0; c < e.bTokens; c++) {
      writeToken(out, (e.bStart + c) * tokSize, r, w, B, c * w * r, 1, r, `${e.bName} chunk ${c}`); // B^T[i, c*w+j] = B[c*w+j, i]
    }
  }
  return { data: out, shape: [numTokens, r + 2, w + 2] };
}

/**
 * Token grids [Nw, r+2, w+2] -> LoRA adapter with PEFT names, per `layout` (border copies averaged).
 * `config.r` must equal the layout's rank; config.targetModules is taken as given.
 * @example const adapter = detokenizeLora(generated, layout, zooConfig); writePeftAdapter('out/gen-0', adapter);
 */
export function detokenizeLora(tokens: TensorData, layout: LoraTokenLayout, config: LoraAdapterConfig): LoraAdapter {
  const { rank: r, width: w, numTokens } = layout;
  assertShape(tokens, [numTokens, r + 2, w + 2], 'detokenizeLora: tokens');
  if (config.r !== r) throw new Error(`detokenizeLora: config.r=${config.r} but the layout has rank ${r}`);
  const W = w + 2;
  const tokSize = (r + 2) * W;
  const t = tokens.data;
  const tensors = new Map<string, TensorData>();
  for (const e of layout.entries) {
    const A = new Float32Array(r * e.inFeatures); // [r, in]
    const B = new Float32Array(e.outFeatures * r); // [out, r]
    for (let c = 0; c < e.aTokens; c++) {
      const base = (e.aStart + c) * tokSize;
      const { mu, sigma } = readStats(t, base, r, w);
      for (let i = 0; i < r; i++) for (let j = 0; j < w; j++) A[i * e.inFeatures + c * w + j] = t[base + i * W + j]! * sigma + mu;
    }
    for (let c = 0; c < e.bTokens; c++) {
      const base = (e.bStart + c) * tokSize;
      const { mu, sigma } = readStats(t, base, r, w);
      for (let i = 0; i < r; i++) for (let j = 0; j < w; j++) B[(c * w + j) * r + i] = t[base + i * W + j]! * sigma + mu;
    }
    tensors.set(e.aName, { data: A, shape: [r, e.inFeatures] });
    tensors.set(e.bName, { data: B, shape: [e.outFeatures, r] });
  }
  return { config: { ...config, targetModules: [...config.targetModules] }, tensors };
}

/**
 * Per-token loss weights for one dataset's checkpoints (method §4.4): the unbiased std across the K
 * checkpoints of every element, divided by nansum|std|, averaged within each token and multiplied by
 * the count of non-NaN elements, so the [Nw] weights average 1. Streams (Welford): the grids may come
 * from a generator. Throws for fewer than 2 grids, mixed shapes, or identical checkpoints (all std 0).
 * @example const w = tokenLossWeights(zooAdapters.map((a) => tokenizeLora(a, layout))); // Float32Array [Nw]
 */
export function tokenLossWeights(tokenGrids: Iterable<TensorData>): Float32Array {
  let shape: number[] | null = null;
  let mean: Float64Array | null = null;
  let m2: Float64Array | null = null;
  let k = 0;
  for (const g of tokenGrids) {
    assertShape(g, shape ?? [-1, -1, -1], `tokenLossWeights: grid ${k}`);
    if (!shape) { shape = [...g.shape]; mean = new Float64Array(g.data.length); m2 = new Float64Array(g.data.length); }
    k++;
    const d = g.data;
    for (let e = 0; e < d.length; e++) {
      const x = d[e]!;
      const delta = x - mean![e]!;
      mean![e]! += delta / k;
      m2![e]! += delta * (x - mean![e]!);
    }
  }
  if (!shape || k < 2) throw new Error(`tokenLossWeights: need at least 2 checkpoints' token grids, got ${k}`);
  const nw = shape[0]!;
  const per = m2!.length / nw;
  let total = 0;
  let count = 0;
  for (let e = 0; e < m2!.length; e++) {
    const s = Math.sqrt(m2![e]! / (k - 1));
    m2![e] = s; // reuse as std
    if (!Number.isNaN(s)) { total += Math.abs(s); count++; }
  }
  if (!(total > 0)) throw new Error(`tokenLossWeights: all ${k} checkpoints are identical (every std is 0); the weights are undefined`);
  const out = new Float32Array(nw);
  for (let t = 0; t < nw; t++) {
    let sum = 0, n = 0;
    for (let e = t * per; e < (t + 1) * per; e++) { const s = m2![e]!; if (!Number.isNaN(s)) { sum += s / total; n++; } }
    out[t] = n > 0 ? (sum / n) * count : 0;
  }
  return out;
}

/** Averages per-dataset weight vectors (the reference's `calculate_mean_criterion_weight`). */
export function meanLossWeights(weights: readonly Float32Array[]): Float32Array {
  if (weights.length === 0) throw new Error('meanLossWeights: no weight vectors');
  const n = weights[0]!.length;
  const out = new Float32Array(n);
  weights.forEach((w, i) => {
    if (w.length !== n) throw new Error(`meanLossWeights: vector ${i} has ${w.length} tokens, vector 0 has ${n} (different layouts?)`);
    for (let t = 0; t < n; t++) out[t]! += w[t]! / weights.length;
  });
  return out;
}
