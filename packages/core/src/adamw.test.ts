// Tests for AdamW with flat moments: several parameters over several steps against torch.optim.AdamW's
// algorithm written out in float64 (clip_grad_norm_ in front, with and without clipping), the moments'
// export/import, a parameter function whose set changes, and no leaked tensors. PyTorch parity on real
// training is in @dnd/decoder's and @dnd/lm's trainer tests (fixtures from PyTorch).
import * as tf from '@tensorflow/tfjs';
import { AdamW } from './adamw';

const OPTS = { weightDecay: 0.1, betas: [0.9, 0.999] as [number, number], eps: 1e-8, maxGradNorm: 1 };

/** torch.optim.AdamW (foreach off) after torch.nn.utils.clip_grad_norm_, in float64. */
function reference(params: number[][], gradsPerStep: number[][][], lrs: number[], maxGradNorm: number): { params: number[][]; m: number[][]; v: number[][]; norms: number[] } {
  const { weightDecay: wd, betas: [b1, b2], eps } = OPTS;
  const p = params.map((x) => [...x]);
  const m = params.map((x) => x.map(() => 0));
  const v = params.map((x) => x.map(() => 0));
  const norms: number[] = [];
  gradsPerStep.forEach((grads, k) => {
    const step = k + 1;
    const norm = Math.sqrt(grads.flat().reduce((a, g) => a + g * g, 0));
    norms.push(norm);
    const coef = maxGradNorm > 0 ? Math.min(1, maxGradNorm / (norm + 1e-6)) : 1;
    p.forEach((pi, i) => pi.forEach((_, j) => {
      const g = grads[i]![j]! * coef;
      pi[j] = pi[j]! * (1 - lrs[k]! * wd);
      m[i]![j] = b1 * m[i]![j]! + (1 - b1) * g;
      v[i]![j] = b2 * v[i]![j]! + (1 - b2) * g * g;
      const denom = Math.sqrt(v[i]![j]!) / Math.sqrt(1 - b2 ** step) + eps;
      pi[j] = pi[j]! - (lrs[k]! / (1 - b1 ** step)) * (m[i]![j]! / denom);
    }));
  });
  return { params: p, m, v, norms };
}

function seq(n: number, seed: number, scale: number): number[] {
  return Array.from({ length: n }, (_, i) => scale * Math.sin(seed * 12.9898 + i * 78.233));
}

/** A variable that holds the only reference to `t`. */
function variable(t: tf.Tensor): tf.Variable {
  const v = tf.variable(t);
  t.dispose();
  return v;
}

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => Array.from(a).reduce((w, x, i) => Math.max(w, Math.abs(x - b[i]!)), 0);

describe('AdamW', () => {
  it.each([[0.05, 'without clipping'], [5, 'with clipping']])('updates several parameters as torch AdamW + clip_grad_norm_ does, over 4 steps (gradient scale %s: %s)', (scale) => {
    const before = tf.memory().numTensors;
    const shapes = [[3, 4], [5], [2, 3, 2]];
    const init = shapes.map((s, i) => seq(s.reduce((a, b) => a * b, 1), i + 1, 0.5));
    const vars = new Map(shapes.map((s, i) => [`p${i}`, variable(tf.tensor(init[i]!, s))]));
    const opt = new AdamW(vars, OPTS);
    const grads = [0, 1, 2, 3].map((k) => init.map((x, i) => seq(x.length, 10 * k + i + 7, scale)));
    const lrs = [1e-2, 5e-3, 1e-2, 2e-3];
    const norms = grads.map((gs, k) => {
      const named = Object.fromEntries([...vars.values()].map((v, i) => [v.name, tf.tensor(gs[i]!, shapes[i])]));
      const n = opt.apply(named, lrs[k]!);
      tf.dispose(Object.values(named));
      return n;
    });
    const ref = reference(init, grads, lrs, OPTS.maxGradNorm);
    norms.forEach((n, k) => expect(n).toBeCloseTo(ref.norms[k]!, 5));
    [...vars.values()].forEach((v, i) => expect(maxDiff(v.dataSync(), ref.params[i]!)).toBeLessThan(1e-6));
    const { m, v } = opt.moments();
    shapes.forEach((s, i) => {
      expect(m.get(`p${i}`)!.shape).toEqual(s);
      expect(maxDiff(m.get(`p${i}`)!.data, ref.m[i]!)).toBeLessThan(1e-7);
      expect(maxDiff(v.get(`p${i}`)!.data, ref.v[i]!)).toBeLessThan(1e-8);
    });
    opt.dispose();
    vars.forEach((x) => x.dispose());
    expect(tf.memory().numTensors).toBe(before);
  });

  it('continues from exported moments exactly as it would have without the export', () => {
    const before = tf.memory().numTensors;
    const make = () => new Map([['a', variable(tf.tensor(seq(6, 1, 1), [2, 3]))], ['b', variable(tf.tensor(seq(4, 2, 1), [4]))]]);
    const [x, y] = [make(), make()];
    const gradsOf = (vars: Map<string, tf.Variable>, k: number) => Object.fromEntries([...vars.values()].map((v, i) => [v.name, tf.tensor(seq(v.size, 3 * k + i, 0.3), v.shape)]));
    const step = (opt: AdamW, vars: Map<string, tf.Variable>, k: number) => {
      const g = gradsOf(vars, k);
      opt.apply(g, 1e-2);
      tf.dispose(Object.values(g));
    };
    const straight = new AdamW(x, OPTS);
    for (let k = 0; k < 3; k++) step(straight, x, k);
    const first = new AdamW(y, OPTS);
    for (let k = 0; k < 2; k++) step(first, y, k);
    const saved = first.moments();
    first.dispose();
    const resumed = new AdamW(y, OPTS);
    resumed.loadMoments(2, saved.m, saved.v);
    step(resumed, y, 2);
    expect(resumed.step).toBe(3);
    for (const k of ['a', 'b']) expect(Array.from(y.get(k)!.dataSync())).toEqual(Array.from(x.get(k)!.dataSync()));
    straight.dispose();
    resumed.dispose();
    [...x.values(), ...y.values()].forEach((t) => t.dispose());
    expect(tf.memory().numTensors).toBe(before);
  });

  it('with a parameter function, keeps the moments of parameters that stay and starts new or reshaped ones at zero', () => {
    const a = variable(tf.tensor([1, 2, 3]));
    let b = variable(tf.tensor([4, 5]));
    let current = new Map([['a', a], ['b', b]]);
    const opt = new AdamW(() => current, OPTS);
    const g = (vars: Map<string, tf.Variable>) => Object.fromEntries([...vars.values()].map((v) => [v.name, tf.onesLike(v)]));
    let gs = g(current);
    opt.apply(gs, 1e-2);
    tf.dispose(Object.values(gs));
    const mA = Array.from(opt.moments().m.get('a')!.data);
    expect(mA.every((x) => x !== 0)).toBe(true);
    b.dispose();
    b = variable(tf.tensor([[1, 2], [3, 4]]));
    const c = variable(tf.tensor([7]));
    current = new Map([['a', a], ['b', b], ['c', c]]);
    const { m } = (() => {
      gs = Object.fromEntries([...current.values()].map((v) => [v.name, tf.zerosLike(v)]));
      opt.apply(gs, 1e-2);
      tf.dispose(Object.values(gs));
      return opt.moments();
    })();
    // a: its moment decayed by beta1 (zero gradient); b (reshaped) and c (new): zero
    expect(maxDiff(m.get('a')!.data, mA.map((x) => 0.9 * x))).toBeLessThan(1e-7);
    expect(m.get('b')!.shape).toEqual([2, 2]);
    expect(Array.from(m.get('b')!.data)).toEqual([0, 0, 0, 0]);
    expect(Array.from(m.get('c')!.data)).toEqual([0]);
    opt.dispose();
    [a, b, c].forEach((t) => t.dispose());
  });

  it('refuses a missing gradient, a gradient of the wrong shape, and moments that do not fit their shape', () => {
    const p = new Map([['w', variable(tf.zeros([2, 2]))]]);
    const opt = new AdamW(p, OPTS);
    expect(() => opt.apply({}, 1e-3)).toThrow('AdamW: no gradient for "w"');
    const wrong = tf.zeros([4]);
    expect(() => opt.apply({ [p.get('w')!.name]: wrong }, 1e-3)).toThrow('the gradient of "w" is [4], the parameter [2,2]');
    expect(() => opt.loadMoments(1, new Map([['w', { data: new Float32Array(3), shape: [2, 2] }]]), new Map())).toThrow('"w" has 3 values for shape [2,2]');
    expect(opt.step).toBe(0);
    wrong.dispose();
    opt.dispose();
    p.get('w')!.dispose();
  });
});
