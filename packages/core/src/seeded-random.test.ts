// The keyed sfc32 stream behind splits, pair sampling and generation samples: same key, same stream;
// `sample` draws distinct indices; and the stream for one fixed key is pinned, so a change to the
// algorithm (which would silently change every split and every generated LoRA) cannot slip by.
import { seededRandom } from './seeded-random';

describe('seededRandom', () => {
  it('gives the same stream for equal keys and another for a different key', () => {
    const a = seededRandom(42, 'generate', 'piqa', 0), b = seededRandom(42, 'generate', 'piqa', 0), c = seededRandom(42, 'generate', 'piqa', 1);
    const xs = Array.from({ length: 100 }, () => a.next());
    expect(xs.every((v) => v >= 0 && v < 1)).toBe(true);
    expect(Array.from({ length: 100 }, () => b.next())).toEqual(xs);
    expect(c.next()).not.toBe(xs[0]);
  });

  it('pins the stream and the sample of one key (values of the implementation the pipeline has used since collection)', () => {
    const r = seededRandom(42, 'generate', 'piqa', 0);
    expect([r.next(), r.next()].map((v) => Math.round(v * 4294967296))).toEqual([2128303638, 2065152234]);
    expect(seededRandom(42, 'generate', 'piqa', 0).sample(100, 8)).toEqual([49, 48, 26, 94, 57, 31, 54, 58]);
  });

  it('samples k distinct indices of [0, n) and refuses k > n', () => {
    const s = seededRandom(1, 'x').sample(50, 50);
    expect([...s].sort((p, q) => p - q)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(() => seededRandom(1, 'x').sample(3, 4)).toThrow('sample: cannot draw 4 distinct items from 3');
  });
});
