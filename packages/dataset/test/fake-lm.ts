// A pure-JS stand-in for @dnd/lm's CausalLM + LoRA trainer, for fast tests of collection bookkeeping
// (resume, manifests, digests). Deterministic: a step's update depends only on the state and the batch.
// Not a language model: the "loss" is a made-up decreasing number.
import { createHash } from 'crypto';
import { llamaLoraShapes, peftTensorName, seededRandom, type LoraAdapter, type LoraAdapterConfig, type TensorData } from '@dnd/core';
import type { CausalLM, LoraTrainer, LoraTrainerConfig, LoraTrainerState, TrainBatch } from '@dnd/lm';

export const FAKE_SHAPES = { numLayers: 2, hiddenSize: 8, intermediateSize: 16, kvOutSize: 4 };

export class FakeLM {
  source = '';
  config = { fake: true, ...FAKE_SHAPES } as any;
  lora: LoraAdapter | null = null;
  attachLora(cfg: LoraAdapterConfig, seed: number): void {
    const rng = seededRandom(seed, 'fake-lora');
    const tensors = new Map<string, TensorData>();
    for (const s of llamaLoraShapes({ ...FAKE_SHAPES, targetModules: cfg.targetModules })) {
      tensors.set(peftTensorName(s.layer, s.module, 'A'), { data: Float32Array.from({ length: cfg.r * s.inFeatures }, () => rng.next() - 0.5), shape: [cfg.r, s.inFeatures] });
      tensors.set(peftTensorName(s.layer, s.module, 'B'), { data: new Float32Array(s.outFeatures * cfg.r), shape: [s.outFeatures, cfg.r] });
    }
    this.lora = { config: cfg, tensors };
  }
  setLoraWeights(a: LoraAdapter): void {
    this.lora = { config: a.config, tensors: new Map([...a.tensors].map(([k, t]) => [k, { data: t.data.slice(), shape: [...t.shape] }])) };
  }
  getLoraWeights(): LoraAdapter {
    if (!this.lora) throw new Error('no LoRA');
    return { config: this.lora.config, tensors: new Map([...this.lora.tensors].map(([k, t]) => [k, { data: t.data.slice(), shape: [...t.shape] }])) };
  }
  detachLora(): void { this.lora = null; }
  dispose(): void { this.lora = null; }
}

export function createFakeTrainer(model: CausalLM, config: LoraTrainerConfig): LoraTrainer {
  const lm = model as unknown as FakeLM;
  let step = 0;
  let m = new Map<string, TensorData>();
  let v = new Map<string, TensorData>();
  return {
    config,
    async step(batch: TrainBatch, _maxLen: number) {
      step++;
      const h = createHash('sha256').update(JSON.stringify(batch)).digest();
      const lora = lm.lora!;
      for (const [k, t] of lora.tensors) {
        const g = new Float32Array(t.data.length).map((_, i) => ((h[i % 32]! / 255) - 0.5) * (k.includes('lora_B') ? 1 : 0.1));
        const mk = m.get(k) ?? { data: new Float32Array(g.length), shape: [...t.shape] };
        const vk = v.get(k) ?? { data: new Float32Array(g.length), shape: [...t.shape] };
        for (let i = 0; i < g.length; i++) {
          mk.data[i] = 0.9 * mk.data[i]! + 0.1 * g[i]!;
          vk.data[i] = 0.999 * vk.data[i]! + 0.001 * g[i]! * g[i]!;
          t.data[i] = t.data[i]! - config.lr * mk.data[i]! / (Math.sqrt(vk.data[i]!) + 1e-8);
        }
        m.set(k, mk); v.set(k, vk);
      }
      return { loss: 2 / (1 + step) + h[0]! / 2550, tokens: batch.answers.length * 5 };
    },
    exportState(): LoraTrainerState {
      const copy = (x: Map<string, TensorData>) => new Map([...x].map(([k, t]) => [k, { data: t.data.slice(), shape: [...t.shape] }]));
      return { step, m: copy(m), v: copy(v), lora: lm.getLoraWeights() };
    },
    importState(s: LoraTrainerState) {
      step = s.step; m = s.m; v = s.v;
      lm.setLoraWeights(s.lora);
    },
    dispose() { m = new Map(); v = new Map(); },
  };
}
