// Tests for the seeded Gaussian noise: determinism per seed, the moments and tail mass of N(0, 1) within
// stated tolerances over 2M draws, and that the data is added, not replaced.
import { addGaussianNoise } from './gaussian-noise';

describe('addGaussianNoise', () => {
  it('is a function of (data, std, seed)', () => {
    const data = Float32Array.from({ length: 1000 }, (_, i) => i);
    expect(Array.from(addGaussianNoise(data, 0.5, 7))).toEqual(Array.from(addGaussianNoise(data, 0.5, 7)));
    expect(Array.from(addGaussianNoise(data, 0.5, 7))).not.toEqual(Array.from(addGaussianNoise(data, 0.5, 8)));
    expect(Array.from(addGaussianNoise(data, 0, 7))).toEqual(Array.from(data));
  });

  it('draws N(0, std^2): mean, variance, kurtosis and the mass beyond 1, 2, 3 and the ziggurat tail (3.44)', () => {
    const n = 2_000_000;
    const x = addGaussianNoise(new Float32Array(n), 2, 42);
    let s = 0, s2 = 0, s4 = 0;
    const beyond = [1, 2, 3, 3.442619855899].map((t) => ({ t, c: 0 }));
    for (const v of x) {
      const z = v / 2;
      s += z; s2 += z * z; s4 += z ** 4;
      for (const b of beyond) if (Math.abs(z) > b.t) b.c++;
    }
    expect(Math.abs(s / n)).toBeLessThan(0.003); // ~4 standard errors
    expect(Math.abs(s2 / n - 1)).toBeLessThan(0.005);
    expect(Math.abs(s4 / n - 3)).toBeLessThan(0.03);
    const expected = [0.317311, 0.0455003, 0.0026998, 0.000576]; // 2 * (1 - Phi(t))
    beyond.forEach((b, i) => expect(Math.abs(b.c / n - expected[i]!)).toBeLessThan(5 * Math.sqrt(expected[i]! / n)));
  });

  it('adds the noise to the data', () => {
    const data = new Float32Array(10000).fill(5);
    const y = addGaussianNoise(data, 1e-4, 3);
    const dev = y.map((v) => v - 5);
    expect(Math.max(...Array.from(dev, Math.abs))).toBeLessThan(6e-4);
    expect(dev.some((v) => v !== 0)).toBe(true);
  });
});
