// How far apart LoRAs are in what they do to the base model: the Frobenius inner product, cosine and
// distance of their weight updates delta W = scale * B A, summed over every wrapped module, and the
// within-set against between-set spread of a group of LoRAs (issue 16's "spread" and in-distribution
// cosine diagnostics). Computed from the factors without forming delta W. Not averaging (lora-average.ts).
//
// Dimensions: r = LoRA rank (may differ between two adapters), in / out = the wrapped Linear's features.
// lora_A [r, in], lora_B [out, r]; delta W [out, in].
import { loraScaling, type LoraAdapter } from '@dnd/core';

/** Module name -> (A [r, in], B [out, r], scale); throws on a lora_A without its lora_B. */
function modules(a: LoraAdapter, label: string): Map<string, { A: Float32Array; B: Float32Array; r: number; inF: number; outF: number; scale: number }> {
  const out = new Map<string, { A: Float32Array; B: Float32Array; r: number; inF: number; outF: number; scale: number }>();
  const scale = loraScaling(a.config);
  for (const [name, t] of a.tensors) {
    if (!name.endsWith('.lora_A.weight')) continue;
    const key = name.slice(0, -'.lora_A.weight'.length);
    const b = a.tensors.get(`${key}.lora_B.weight`);
    if (!b) throw new Error(`lora geometry: ${label} has ${name} but no ${key}.lora_B.weight`);
    const [r, inF] = t.shape as [number, number]; // A [r, in]
    const [outF, rb] = b.shape as [number, number]; // B [out, r]
    if (rb !== r) throw new Error(`lora geometry: ${label} ${key}: lora_A is [${t.shape}] but lora_B is [${b.shape}]`);
    out.set(key, { A: t.data, B: b.data, r, inF, outF, scale });
  }
  if (out.size === 0) throw new Error(`lora geometry: ${label} has no lora_A / lora_B pairs`);
  return out;
}

/**
 * <delta W_a, delta W_b> summed over modules, as sum_ij (B_a^T B_b)_ij (A_a A_b^T)_ij * scale_a * scale_b
 * (r_a x r_b matrices; no [out, in] product is formed). Both adapters must wrap the same modules with the same shapes.
 * @example deltaInner(a, a) // squared Frobenius norm of a's update
 */
export function deltaInner(a: LoraAdapter, b: LoraAdapter, labels: [string, string] = ['a', 'b']): number {
  const ma = modules(a, labels[0]), mb = modules(b, labels[1]);
  if (ma.size !== mb.size) throw new Error(`lora geometry: ${labels[0]} wraps ${ma.size} modules, ${labels[1]} ${mb.size}`);
  let total = 0;
  for (const [key, x] of ma) {
    const y = mb.get(key);
    if (!y) throw new Error(`lora geometry: ${labels[1]} has no ${key}`);
    if (x.inF !== y.inF || x.outF !== y.outF) throw new Error(`lora geometry: ${key} is [${x.outF}, ${x.inF}] in ${labels[0]} but [${y.outF}, ${y.inF}] in ${labels[1]}`);
    let s = 0;
    for (let i = 0; i < x.r; i++) {
      for (let j = 0; j < y.r; j++) {
        let bb = 0; // (B_a^T B_b)_ij = sum_o B_a[o, i] B_b[o, j]
        for (let o = 0; o < x.outF; o++) bb += x.B[o * x.r + i]! * y.B[o * y.r + j]!;
        let aa = 0; // (A_a A_b^T)_ij = sum_k A_a[i, k] A_b[j, k]
        for (let k = 0; k < x.inF; k++) aa += x.A[i * x.inF + k]! * y.A[j * y.inF + k]!;
        s += bb * aa;
      }
    }
    total += s * x.scale * y.scale;
  }
  return total;
}

/**
 * Cosine of two LoRAs' updates (1 = the same direction, 0 = orthogonal); 0 when either update is zero.
 * @example deltaCosine(generatedForArc, arcOwnLora) // in-distribution diagnostic
 */
export function deltaCosine(a: LoraAdapter, b: LoraAdapter, labels: [string, string] = ['a', 'b']): number {
  const ab = deltaInner(a, b, labels), aa = deltaInner(a, a, [labels[0], labels[0]]), bb = deltaInner(b, b, [labels[1], labels[1]]);
  return aa > 0 && bb > 0 ? ab / Math.sqrt(aa * bb) : 0;
}

/** Frobenius distance ||delta W_a - delta W_b|| over all modules. @example deltaDistance(a, b) */
export function deltaDistance(a: LoraAdapter, b: LoraAdapter, labels: [string, string] = ['a', 'b']): number {
  const d2 = deltaInner(a, a, [labels[0], labels[0]]) + deltaInner(b, b, [labels[1], labels[1]]) - 2 * deltaInner(a, b, labels);
  return Math.sqrt(Math.max(0, d2));
}

/** Mean pairwise distance of LoRAs within each group and between groups, and their ratio. */
export interface LoraSpread {
  /** Per group: mean distance over its pairs (null with fewer than two LoRAs). */
  within: { group: string; count: number; meanDistance: number | null }[];
  /** Mean distance over all pairs from different groups (null with fewer than two groups). */
  between: number | null;
  /** between / mean of the within values: near 1 when the groups are no further apart than their own members. */
  ratio: number | null;
}

/**
 * Spread of LoRAs grouped by set (e.g. the K generated LoRAs per set): if LoRAs generated for different sets
 * are no further apart than those generated for one set, the generator is not separating the sets.
 * Uses the Gram matrix of all updates once (n (n + 1) / 2 inner products).
 * @example loraSpread(new Map([['ARC-Easy', genArc], ['piqa', genPiqa]])).ratio
 */
export function loraSpread(groups: ReadonlyMap<string, readonly LoraAdapter[]>): LoraSpread {
  const all: { group: string; a: LoraAdapter; label: string }[] = [];
  for (const [g, xs] of groups) xs.forEach((a, i) => all.push({ group: g, a, label: `${g}#${i}` }));
  const n = all.length;
  const gram = Array.from({ length: n }, () => new Float64Array(n));
  for (let i = 0; i < n; i++) for (let j = i; j < n; j++) { gram[i]![j] = gram[j]![i] = deltaInner(all[i]!.a, all[j]!.a, [all[i]!.label, all[j]!.label]); }
  const dist = (i: number, j: number) => Math.sqrt(Math.max(0, gram[i]![i]! + gram[j]![j]! - 2 * gram[i]![j]!));
  const within = [...groups.keys()].map((g) => {
    const idx = all.map((x, i) => (x.group === g ? i : -1)).filter((i) => i >= 0);
    let s = 0, c = 0;
    for (let p = 0; p < idx.length; p++) for (let q = p + 1; q < idx.length; q++) { s += dist(idx[p]!, idx[q]!); c++; }
    return { group: g, count: idx.length, meanDistance: c > 0 ? s / c : null };
  });
  let s = 0, c = 0;
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) if (all[i]!.group !== all[j]!.group) { s += dist(i, j); c++; }
  const between = c > 0 ? s / c : null;
  const w = within.map((x) => x.meanDistance).filter((x): x is number => x !== null);
  const meanWithin = w.length > 0 ? w.reduce((a, b) => a + b, 0) / w.length : null;
  return { within, between, ratio: between !== null && meanWithin !== null && meanWithin > 0 ? between / meanWithin : null };
}
