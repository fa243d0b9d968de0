// Tests for the LoRA <-> token-grid mapping: layout counts (Qwen2.5-0.5B r8 w128 -> 4296 x 10 x 130),
// order, border encoding, round trips, degenerate chunks, bad input, and the per-token loss weights.
import { DEFAULT_LORA_ADAPTER_CONFIG, peftTensorName, type LoraAdapter, type LoraAdapterConfig } from './peft';
import {
  LORA_TOKEN_MODULE_ORDER, detokenizeLora, llamaLoraShapes, loraTokenLayout, loraTokenLayoutOf, meanLossWeights,
  tokenLossWeights, tokenizeLora, type LlamaLoraShapeSpec,
} from './lora-tokens';
import { mulberry32 } from './prng';

const rng = mulberry32;

// zero-mean, unit-variance uniform noise (cheap enough for a 4.4M-parameter adapter)
function noise(rand: () => number): number {
  return (2 * rand() - 1) * Math.sqrt(3);
}

function randomAdapter(spec: LlamaLoraShapeSpec, r: number, seed: number, scaleA = 0.05, scaleB = 0.5): LoraAdapter {
  const rand = rng(seed);
  const config: LoraAdapterConfig = { ...DEFAULT_LORA_ADAPTER_CONFIG, r, loraAlpha: 2 * r, targetModules: [...spec.targetModules] };
  const tensors = new Map();
  for (const s of llamaLoraShapes(spec)) {
    const a = new Float32Array(r * s.inFeatures).map(() => noise(rand) * scaleA);
    const b = new Float32Array(s.outFeatures * r).map(() => noise(rand) * scaleB + 0.1);
    tensors.set(peftTensorName(s.layer, s.module, 'A'), { data: a, shape: [r, s.inFeatures] });
    tensors.set(peftTensorName(s.layer, s.module, 'B'), { data: b, shape: [s.outFeatures, r] });
  }
  return { config, tensors };
}

const ALL = [...LORA_TOKEN_MODULE_ORDER];
const TINY: LlamaLoraShapeSpec = { numLayers: 2, hiddenSize: 8, intermediateSize: 12, kvOutSize: 4, targetModules: ALL };

function maxRelErr(a: LoraAdapter, b: LoraAdapter): number {
  let worst = 0;
  for (const [name, t] of a.tensors) {
    const u = b.tensors.get(name)!;
    const x = t.data, y = u.data;
    let maxAbs = 0, err = 0;
    for (let i = 0; i < x.length; i++) {
      const a = Math.abs(x[i]!), d = Math.abs(x[i]! - y[i]!);
      if (a > maxAbs) maxAbs = a;
      if (d > err) err = d;
    }
    worst = Math.max(worst, err / maxAbs);
  }
  return worst;
}

describe('loraTokenLayout', () => {
  it('gives 4296 x 10 x 130 for Qwen2.5-0.5B, r 8, w 128 (method §4.2), from shapes', () => {
    const layout = loraTokenLayout(llamaLoraShapes({ numLayers: 24, hiddenSize: 896, intermediateSize: 4864, kvOutSize: 128, targetModules: ALL }), { rank: 8, width: 128 });
    expect(layout.tokenShape).toEqual([4296, 10, 130]);
    expect(layout.numTokens * 8 * 128).toBe(4_399_104); // = the LoRA parameter count
    const perLayer = layout.entries.slice(0, 7).map((e) => [e.module, e.aTokens, e.bTokens]);
    expect(perLayer).toEqual([['q_proj', 7, 7], ['k_proj', 7, 1], ['v_proj', 7, 1], ['o_proj', 7, 7], ['up_proj', 7, 38], ['gate_proj', 7, 38], ['down_proj', 38, 7]]);
  });

  it('tokenizes a real Qwen2.5-0.5B-shaped r8 adapter (4.4M params) to [4296, 10, 130] and back', () => {
    const adapter = randomAdapter({ numLayers: 24, hiddenSize: 896, intermediateSize: 4864, kvOutSize: 128, targetModules: ALL }, 8, 11);
    const layout = loraTokenLayoutOf(adapter, 128);
    const tok = tokenizeLora(adapter, layout);
    expect(tok.shape).toEqual([4296, 10, 130]);
    expect(tok.data.every(Number.isFinite)).toBe(true); // the border fills every non-data cell
    expect(maxRelErr(adapter, detokenizeLora(tok, layout, adapter.config))).toBeLessThan(1e-6);
  });

  it('gives the other published counts (1.5B r16 w256 -> 4508, 7B r16 w512 -> 4928)', () => {
    const l15 = loraTokenLayout(llamaLoraShapes({ numLayers: 28, hiddenSize: 1536, intermediateSize: 8960, kvOutSize: 256, targetModules: ALL }), { rank: 16, width: 256 });
    const l7 = loraTokenLayout(llamaLoraShapes({ numLayers: 28, hiddenSize: 3584, intermediateSize: 18944, kvOutSize: 512, targetModules: ALL }), { rank: 16, width: 512 });
    expect(l15.tokenShape).toEqual([4508, 18, 258]);
    expect(l7.tokenShape).toEqual([4928, 18, 514]);
  });

  it('orders layer -> q,k,v,o,up,gate,down -> A then B, whatever order the shapes come in', () => {
    const shapes = llamaLoraShapes(TINY).reverse();
    const layout = loraTokenLayout(shapes, { rank: 2, width: 4 });
    expect(layout.entries.map((e) => `${e.layer}.${e.module}`)).toEqual([0, 1].flatMap((l) => ALL.map((m) => `${l}.${m}`)));
    const q = layout.entries[0]!;
    expect([q.aStart, q.aTokens, q.bStart, q.bTokens]).toEqual([0, 2, 2, 2]);
    expect(layout.entries[1]!.aStart).toBe(4);
  });

  it('names the dimension that the width does not divide', () => {
    expect(() => loraTokenLayout(llamaLoraShapes({ ...TINY, intermediateSize: 10 }), { rank: 2, width: 4 }))
      .toThrow('chunk width 4 does not divide layer 0 up_proj outFeatures = 10');
  });
});

describe('tokenizeLora / detokenizeLora', () => {
  it('writes z-normalised data and 8*mu, ln(0.9 sigma + 0.1) + 1.6 into every border copy', () => {
    const r = 2, w = 4;
    const config: LoraAdapterConfig = { ...DEFAULT_LORA_ADAPTER_CONFIG, r, targetModules: ['q_proj'] };
    const A = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]); // [r=2, in=4]
    const B = new Float32Array(8).fill(0.5); // [out=4, r=2], constant -> sigma 0
    const adapter: LoraAdapter = { config, tensors: new Map([[peftTensorName(0, 'q_proj', 'A'), { data: A, shape: [2, 4] }], [peftTensorName(0, 'q_proj', 'B'), { data: B, shape: [4, 2] }]]) };
    const layout = loraTokenLayoutOf(adapter, w);
    const tok = tokenizeLora(adapter, layout);
    expect(tok.shape).toEqual([2, 4, 6]);
    const mu = 4.5, sd = Math.sqrt(42 / 7); // unbiased std of 1..8
    const t0 = Array.from(tok.data.subarray(0, 24));
    const m = 8 * mu, s = Math.log(0.9 * sd + 0.1) + 1.6;
    const expected = [
      (1 - mu) / sd, (2 - mu) / sd, (3 - mu) / sd, (4 - mu) / sd, m, s,
      (5 - mu) / sd, (6 - mu) / sd, (7 - mu) / sd, (8 - mu) / sd, m, s,
      m, s, m, s, m, s,
      m, s, m, s, m, s,
    ];
    t0.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 5));
    // constant B: data 0, sigma encoded as 0 (ln 0.1 + 1.6), and it decodes back exactly
    const t1 = Array.from(tok.data.subarray(24, 48));
    expect(t1[0]).toBe(0);
    expect(t1[4]).toBeCloseTo(4, 6);
    expect(t1[5]).toBeCloseTo(Math.log(0.1) + 1.6, 6);
    const back = detokenizeLora(tok, layout, config);
    expect(Array.from(back.tensors.get(peftTensorName(0, 'q_proj', 'B'))!.data)).toEqual(Array.from(B));
  });

  it('round-trips a random all-module adapter to 1e-6 relative (fp32), B^T chunked along out', () => {
    const adapter = randomAdapter({ numLayers: 3, hiddenSize: 32, intermediateSize: 96, kvOutSize: 16, targetModules: ALL }, 4, 1);
    const layout = loraTokenLayoutOf(adapter, 16);
    const tok = tokenizeLora(adapter, layout);
    const back = detokenizeLora(tok, layout, adapter.config);
    expect([...back.tensors.keys()].sort()).toEqual([...adapter.tensors.keys()].sort());
    expect(maxRelErr(adapter, back)).toBeLessThan(1e-6);
    // B's first token is B^T[:, 0:w]: its data row 0 is B[0:w, 0] normalised, so its order is B's column 0
    const qB = adapter.tensors.get(peftTensorName(0, 'q_proj', 'B'))!;
    const tokB = tok.data.subarray(layout.entries[0]!.bStart * 6 * 18);
    const col0 = Array.from({ length: 16 }, (_, j) => qB.data[j * 4]!);
    const order = (xs: number[]) => xs.map((_, i) => i).sort((a, b) => xs[a]! - xs[b]!);
    expect(order(Array.from(tokB.subarray(0, 16)))).toEqual(order(col0));
  });

  it('round-trips odd widths, rank 1 and a subset of modules', () => {
    const adapter = randomAdapter({ numLayers: 2, hiddenSize: 15, intermediateSize: 45, kvOutSize: 5, targetModules: ['q_proj', 'v_proj', 'down_proj'] }, 1, 2);
    const layout = loraTokenLayoutOf(adapter, 5);
    expect(layout.tokenShape).toEqual([2 * (3 + 3 + 1 + 3 + 9 + 3), 3, 7]);
    expect(maxRelErr(adapter, detokenizeLora(tokenizeLora(adapter, layout), layout, adapter.config))).toBeLessThan(1e-6);
  });

  it('keeps small-sigma chunks to a few 1e-9 absolute (the fp32 border floor)', () => {
    const adapter = randomAdapter(TINY, 2, 3, 1e-4, 1e-4);
    const layout = loraTokenLayoutOf(adapter, 4);
    const back = detokenizeLora(tokenizeLora(adapter, layout), layout, adapter.config);
    for (const [name, t] of adapter.tensors) {
      const u = back.tensors.get(name)!;
      t.data.forEach((v, i) => expect(Math.abs(v - u.data[i]!)).toBeLessThan(2e-8 + 1e-6 * Math.abs(v)));
    }
  });

  it('rejects mixed ranks, mixed targets and non-finite weights, naming what differs', () => {
    const a = randomAdapter(TINY, 2, 4);
    const layout = loraTokenLayoutOf(a, 4);
    expect(() => tokenizeLora(randomAdapter(TINY, 4, 5), layout)).toThrow('rank r=4 but the layout has rank 2');
    expect(() => tokenizeLora(randomAdapter({ ...TINY, targetModules: ['q_proj'] }, 2, 6), layout)).toThrow('mixed target modules');
    const bad = randomAdapter(TINY, 2, 7);
    bad.tensors.get(peftTensorName(1, 'o_proj', 'A'))!.data[3] = NaN;
    expect(() => tokenizeLora(bad, layout)).toThrow('layers.1.self_attn.o_proj.lora_A.weight chunk 0 holds a non-finite value');
    expect(() => detokenizeLora({ data: new Float32Array(3), shape: [3] }, layout, a.config)).toThrow('detokenizeLora: tokens');
  });
});

describe('tokenLossWeights', () => {
  it('is the normalised per-token std, mean 1, and up-weights the tokens that move', () => {
    const layout = loraTokenLayout(llamaLoraShapes(TINY), { rank: 2, width: 4 });
    const base = randomAdapter(TINY, 2, 8);
    const grids = [0, 1, 2, 3].map((k) => {
      const a = randomAdapter(TINY, 2, 8);
      // A stays fixed across checkpoints, B moves (as in the zoo: lora_A barely changes)
      for (const [name, t] of a.tensors) if (name.includes('lora_B')) t.data.forEach((_, i) => { t.data[i] = base.tensors.get(name)!.data[i]! * (1 + 0.3 * k * ((i % 3) - 1)); });
      return tokenizeLora(a, layout);
    });
    const w = tokenLossWeights(grids);
    expect(w.length).toBe(layout.numTokens);
    expect(w.reduce((s, x) => s + x, 0) / w.length).toBeCloseTo(1, 5);
    const e = layout.entries[0]!;
    expect(w[e.aStart]).toBe(0);
    expect(w[e.bStart]!).toBeGreaterThan(1);
    // against a direct two-pass computation for one token
    const per = 4 * 6;
    let total = 0;
    const std = new Float64Array(grids[0]!.data.length).map((_, i) => {
      const xs = grids.map((g) => g.data[i]!);
      const m = xs.reduce((s, x) => s + x, 0) / xs.length;
      const s = Math.sqrt(xs.reduce((s2, x) => s2 + (x - m) ** 2, 0) / (xs.length - 1));
      total += s;
      return s;
    });
    const t = e.bStart;
    const direct = (std.subarray(t * per, (t + 1) * per).reduce((s, x) => s + x / total, 0) / per) * std.length;
    expect(w[t]).toBeCloseTo(direct, 4);
    expect(Array.from(meanLossWeights([w, w]))).toEqual(Array.from(w));
  });

  it('throws for one checkpoint, mixed shapes and identical checkpoints', () => {
    const g = { data: new Float32Array(12).map((_, i) => i), shape: [2, 2, 3] };
    expect(() => tokenLossWeights([g])).toThrow('at least 2');
    expect(() => tokenLossWeights([g, { data: new Float32Array(6), shape: [1, 2, 3] }])).toThrow('grid 1');
    expect(() => tokenLossWeights([g, g])).toThrow('identical');
  });
});
