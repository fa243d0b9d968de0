// Backend parity: every op and gradient our models use gives the same numbers on each available backend
// (tensorflow, wasm, cpu, the last two with wasm-kernels.ts installed) as on the stock cpu backend.
// Not a speed test (that is `pnpm bench runtime`). Tolerance: |got - ref| <= 1e-4 * |ref| + 1e-5 * max|ref|.
//
// Dimensions: B batch, T tokens, D model width, V vocab, H/W image height/width, C channels, K kernel size.
import * as tf from '@tensorflow/tfjs';
import { tryBackend, type BackendName } from './backend';
import { mulberry32 } from './prng';
import { installRuntimeKernels, uninstallRuntimeKernels, installedRuntimeKernels, conv2dFilterGradIm2col } from './wasm-kernels';

const RTOL = 1e-4;
const ATOL_OF_MAX = 1e-5;

// Deterministic inputs: the same Float32Array on every backend.
const rng = mulberry32;
function seedOf(name: string): number {
  let h = 2166136261;
  for (const ch of name) h = Math.imul(h ^ ch.charCodeAt(0), 16777619);
  return h >>> 0;
}

type Ctx = { rand: (shape: number[], lo?: number, hi?: number) => tf.Tensor };
type Case = { name: string; run: (c: Ctx) => tf.Tensor[] };

/** y = f(xs), then d(sum(y * dy))/dxs for a fixed random dy, so gradients are not all-ones sums. */
function withGrads(c: Ctx, f: (...xs: tf.Tensor[]) => tf.Tensor, xs: tf.Tensor[]): tf.Tensor[] {
  const y = f(...xs);
  const dy = c.rand(y.shape);
  return [y, ...tf.grads(f)(xs, dy)];
}

const gelu = (x: tf.Tensor): tf.Tensor => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.tanh(tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.pow(x, 3)))))));
const geluErf = (x: tf.Tensor): tf.Tensor => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.div(x, Math.SQRT2))));
const silu = (x: tf.Tensor): tf.Tensor => tf.mul(x, tf.sigmoid(x));
const layerNorm = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor): tf.Tensor => {
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, 1e-5))), g), b);
};
const rmsNorm = (x: tf.Tensor, g: tf.Tensor): tf.Tensor => tf.mul(tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), 1e-6))), g);
const rotateHalf = (x: tf.Tensor): tf.Tensor => {
  const d = x.shape[x.rank - 1]! / 2;
  const [x1, x2] = tf.split(x, [d, d], -1);
  return tf.concat([tf.neg(x2!), x1!], -1);
};

const cases: Case[] = [];
for (const [ta, tb] of [[false, false], [false, true], [true, false], [true, true]] as const) {
  cases.push({
    name: `matMul 2d tA=${ta} tB=${tb}`,
    run: (c) => withGrads(c, (a, b) => tf.matMul(a!, b!, ta, tb), [c.rand(ta ? [7, 5] : [5, 7]), c.rand(tb ? [3, 7] : [7, 3])]),
  });
  cases.push({
    name: `batchMatMul rank3 tA=${ta} tB=${tb}`,
    run: (c) => withGrads(c, (a, b) => tf.matMul(a!, b!, ta, tb), [c.rand(ta ? [2, 6, 4] : [2, 4, 6]), c.rand(tb ? [2, 5, 6] : [2, 6, 5])]),
  });
}
cases.push({
  name: 'batchMatMul rank4 attention scores and values',
  run: (c) => withGrads(c, (q, k, v) => tf.matMul(tf.softmax(tf.div(tf.matMul(q!, k!, false, true), 2)), v!), [c.rand([2, 3, 5, 4]), c.rand([2, 3, 5, 4]), c.rand([2, 3, 5, 4])]),
});
for (const [k, stride, pad] of [[3, 1, 'same'], [5, 1, 'same'], [3, 2, 'same'], [3, 1, 'valid'], [1, 1, 'same']] as const) {
  cases.push({
    name: `conv2d k=${k} stride=${stride} ${pad} (forward, input grad, filter grad)`,
    run: (c) => withGrads(c, (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, stride, pad), [c.rand([2, 7, 6, 3]), c.rand([k, k, 3, 4])]),
  });
}
cases.push({
  name: 'conv2d NCHW-free decoder block: conv -> silu -> conv, batch 1, rectangular kernel',
  run: (c) => withGrads(c, (x, w1, w2) => tf.conv2d(silu(tf.conv2d(x as tf.Tensor4D, w1 as tf.Tensor4D, 1, 'same')) as tf.Tensor4D, w2 as tf.Tensor4D, 1, 'same'),
    [c.rand([1, 5, 9, 4]), c.rand([3, 5, 4, 6]), c.rand([3, 3, 6, 2])]),
});
cases.push({
  name: 'conv2dTranspose stride 2 same',
  run: (c) => withGrads(c, (x, w) => tf.conv2dTranspose(x as tf.Tensor4D, w as tf.Tensor4D, [2, 8, 8, 3], 2, 'same'), [c.rand([2, 4, 4, 5]), c.rand([3, 3, 3, 5])]),
});
cases.push({
  name: 'conv1d k=3 same',
  run: (c) => withGrads(c, (x, w) => tf.conv1d(x as tf.Tensor3D, w as tf.Tensor3D, 1, 'same'), [c.rand([2, 9, 4]), c.rand([3, 4, 5])]),
});
cases.push({
  name: 'gather (embedding) with repeated ids, and its gradient',
  run: (c) => {
    const ids = tf.tensor1d([3, 0, 3, 10, 7, 3, 1], 'int32');
    return withGrads(c, (table) => tf.gather(table!, ids), [c.rand([11, 4])]);
  },
});
cases.push({
  name: 'gather axis 1 of a [B, T, D] tensor (token selection)',
  run: (c) => {
    const ids = tf.tensor1d([4, 1, 1], 'int32');
    return withGrads(c, (x) => tf.gather(x!, ids, 1), [c.rand([2, 5, 3])]);
  },
});
cases.push({
  name: 'unsortedSegmentSum, negative ids are dropped (TF semantics)',
  run: (c) => [tf.unsortedSegmentSum(c.rand([6, 3]), tf.tensor1d([2, 0, 2, 3, -1, 1], 'int32'), 4)],
});
cases.push({ name: 'layerNorm via moments', run: (c) => withGrads(c, layerNorm, [c.rand([2, 3, 8]), c.rand([8]), c.rand([8])]) });
cases.push({ name: 'RMSNorm', run: (c) => withGrads(c, rmsNorm, [c.rand([2, 3, 8]), c.rand([8])]) });
cases.push({ name: 'softmax last axis', run: (c) => withGrads(c, (x) => tf.softmax(tf.mul(x!, 3)), [c.rand([3, 4, 9])]) });
cases.push({ name: 'logSoftmax last axis', run: (c) => withGrads(c, (x) => tf.logSoftmax(tf.mul(x!, 3)), [c.rand([3, 4, 9])]) });
cases.push({
  name: 'cross-entropy on answer tokens (logSoftmax, oneHot, mask, mean)',
  run: (c) => {
    const target = tf.oneHot(tf.tensor1d([1, 4, 0, 2, 2, 3], 'int32'), 5);
    const mask = tf.tensor2d([0, 1, 1, 0, 1, 1], [6, 1]);
    return withGrads(c, (logits) => tf.div(tf.neg(tf.sum(tf.mul(tf.mul(tf.logSoftmax(logits!), target), mask))), tf.sum(mask)), [c.rand([6, 5], -3, 3)]);
  },
});
cases.push({ name: 'tanh', run: (c) => withGrads(c, tf.tanh, [c.rand([4, 7], -3, 3)]) });
cases.push({ name: 'sigmoid', run: (c) => withGrads(c, tf.sigmoid, [c.rand([4, 7], -4, 4)]) });
cases.push({ name: 'silu', run: (c) => withGrads(c, silu, [c.rand([4, 7], -4, 4)]) });
cases.push({ name: 'gelu (tanh form)', run: (c) => withGrads(c, gelu, [c.rand([4, 7], -3, 3)]) });
cases.push({ name: 'gelu (erf form)', run: (c) => withGrads(c, geluErf, [c.rand([4, 7], -3, 3)]) });
cases.push({ name: 'rsqrt', run: (c) => withGrads(c, tf.rsqrt, [c.rand([4, 7], 0.2, 3)]) });
cases.push({ name: 'exp, log, sqrt, square', run: (c) => withGrads(c, (x) => tf.add(tf.add(tf.exp(x!), tf.log(x!)), tf.add(tf.sqrt(x!), tf.square(x!))), [c.rand([3, 5], 0.3, 2)]) });
cases.push({
  name: 'slice, concat, reshape, transpose (RoPE-style rotate-half)',
  run: (c) => withGrads(c, (x, cos, sin) => {
    const q = tf.transpose(tf.reshape(x!, [2, 5, 3, 4]), [0, 2, 1, 3]); // [B, heads, T, HD]
    const rot = tf.add(tf.mul(q, cos!), tf.mul(rotateHalf(q), sin!));
    return tf.concat([tf.slice(rot, [0, 0, 1, 0], [2, 3, 3, 4]), tf.slice(rot, [0, 0, 0, 0], [2, 3, 1, 4])], 2);
  }, [c.rand([2, 5, 12]), c.rand([5, 4]), c.rand([5, 4])]),
});
cases.push({ name: 'sum and mean over axes', run: (c) => withGrads(c, (x) => tf.add(tf.sum(x!, [0, 2]), tf.mean(x!, [0, 2])), [c.rand([3, 4, 5])]) });
cases.push({ name: 'broadcast add/mul/sub/div', run: (c) => withGrads(c, (a, b) => tf.div(tf.sub(tf.mul(a!, b!), b!), tf.add(tf.abs(b!), 1)), [c.rand([3, 4, 5]), c.rand([1, 5])]) });
cases.push({
  name: 'AdamW update math',
  run: (c) => {
    const [p, g, m, v] = [c.rand([4, 6]), c.rand([4, 6]), c.rand([4, 6], -0.1, 0.1), c.rand([4, 6], 0, 0.01)];
    const [b1, b2, lr, eps, wd, step] = [0.9, 0.999, 1e-3, 1e-8, 0.01, 7];
    const m2 = tf.add(tf.mul(m!, b1), tf.mul(g!, 1 - b1));
    const v2 = tf.add(tf.mul(v!, b2), tf.mul(tf.square(g!), 1 - b2));
    const update = tf.div(tf.div(m2, 1 - b1 ** step), tf.add(tf.sqrt(tf.div(v2, 1 - b2 ** step)), eps));
    return [m2, v2, tf.sub(p!, tf.mul(tf.add(update, tf.mul(p!, wd)), lr))];
  },
});

function runAll(): Map<string, Float32Array[] | Error> {
  const out = new Map<string, Float32Array[] | Error>();
  for (const k of cases) {
    const r = rng(seedOf(k.name));
    const ctx: Ctx = {
      rand: (shape, lo = -1, hi = 1) => tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => lo + (hi - lo) * r()), shape),
    };
    try {
      const ts = tf.tidy(() => k.run(ctx));
      out.set(k.name, ts.map((t) => Float32Array.from(t.dataSync())));
      tf.dispose(ts);
    } catch (e) {
      out.set(k.name, e as Error); // reported by that case's test
    }
  }
  return out;
}

function worstError(got: Float32Array, ref: Float32Array): { excess: number; at: number; got: number; ref: number } {
  let maxRef = 0;
  for (const v of ref) maxRef = Math.max(maxRef, Math.abs(v));
  let worst = { excess: -Infinity, at: -1, got: NaN, ref: NaN };
  for (let i = 0; i < ref.length; i++) {
    const excess = Math.abs(got[i]! - ref[i]!) - (RTOL * Math.abs(ref[i]!) + ATOL_OF_MAX * maxRef);
    if (!(excess <= worst.excess)) worst = { excess: Number.isNaN(excess) ? Infinity : excess, at: i, got: got[i]!, ref: ref[i]! };
  }
  return worst;
}

const available: BackendName[] = [];
let reference: Map<string, Float32Array[] | Error>;

beforeAll(async () => {
  // Stock cpu first, before any kernel is replaced: it is the reference.
  uninstallRuntimeKernels('cpu');
  await tryBackend('cpu');
  reference = runAll();
  for (const name of ['cpu', 'wasm', 'tensorflow'] as const) {
    try {
      await tryBackend(name);
      available.push(name);
    } catch (e) {
      process.stderr.write(`[parity] backend ${name} not available here, skipped: ${(e as Error).message}\n`);
    }
  }
});

afterAll(() => {
  uninstallRuntimeKernels('cpu');
  uninstallRuntimeKernels('wasm');
});

describe.each(['cpu', 'wasm', 'tensorflow'] as const)('backend %s agrees with stock cpu', (name) => {
  let results: Map<string, Float32Array[] | Error> | null = null;
  let leaked = 0;
  beforeAll(async () => {
    if (!available.includes(name)) return;
    if (name !== 'tensorflow') installRuntimeKernels(name);
    expect(await tf.setBackend(name)).toBe(true);
    expect(tf.getBackend()).toBe(name);
    const before = tf.memory().numTensors;
    results = runAll();
    leaked = tf.memory().numTensors - before;
  });

  it('frees every tensor it made', () => {
    expect(leaked).toBe(0);
  });

  it.each(cases.map((k) => k.name))('%s', (caseName) => {
    if (!results) return; // backend not available on this machine (logged above)
    const ref = reference.get(caseName)!;
    const got = results.get(caseName)!;
    if (ref instanceof Error) throw new Error(`stock cpu failed on ${caseName}: ${ref.message}`);
    if (got instanceof Error) throw new Error(`${name} failed on ${caseName}: ${got.message}`);
    expect(got.length).toBe(ref.length);
    ref.forEach((r, i) => {
      expect(got[i]!.length).toBe(r.length);
      const w = worstError(got[i]!, r);
      if (w.excess > 0) throw new Error(`${name} ${caseName} output ${i}: element ${w.at} got ${w.got}, cpu ${w.ref}`);
    });
  });
});

describe('runtime kernels', () => {
  it('replace only the kernels their backend lacks or runs slowly, and uninstall restores them', async () => {
    if (!available.includes('wasm')) return;
    uninstallRuntimeKernels('cpu');
    const stockSegmentSum = tf.getKernel('UnsortedSegmentSum', 'cpu');
    expect(installRuntimeKernels('cpu').sort()).toEqual(['Conv2DBackpropFilter', 'UnsortedSegmentSum']);
    expect(installRuntimeKernels('wasm').sort()).toEqual(['BatchMatMul', 'Conv2DBackpropFilter', 'Conv2DBackpropInput', 'UnsortedSegmentSum']);
    expect(tf.getKernel('UnsortedSegmentSum', 'cpu')).not.toBe(stockSegmentSum);
    uninstallRuntimeKernels('cpu');
    expect(installedRuntimeKernels('cpu')).toEqual([]);
    expect(tf.getKernel('UnsortedSegmentSum', 'cpu')?.kernelFunc).toBe(stockSegmentSum?.kernelFunc);
    uninstallRuntimeKernels('wasm');
    expect(tf.getKernel('UnsortedSegmentSum', 'wasm')).toBeUndefined();
  });

  it('conv2dFilterGradIm2col gives the same filter gradient from NCHW inputs as from NHWC', async () => {
    await tf.setBackend('cpu');
    const before = tf.memory().numTensors;
    const r = rng(7);
    const x = tf.tensor4d(Float32Array.from({ length: 2 * 5 * 6 * 3 }, () => r() - 0.5), [2, 5, 6, 3]); // [B, H, W, Cin]
    const dy = tf.tensor4d(Float32Array.from({ length: 2 * 3 * 3 * 4 }, () => r() - 0.5), [2, 3, 3, 4]); // [B, OH, OW, Cout]
    const attrs = { strides: 2, pad: 'same' as const, filterShape: [3, 3, 3, 4] as [number, number, number, number] };
    const nhwc = conv2dFilterGradIm2col(x, dy, { ...attrs, dataFormat: 'NHWC' });
    const [xT, dyT] = [tf.transpose(x, [0, 3, 1, 2]), tf.transpose(dy, [0, 3, 1, 2])]; // [B, C, H, W]
    const nchw = conv2dFilterGradIm2col(xT, dyT, { ...attrs, dataFormat: 'NCHW' });
    expect(nchw.shape).toEqual([3, 3, 3, 4]);
    const w = worstError(nchw.dataSync() as Float32Array, nhwc.dataSync() as Float32Array);
    expect(w.excess).toBeLessThanOrEqual(0);
    expect(() => conv2dFilterGradIm2col(x, dy, { ...attrs, strides: 1, dataFormat: 'NHWC' })).toThrow(/dy \[2,3,3,4\] does not match/);
    tf.dispose([x, dy, xT, dyT, nhwc, nchw]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rejects a backend it does not patch and a malformed config', () => {
    expect(() => installRuntimeKernels('tensorflow' as never)).toThrow(/wasm or cpu, got "tensorflow"/);
    expect(() => installRuntimeKernels('cpu', { segmentSum: 'yes', convFilterGrad: true, matMulExplicitTranspose: false, convInputGrad: false } as never)).toThrow(/segmentSum must be a boolean, got "yes"/);
  });
});
