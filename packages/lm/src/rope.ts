// Rotary position embedding tables (HF's default, linear and llama3 variants) computed in fp32 the way
// transformers does, so logits match. Not the attention itself (transformer.ts applies the rotation).
//
// Dimensions: P = number of positions in the table, HD = head dim.
import type { HfModelConfig } from '@dnd/core';

const f = Math.fround;

/** Inverse frequencies [HD/2], fp32, with rope scaling applied. */
export function ropeInvFreq(cfg: HfModelConfig): Float32Array {
  const hd = cfg.headDim;
  const inv = new Float32Array(hd / 2);
  for (let i = 0; i < hd / 2; i++) inv[i] = f(1 / f(f(cfg.ropeTheta) ** f((2 * i) / hd)));
  const rs = cfg.ropeScaling;
  if (rs?.type === 'linear') {
    for (let i = 0; i < inv.length; i++) inv[i] = f(inv[i]! / rs.factor);
  } else if (rs?.type === 'llama3') {
    const lowWave = rs.originalMaxPositionEmbeddings / rs.lowFreqFactor;
    const highWave = rs.originalMaxPositionEmbeddings / rs.highFreqFactor;
    for (let i = 0; i < inv.length; i++) {
      const freq = inv[i]!;
      const wave = (2 * Math.PI) / freq;
      if (wave > lowWave) inv[i] = f(freq / rs.factor);
      else if (wave >= highWave) {
        const smooth = (rs.originalMaxPositionEmbeddings / wave - rs.lowFreqFactor) / (rs.highFreqFactor - rs.lowFreqFactor);
        inv[i] = f((1 - smooth) * (freq / rs.factor) + smooth * freq);
      }
    }
  }
  return inv;
}

/** cos and sin tables, each [P, HD] with the half-dim frequencies repeated (HF's cat(freqs, freqs)). */
export function ropeTables(cfg: HfModelConfig, positions: number): { cos: Float32Array; sin: Float32Array } {
  const inv = ropeInvFreq(cfg);
  const hd = cfg.headDim; const half = hd / 2;
  const cos = new Float32Array(positions * hd);
  const sin = new Float32Array(positions * hd);
  for (let p = 0; p < positions; p++) {
    for (let i = 0; i < half; i++) {
      const a = f(p * inv[i]!);
      const c = Math.cos(a); const s = Math.sin(a);
      cos[p * hd + i] = c; cos[p * hd + i + half] = c;
      sin[p * hd + i] = s; sin[p * hd + i + half] = s;
    }
  }
  return { cos, sin };
}
