// Accuracy with its sample size and a 95% Wilson interval, mean/spread over runs, and the fixed-seed
// subsample. Not a general statistics library: proportions only.

import { mulberry32 } from '@dnd/core';

/** z for a two-sided 95% interval (the normal quantile at 0.975). */
export const Z95 = 1.959963984540054;

/** An accuracy: correct / n with a Wilson score interval [lo, hi]. */
export interface Accuracy {
  correct: number;
  n: number;
  /** correct / n (0 when n = 0). */
  value: number;
  lo: number;
  hi: number;
}

/**
 * Wilson score interval for `correct` successes of `n` (95% by default). Stays inside [0, 1] and is
 * sensible at 0 and n, unlike the normal approximation.
 * @example wilson(7, 10) // { value: 0.7, lo: 0.3968, hi: 0.8922, ... }
 */
export function wilson(correct: number, n: number, z = Z95): Accuracy {
  if (!Number.isInteger(n) || n < 0) throw new Error(`wilson: n must be a non-negative integer, got ${n}`);
  if (!(correct >= 0 && correct <= n)) throw new Error(`wilson: correct must be within 0..${n}, got ${correct}`);
  if (n === 0) return { correct, n, value: 0, lo: 0, hi: 1 };
  const p = correct / n;
  const z2 = z * z;
  const denom = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denom;
  const half = (z / denom) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  // At 0 and n the bounds are exactly 0 and 1 (the formula gives them up to rounding).
  return { correct, n, value: p, lo: correct === 0 ? 0 : Math.max(0, centre - half), hi: correct === n ? 1 : Math.min(1, centre + half) };
}

/** Mean, sample standard deviation, min and max of `xs` (std 0 for one value). */
export function spread(xs: readonly number[]): { mean: number; std: number; min: number; max: number; count: number } {
  if (xs.length === 0) throw new Error('spread: no values');
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const varS = xs.length > 1 ? xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1) : 0;
  return { mean, std: Math.sqrt(varS), min: Math.min(...xs), max: Math.max(...xs), count: xs.length };
}

/**
 * Picks `k` of `items` with a fixed seed (Fisher-Yates over mulberry32), keeping the original order.
 * Returns all items when k >= length. The same (items, k, seed) always gives the same subsample.
 * @example subsample(items, 200, 1234)
 */
export function subsample<T>(items: readonly T[], k: number, seed: number): T[] {
  if (k >= items.length) return [...items];
  const idx = items.map((_, i) => i);
  const rnd = mulberry32(seed);
  for (let i = idx.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [idx[i], idx[j]] = [idx[j]!, idx[i]!];
  }
  return idx.slice(0, k).sort((a, b) => a - b).map((i) => items[i]!);
}
