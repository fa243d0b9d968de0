import { spread, subsample, wilson } from './stats';

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
