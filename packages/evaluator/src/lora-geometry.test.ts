import { mulberry32, uniformArray, type LoraAdapter } from '@dnd/core';
import { deltaCosine, deltaDistance, deltaInner, loraSpread } from './lora-geometry';

// Two modules (q_proj [out 6, in 5], v_proj [out 3, in 5]); delta W formed explicitly here to check the factor identities.
const SHAPES = { q_proj: [6, 5], v_proj: [3, 5] } as const;
const rand = (n: number, seed: number) => uniformArray(n, 1, mulberry32(seed));
function adapter(seed: number, r = 2, alpha = 4): LoraAdapter {
  const tensors = new Map<string, { data: Float32Array; shape: number[] }>();
  let s = seed;
  for (const [m, [out, inF]] of Object.entries(SHAPES)) {
    const key = `base_model.model.model.layers.0.self_attn.${m}`;
    tensors.set(`${key}.lora_A.weight`, { data: rand(r * inF, s++), shape: [r, inF] });
    tensors.set(`${key}.lora_B.weight`, { data: rand(out * r, s++), shape: [out, r] });
  }
  return { config: { r, loraAlpha: alpha, loraDropout: 0, targetModules: ['q_proj', 'v_proj'], baseModelNameOrPath: 'x', useRslora: false }, tensors };
}
/** delta W of every module, flattened and concatenated (the direct computation). */
function deltaW(a: LoraAdapter): number[] {
  const out: number[] = [];
  const scale = a.config.loraAlpha / a.config.r;
  for (const m of Object.keys(SHAPES)) {
    const key = `base_model.model.model.layers.0.self_attn.${m}`;
    const A = a.tensors.get(`${key}.lora_A.weight`)!, B = a.tensors.get(`${key}.lora_B.weight`)!;
    const [r, inF] = A.shape as [number, number], outF = B.shape[0]!;
    for (let o = 0; o < outF; o++) for (let k = 0; k < inF; k++) {
      let v = 0;
      for (let i = 0; i < r; i++) v += B.data[o * r + i]! * A.data[i * inF + k]!;
      out.push(scale * v);
    }
  }
  return out;
}
const dot = (x: number[], y: number[]) => x.reduce((s, v, i) => s + v * y[i]!, 0);

describe('lora geometry', () => {
  it('inner product, cosine and distance equal those of the explicit delta W (different ranks too)', () => {
    const a = adapter(1), b = adapter(7, 3, 6);
    const wa = deltaW(a), wb = deltaW(b);
    expect(deltaInner(a, b)).toBeCloseTo(dot(wa, wb), 4);
    expect(deltaCosine(a, b)).toBeCloseTo(dot(wa, wb) / Math.sqrt(dot(wa, wa) * dot(wb, wb)), 6);
    expect(deltaDistance(a, b)).toBeCloseTo(Math.sqrt(wa.reduce((s, v, i) => s + (v - wb[i]!) ** 2, 0)), 4);
    expect(deltaCosine(a, a)).toBeCloseTo(1, 10);
    expect(deltaDistance(a, a)).toBeCloseTo(0, 3);
  });
  it('spread: groups of near-copies are tighter within than between', () => {
    const jitter = (base: LoraAdapter, seed: number): LoraAdapter => ({
      config: base.config,
      tensors: new Map([...base.tensors].map(([k, t]) => [k, { data: t.data.map((v, i) => v + 0.01 * rand(t.data.length, seed)[i]!), shape: t.shape }])),
    });
    const x = adapter(11), y = adapter(23);
    const s = loraSpread(new Map([['X', [jitter(x, 1), jitter(x, 2), jitter(x, 3)]], ['Y', [jitter(y, 4), jitter(y, 5)]]]));
    expect(s.within.map((w) => [w.group, w.count])).toEqual([['X', 3], ['Y', 2]]);
    expect(s.between!).toBeGreaterThan(10 * Math.max(s.within[0]!.meanDistance!, s.within[1]!.meanDistance!));
    expect(s.ratio!).toBeGreaterThan(10);
    // One LoRA per group: no within spread, no ratio.
    expect(loraSpread(new Map([['X', [x]], ['Y', [y]]]))).toMatchObject({ within: [{ meanDistance: null }, { meanDistance: null }], ratio: null });
    expect(loraSpread(new Map([['X', [x]], ['Y', [y]]])).between).toBeCloseTo(deltaDistance(x, y), 10);
  });
  it('names the adapter and module that do not match', () => {
    const a = adapter(1), b = adapter(2);
    b.tensors.delete('base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight');
    expect(() => deltaInner(a, b, ['gen', 'own'])).toThrow(/own has .*v_proj.lora_A.weight but no .*v_proj.lora_B.weight/);
  });
});
