// Accuracy with its sample size and a 95% Wilson interval, mean/spread over runs, the fixed-seed
// subsample, and paired comparisons on the same items (paired-bootstrap interval of the mean difference,
// McNemar's exact test). Not a general statistics library: proportions and per-item differences only.

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

/** A paired difference a − b on the same items: the mean of the per-item differences and its percentile bootstrap interval. */
export interface PairedDiff {
  /** Items (pairs). */
  n: number;
  /** mean_i (a_i − b_i); for 0/1 outcomes, the difference of the two accuracies. */
  mean: number;
  /** Percentile interval of the resampled means (95% by default). */
  lo: number;
  hi: number;
  /** Bootstrap resamples and the seed of their mulberry32 stream (the interval is reproducible from both). */
  resamples: number;
  seed: number;
}

/** numpy.quantile's default ("linear", Hyndman-Fan type 7) on an ascending array. */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) throw new Error('quantileSorted: no values');
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h), hi = Math.ceil(h);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}

/**
 * Paired bootstrap of the mean difference a − b over items: resamples item indices with replacement
 * (the same index for both sides, so the pairing is kept), `resamples` times, with a seeded mulberry32
 * stream; the interval is the (1 − level)/2 and (1 + level)/2 quantiles of the resampled means. Per-item
 * values may be 0/1 outcomes or fractions (e.g. the share of K generated LoRAs right on an item).
 * @example pairedBootstrap([1, 1, 0, 1], [0, 1, 0, 0], { seed: 7 }) // { mean: 0.5, lo: 0, hi: 1, n: 4, ... }
 */
export function pairedBootstrap(a: ArrayLike<number>, b: ArrayLike<number>, opts: { resamples?: number; seed?: number; level?: number } = {}): PairedDiff {
  const resamples = opts.resamples ?? 4000, seed = opts.seed ?? 1234, level = opts.level ?? 0.95;
  if (a.length !== b.length) throw new Error(`pairedBootstrap: ${a.length} values against ${b.length}; a paired comparison needs the same items on both sides`);
  if (a.length === 0) throw new Error('pairedBootstrap: no items');
  if (!Number.isInteger(resamples) || resamples < 1) throw new Error(`pairedBootstrap: resamples must be a positive integer, got ${resamples}`);
  if (!(level > 0 && level < 1)) throw new Error(`pairedBootstrap: level must be in (0, 1), got ${level}`);
  const n = a.length;
  const d = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    d[i] = a[i]! - b[i]!;
    if (!Number.isFinite(d[i]!)) throw new Error(`pairedBootstrap: item ${i} has a non-finite value`);
    sum += d[i]!;
  }
  const rnd = mulberry32(seed);
  const means = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += d[Math.floor(rnd() * n)]!;
    means[r] = s / n;
  }
  means.sort();
  return { n, mean: sum / n, lo: quantileSorted(means, (1 - level) / 2), hi: quantileSorted(means, (1 + level) / 2), resamples, seed };
}

/** McNemar's exact test on paired 0/1 outcomes: the discordant counts and the two-sided binomial p. */
export interface McNemar {
  /** Items a got right and b wrong. */
  b: number;
  /** Items a got wrong and b right. */
  c: number;
  /** Two-sided exact p: min(1, 2 P(X <= min(b, c))), X ~ Binomial(b + c, 1/2); 1 when b + c = 0. */
  p: number;
}

/** P(X <= k) for X ~ Binomial(n, 1/2), summed in log space (exact to double rounding for any n). */
export function binomCdfHalf(k: number, n: number): number {
  if (k < 0) return 0;
  if (k >= n) return 1;
  let logC = 0; // log C(n, 0)
  let acc = -Infinity;
  for (let j = 0; j <= k; j++) {
    if (j > 0) logC += Math.log(n - j + 1) - Math.log(j);
    const t = logC - n * Math.LN2;
    acc = acc === -Infinity ? t : Math.max(acc, t) + Math.log1p(Math.exp(-Math.abs(acc - t)));
  }
  return Math.min(1, Math.exp(acc));
}

/**
 * McNemar's exact test (the binomial test on the discordant pairs), as statsmodels' `mcnemar(table, exact=True)`.
 * @example mcnemarExact([true, true, true, false], [false, false, false, false]) // { b: 3, c: 0, p: 0.25 }
 */
export function mcnemarExact(a: readonly boolean[], b: readonly boolean[]): McNemar {
  if (a.length !== b.length) throw new Error(`mcnemarExact: ${a.length} outcomes against ${b.length}; a paired test needs the same items on both sides`);
  let nb = 0, nc = 0;
  for (let i = 0; i < a.length; i++) {
    if (a[i] && !b[i]) nb++;
    else if (!a[i] && b[i]) nc++;
  }
  const m = nb + nc;
  return { b: nb, c: nc, p: m === 0 ? 1 : Math.min(1, 2 * binomCdfHalf(Math.min(nb, nc), m)) };
}
