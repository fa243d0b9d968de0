// Seeded pseudo-random numbers for splits, pair sampling and generation samples: sfc32 seeded from a string key
// via SHA-256, so any (seed, purpose, index) tuple names one reproducible stream. Not cryptographic, not a tensor RNG.
import { createHash } from 'crypto';

/** A reproducible stream of uniforms in [0, 1) plus the helpers the dataset needs. */
export interface SeededRandom {
  /** Next uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** `k` distinct indices of [0, n), in draw order (partial Fisher-Yates; O(k) memory for k << n). */
  sample(n: number, k: number): number[];
}

/**
 * A stream keyed by any parts (numbers or strings): equal keys give equal streams on every platform.
 * @example const r = seededRandom(42, 'split', 'piqa'); r.int(10);
 */
export function seededRandom(...key: Array<string | number>): SeededRandom {
  const h = createHash('sha256').update(JSON.stringify(key)).digest();
  let a = h.readUInt32LE(0), b = h.readUInt32LE(4), c = h.readUInt32LE(8), d = h.readUInt32LE(12);
  const next = (): number => {
    // sfc32 (Chris Doty-Humphrey's Small Fast Counting RNG), 32-bit state words.
    a >>>= 0; b >>>= 0; c >>>= 0; d >>>= 0;
    let t = (a + b) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    d = (d + 1) | 0;
    t = (t + d) | 0;
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let i = 0; i < 12; i++) next();
  const int = (n: number): number => Math.floor(next() * n);
  const sample = (n: number, k: number): number[] => {
    if (!Number.isInteger(k) || k < 0 || k > n) throw new Error(`sample: cannot draw ${k} distinct items from ${n}`);
    const swapped = new Map<number, number>();
    const out: number[] = [];
    for (let i = 0; i < k; i++) {
      const j = i + int(n - i);
      const vi = swapped.get(i) ?? i;
      const vj = swapped.get(j) ?? j;
      out.push(vj);
      swapped.set(j, vi);
    }
    return out;
  };
  return { next, int, sample };
}
