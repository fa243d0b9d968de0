// Shared-prefix continuation scoring: requests with the same context become one packed row, the context
// once and then each choice's tokens, under a tree mask (a choice sees the context and its own earlier
// tokens, at the positions it would have alone), so the context's keys and values are computed once and every
// choice continues from them (lm-eval runs the context once per choice). Also runs K adapters at once over the
// same rows with a LoraBank. Not the request encoding (causal-lm.ts encodePair) and not the plain path.
//
// Dimensions: B packed rows per batch, K adapters (rows adapter-major: k * B + b), T padded row length,
// G queries per kv head, D hidden, V vocab, N scored rows.
import * as tf from '@tensorflow/tfjs';
import type { LoraBank } from './lora-bank';
import { forwardHidden, headLogits, type ModelParts } from './transformer';

/** Most logits values materialised at once when scoring (4M floats = 16 MB). */
export const HEAD_CHUNK_VALUES = 1 << 22;

/**
 * Default most padded tokens in one scoring pass, over all its adapter copies. About 1,000 token rows is where a
 * pass ran fastest per token on 2 cores (ARC-Easy, PIQA and BoolQ under 12 adapters; smaller passes leave the
 * matmuls narrow, larger ones ran slower again; docs/benchmarks.md `## eval`).
 */
export const DEFAULT_MAX_TOKENS_PER_PASS = 1024;

/** A request to score: `targets` follow `prefix` (the whole context, or its tail when cut to maxLength). */
export interface EncodedRequest { prefix: number[]; targets: number[] }

/** One packed row: a prefix, then every member's targets but the last. */
export interface PackedRow {
  ids: number[];
  pos: number[]; // RoPE position of each token: what it would have in its own unpacked sequence
  seg: number[]; // -1 for the prefix, j for member j's tokens
  /** Per member: its request index, the row positions whose hidden states predict its targets, and the targets. */
  members: { req: number; at: number[]; targets: number[] }[];
}

/** Packs one prefix and its continuations. @example packRow([5, 6], [{ req: 0, targets: [7, 8] }]).ids // [5, 6, 7] */
export function packRow(prefix: number[], conts: { req: number; targets: number[] }[]): PackedRow {
  if (prefix.length === 0) throw new Error('packRow: empty prefix');
  const ids = [...prefix]; const pos = prefix.map((_, i) => i); const seg = prefix.map(() => -1);
  const members = conts.map((c, j) => {
    const at = [prefix.length - 1];
    for (let k = 0; k < c.targets.length - 1; k++) {
      at.push(ids.length); ids.push(c.targets[k]!); pos.push(prefix.length + k); seg.push(j);
    }
    return { req: c.req, at, targets: c.targets };
  });
  return { ids, pos, seg, members };
}

/** Groups requests by identical prefix (share) or one per row (no share), keeping first-seen order. */
export function packRequests(reqs: readonly EncodedRequest[], share: boolean): PackedRow[] {
  if (!share) return reqs.map((r, i) => packRow(r.prefix, [{ req: i, targets: r.targets }]));
  const groups = new Map<string, { prefix: number[]; conts: { req: number; targets: number[] }[] }>();
  reqs.forEach((r, i) => {
    const key = r.prefix.join(',');
    const g = groups.get(key) ?? { prefix: r.prefix, conts: [] };
    g.conts.push({ req: i, targets: r.targets });
    groups.set(key, g);
  });
  return [...groups.values()].map((g) => packRow(g.prefix, g.conts));
}

/**
 * Additive tree-mask bias for rows padded to T: query i sees key j iff j <= i, j is a real token, and j is
 * in the prefix or in i's own segment. Rows repeated G times per query group; returns [B, 1, G*T, T].
 */
export function treeMaskBias(rows: readonly PackedRow[], T: number, G: number): tf.Tensor4D {
  const B = rows.length;
  const out = new Float32Array(B * G * T * T).fill(-1e9);
  rows.forEach((row, b) => {
    const n = row.ids.length;
    for (let i = 0; i < T; i++) {
      const si = i < n ? row.seg[i]! : -2; // padding queries see the prefix only
      for (let j = 0; j <= Math.min(i, n - 1); j++) {
        const sj = row.seg[j]!;
        if (sj !== -1 && sj !== si) continue;
        for (let g = 0; g < G; g++) out[((b * G + g) * T + i) * T + j] = 0;
      }
    }
  });
  return tf.tensor4d(out, [B, 1, G * T, T]);
}

/**
 * Splits rows (longest first) into batches of at most `batchSize` members each, and at most `maxTokens` padded
 * tokens over K adapter copies (K x rows x the longest row); a row over either limit goes alone.
 */
export function batchRows(rows: readonly PackedRow[], batchSize: number, maxTokens = Infinity, K = 1): PackedRow[][] {
  const order = [...rows].sort((a, b) => b.ids.length - a.ids.length);
  const out: PackedRow[][] = [];
  let cur: PackedRow[] = []; let n = 0;
  for (const r of order) {
    if (cur.length > 0 && (n + r.members.length > batchSize || K * (cur.length + 1) * cur[0]!.ids.length > maxTokens)) { out.push(cur); cur = []; n = 0; }
    cur.push(r); n += r.members.length;
  }
  if (cur.length) out.push(cur);
  return out;
}

/**
 * log P and argmax-match of `targets` [N] from hidden rows [N, D], at most HEAD_CHUNK_VALUES logits at once, in
 * chunks of equal size (no small remainder). A chunk of 2-7 rows is padded with zero rows to 8: TensorFlow's CPU
 * matmul ran rows @ head^T 6-8x slower for 2-7 rows than for 8 (scripts/bench-head-layout.ts), and every chunk keeps
 * the same layout, so a request scores the same in any chunk (the paths compared within 1e-4 do chunk differently).
 */
export function headScores(m: ModelParts, rows: tf.Tensor2D, targets: Int32Array): { lp: Float32Array; greedy: Uint8Array } {
  const N = rows.shape[0]; const V = m.cfg.vocabSize;
  const most = Math.max(1, Math.floor(HEAD_CHUNK_VALUES / V));
  const chunk = Math.ceil(N / Math.ceil(N / most));
  const lp = new Float32Array(N); const greedy = new Uint8Array(N);
  for (let s = 0; s < N; s += chunk) {
    const n = Math.min(chunk, N - s);
    const tgt = targets.subarray(s, s + n);
    const [l, a] = tf.tidy(() => {
      let part = rows.slice([s, 0], [n, -1]);
      if (n > 1 && n < 8) part = tf.concat([part, tf.zeros([8 - n, part.shape[1]])]);
      const logits = headLogits(m, part); // [n or 8, V]
      const picked = tf.gather(logits.flatten(), tf.tensor1d(Int32Array.from(tgt, (t, i) => i * V + t), 'int32')); // [n]
      const lse = tf.logSumExp(logits, 1); const am = tf.argMax(logits, 1);
      return part.shape[0] === n ? [picked.sub(lse), am] : [picked.sub(lse.slice(0, n)), am.slice(0, n)];
    });
    lp.set(l.dataSync() as Float32Array, s);
    const am = a.dataSync();
    for (let i = 0; i < n; i++) greedy[s + i] = am[i] === tgt[i] ? 1 : 0;
    l.dispose(); a.dispose();
  }
  return { lp, greedy };
}

/** Per-token scores of one request. */
export interface TokenScores { lp: Float32Array; greedy: Uint8Array }

/**
 * Scores packed rows in batches; with a bank, every batch runs once per adapter in one forward pass
 * (K * B rows). `batchSize` counts requests per pass in total: with K adapters a batch holds batchSize / K
 * requests of each (at least one packed row); `maxTokens` caps the pass's padded tokens over all K copies,
 * so a pass stays near the size that runs fastest whatever the rows' lengths. Returns out[k][req] (k = 0 only
 * without a bank); `numReqs` sizes the result. The caller has called ensurePositions for the largest position.
 */
export async function scorePackedRows(m: ModelParts, rows: readonly PackedRow[], numReqs: number, batchSize: number, padId: number, bank: LoraBank | null = null, maxTokens = DEFAULT_MAX_TOKENS_PER_PASS): Promise<TokenScores[][]> {
  const K = bank?.K ?? 1;
  const G = m.cfg.numAttentionHeads / m.cfg.numKeyValueHeads; const D = m.cfg.hiddenSize;
  const out: TokenScores[][] = Array.from({ length: K }, () => new Array<TokenScores>(numReqs));
  const saved = m.bank;
  m.bank = bank;
  try {
    for (const batch of batchRows(rows, Math.max(1, Math.floor(batchSize / K)), maxTokens, K)) {
      const B = batch.length; const T = Math.max(...batch.map((r) => r.ids.length));
      const ids = new Int32Array(B * T).fill(padId); const pos = new Int32Array(B * T);
      batch.forEach((r, b) => { ids.set(r.ids, b * T); pos.set(r.pos, b * T); });
      const rowIdx: number[] = []; const targets: number[] = [];
      for (let k = 0; k < K; k++) {
        batch.forEach((r, b) => {
          for (const mem of r.members) mem.at.forEach((a, i) => { rowIdx.push((k * B + b) * T + a); targets.push(mem.targets[i]!); });
        });
      }
      const hiddenRows = tf.tidy(() => {
        const idsT = tf.tensor2d(ids, [B, T], 'int32'); const posT = tf.tensor2d(pos, [B, T], 'int32');
        const bias = treeMaskBias(batch, T, G); // [B, 1, G*T, T]
        const rep = K > 1
          ? { ids: tf.tile(idsT, [K, 1]) as tf.Tensor2D, pos: tf.tile(posT, [K, 1]) as tf.Tensor2D, bias: tf.tile(bias, [K, 1, 1, 1]) as tf.Tensor4D }
          : { ids: idsT, pos: posT, bias };
        const { hidden } = forwardHidden(m, rep.ids, rep.pos, rep.bias); // [K*B, T, D]
        return tf.gather(hidden.reshape([-1, D]), tf.tensor1d(rowIdx, 'int32')) as tf.Tensor2D; // [N, D]
      });
      const res = (() => { try { return headScores(m, hiddenRows, Int32Array.from(targets)); } finally { hiddenRows.dispose(); } })();
      let off = 0;
      for (let k = 0; k < K; k++) {
        for (const r of batch) {
          for (const mem of r.members) {
            const n = mem.targets.length;
            out[k]![mem.req] = { lp: res.lp.slice(off, off + n), greedy: res.greedy.slice(off, off + n) };
            off += n;
          }
        }
      }
      await Promise.resolve();
    }
  } finally {
    m.bank = saved;
  }
  return out;
}
