import * as fs from 'fs';
import * as path from 'path';
import { binomCdfHalf, mcnemarExact, pairedBootstrap, quantileSorted, spread, subsample, wilson } from './stats';

// SciPy's numbers for the same data (test/make-stats-fixtures.py says how to rerun it).
interface Fixture {
  cases: { name: string; a: number[]; b: number[]; mean: number; lo: number; hi: number; mcnemar?: { b: number; c: number; p: number } }[];
  mcnemar: { b: number; c: number; p: number }[];
}
const FIX = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'test', 'fixtures', 'paired-stats.json'), 'utf8')) as Fixture;

describe('wilson', () => {
  it('matches the textbook Wilson interval (statsmodels proportion_confint method="wilson")', () => {
    const a = wilson(7, 10);
    expect(a.value).toBeCloseTo(0.7, 12);
    expect(a.lo).toBeCloseTo(0.396774, 5);
    expect(a.hi).toBeCloseTo(0.892208, 5);
    const z = wilson(0, 10);
    expect(z.lo).toBe(0);
    expect(z.hi).toBeCloseTo(0.277530, 5);
    const f = wilson(10, 10);
    expect(f.lo).toBeCloseTo(0.722470, 5);
    expect(f.hi).toBe(1);
  });
  it('narrows with n', () => {
    const a = wilson(50, 100), b = wilson(500, 1000);
    expect(b.hi - b.lo).toBeLessThan(a.hi - a.lo);
  });
  it('rejects impossible counts', () => {
    expect(() => wilson(11, 10)).toThrow(/within 0..10/);
  });
});

describe('subsample', () => {
  const xs = Array.from({ length: 100 }, (_, i) => i);
  it('is deterministic for a seed, keeps order, and differs across seeds', () => {
    const a = subsample(xs, 10, 1234), b = subsample(xs, 10, 1234), c = subsample(xs, 10, 99);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    expect([...a].sort((p, q) => p - q)).toEqual(a);
    expect(new Set(a).size).toBe(10);
  });
  it('returns everything when k >= length', () => {
    expect(subsample(xs, 1000, 1)).toEqual(xs);
  });
});

describe('spread', () => {
  it('gives mean and sample std', () => {
    const s = spread([0.2, 0.4, 0.6]);
    expect(s.mean).toBeCloseTo(0.4, 12);
    expect(s.std).toBeCloseTo(0.2, 12);
    expect(spread([0.5]).std).toBe(0);
  });
});

describe('pairedBootstrap', () => {
  it.each(FIX.cases.map((c) => [c.name, c] as const))('matches scipy.stats.bootstrap (percentile) on %s', (_name, c) => {
    const r = pairedBootstrap(c.a, c.b, { resamples: 3000, seed: 99 }); // few resamples: this loop runs ~80x slower under jest than in node
    expect(r.n).toBe(c.a.length);
    expect(r.mean).toBeCloseTo(c.mean, 12);
    // Two Monte Carlo estimates of a quantile of a discrete distribution: within one grid step (1/n) plus noise.
    const tol = 1 / c.a.length + 0.003;
    expect(Math.abs(r.lo - c.lo)).toBeLessThanOrEqual(tol);
    expect(Math.abs(r.hi - c.hi)).toBeLessThanOrEqual(tol);
  });
  it('is reproducible from its seed and keeps the pairing', () => {
    const a = [1, 0, 1, 1, 0, 1, 0, 1, 1, 1], b = [0, 0, 1, 0, 0, 1, 1, 0, 1, 0];
    expect(pairedBootstrap(a, b, { seed: 5, resamples: 999 })).toEqual(pairedBootstrap(a, b, { seed: 5, resamples: 999 }));
    // Identical sides: every resample's difference is 0, so the interval collapses (an unpaired bootstrap would not).
    expect(pairedBootstrap(a, a, { resamples: 500 })).toMatchObject({ mean: 0, lo: 0, hi: 0 });
    // A constant difference: every resampled mean is that constant.
    const c = pairedBootstrap([1, 1, 1], [0.5, 0.5, 0.5], { resamples: 100 });
    expect([c.mean, c.lo, c.hi]).toEqual([0.5, 0.5, 0.5]);
  });
  it('refuses unpaired or empty input', () => {
    expect(() => pairedBootstrap([1, 0], [1])).toThrow(/same items on both sides/);
    expect(() => pairedBootstrap([], [])).toThrow(/no items/);
  });
  it('quantileSorted interpolates as numpy.quantile', () => {
    // numpy.quantile([1, 2, 3, 4], [0.025, 0.5, 0.975]) == [1.075, 2.5, 3.925]
    expect(quantileSorted([1, 2, 3, 4], 0.025)).toBeCloseTo(1.075, 12);
    expect(quantileSorted([1, 2, 3, 4], 0.5)).toBeCloseTo(2.5, 12);
    expect(quantileSorted([1, 2, 3, 4], 0.975)).toBeCloseTo(3.925, 12);
  });
});

describe('mcnemarExact', () => {
  it('matches scipy.stats.binomtest on the discordant pairs of the fixture data', () => {
    for (const c of FIX.cases.filter((x) => x.mcnemar)) {
      const r = mcnemarExact(c.a.map((v) => v === 1), c.b.map((v) => v === 1));
      expect({ name: c.name, b: r.b, c: r.c }).toEqual({ name: c.name, b: c.mcnemar!.b, c: c.mcnemar!.c });
      expect(r.p).toBeCloseTo(c.mcnemar!.p, 10);
    }
  });
  it('matches scipy for large discordant counts (log-space sum)', () => {
    for (const m of FIX.mcnemar) {
      const a = [...Array(m.b).fill(true), ...Array(m.c).fill(false)];
      const b = a.map((x) => !x);
      expect(mcnemarExact(a, b).p).toBeCloseTo(m.p, 10);
    }
  });
  it('hand-worked cases', () => {
    // b = 1, c = 6: 2 (C(7,0) + C(7,1)) / 2^7 = 16 / 128.
    const r = mcnemarExact([true, false, false, false, false, false, false, true], [false, true, true, true, true, true, true, true]);
    expect(r).toMatchObject({ b: 1, c: 6 });
    expect(r.p).toBeCloseTo(0.125, 14);
    expect(mcnemarExact([true, false], [true, false])).toEqual({ b: 0, c: 0, p: 1 });
    expect(mcnemarExact([true], [false]).p).toBe(1); // 2 * P(X <= 0 | n = 1) = 1
    expect(binomCdfHalf(2, 4)).toBeCloseTo(11 / 16, 14);
  });
});
