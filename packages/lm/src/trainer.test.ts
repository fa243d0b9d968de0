// The LoRA trainer: two AdamW steps match PyTorch + PEFT (loss and weights), only LoRA moves, state round-trips,
// no tensors leak.
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { DEFAULT_LORA_ADAPTER_CONFIG, initBackend, readPeftAdapter, readSafetensors } from '@dnd/core';
import { createRandomCausalLM, loadCausalLM, type TfCausalLM } from './causal-lm';
import { createLoraTrainer } from './trainer';

const FIX = path.join(__dirname, '..', 'test', 'fixtures');

beforeAll(async () => { await initBackend(); });

it.each([true, false])('two AdamW steps on LoRA match torch.optim.AdamW + PEFT (loss 1e-4 rel, weights 1e-4), checkpointing %s', async (gradientCheckpointing) => {
  const base = tf.memory().numTensors;
  const ref = readSafetensors(path.join(FIX, 'parity.safetensors')).tensors;
  const v = require(path.join(FIX, 'versions.json'));
  const lm = await loadCausalLM(path.join(FIX, 'llama'));
  lm.setLoraWeights(readPeftAdapter(path.join(FIX, 'llama-adapter')));
  const c = v.train_config;
  const tr = createLoraTrainer(lm, { lr: c.lr, betas: c.betas, eps: c.eps, weightDecay: c.weight_decay, maxGradNorm: c.max_grad_norm, gradientCheckpointing });
  const losses: number[] = [];
  for (let s = 0; s < c.steps; s++) losses.push((await tr.step(v.train, 64)).loss);
  const want = ref.get('train.losses')!.data as Float32Array;
  losses.forEach((l, i) => expect(Math.abs(l - want[i]!) / want[i]!).toBeLessThan(1e-4));
  let maxDiff = 0;
  for (const [name, t] of lm.getLoraWeights().tensors) {
    const r = ref.get(`train.after.${name}`)!.data as Float32Array;
    t.data.forEach((x, i) => { maxDiff = Math.max(maxDiff, Math.abs(x - r[i]!)); });
  }
  expect(maxDiff).toBeLessThan(1e-4);
  expect((lm as TfCausalLM).parts.fused).toBeNull(); // training alone never builds the stacked inference copies
  tr.dispose(); lm.dispose();
  expect(tf.memory().numTensors).toBe(base);
});

describe('on a random tiny model', () => {
  it('lowers the answer loss, leaves the base weights alone, and resumes from exported state', async () => {
    const base = tf.memory().numTensors;
    const lm = createRandomCausalLM({}, 3);
    const probe = [[72, 105, 33, 10, 65]];
    const before = lm.forwardLogits(probe).data;
    lm.attachLora({ ...DEFAULT_LORA_ADAPTER_CONFIG, r: 4, loraAlpha: 8, loraDropout: 0.1 }, 7);
    // B = 0 at init: the adapter starts as the identity.
    expect(lm.forwardLogits(probe).data).toEqual(before);
    const tr = createLoraTrainer(lm, { lr: 1e-2, seed: 1 });
    const batch = { prompts: ['2+2=', 'capital of France:'], answers: [' four', ' Paris'] };
    const first = await tr.step(batch, 32);
    expect(first.tokens).toBe(' four'.length + 1 + ' Paris'.length + 1); // bytes + EOS each
    let last = first;
    for (let i = 0; i < 8; i++) last = await tr.step(batch, 32);
    // A random model (init std 0.02) has small logits: the head bounds how far the loss can fall.
    expect(last.loss).toBeLessThan(first.loss - 0.5);

    // Resume: a fresh trainer importing the state takes the same next step as the original.
    const state = tr.exportState();
    const a = await tr.step(batch, 32);
    const afterA = lm.getLoraWeights();
    const tr2 = createLoraTrainer(lm, { lr: 1e-2, seed: 1 });
    tr2.importState(state);
    const b = await tr2.step(batch, 32);
    expect(b.loss).toBeCloseTo(a.loss, 5);
    for (const [n, t] of lm.getLoraWeights().tensors) {
      const o = afterA.tensors.get(n)!.data;
      t.data.forEach((x, i) => expect(Math.abs(x - o[i]!)).toBeLessThan(1e-6));
    }

    // Only LoRA trained: detaching restores the base model's logits exactly.
    lm.detachLora();
    expect(lm.forwardLogits(probe).data).toEqual(before);
    tr.dispose(); tr2.dispose(); lm.dispose();
    expect(tf.memory().numTensors).toBe(base);
  });

  it('gradient checkpointing gives the same step as plain backprop, LoRA dropout included', async () => {
    const results = [];
    for (const [gradientCheckpointing, seed] of [[true, 9], [false, 9], [true, 10]] as const) {
      const lm = createRandomCausalLM({}, 6);
      lm.attachLora({ ...DEFAULT_LORA_ADAPTER_CONFIG, r: 2, loraDropout: 0.3 }, 2);
      const w = lm.getLoraWeights();
      for (const [n, t] of w.tensors) if (n.includes('lora_B')) t.data.forEach((_, i) => { t.data[i] = ((i % 5) - 2) * 0.01; });
      lm.setLoraWeights(w);
      const tr = createLoraTrainer(lm, { lr: 1e-2, seed, gradientCheckpointing });
      const r = await tr.step({ prompts: ['hello ', 'a'], answers: ['world', 'bc'] }, 16);
      results.push({ loss: r.loss, w: lm.getLoraWeights() });
      tr.dispose(); lm.dispose();
    }
    expect(results[0]!.loss).toBeCloseTo(results[1]!.loss, 5);
    for (const [n, t] of results[0]!.w.tensors) {
      const o = results[1]!.w.tensors.get(n)!.data;
      t.data.forEach((x, i) => expect(Math.abs(x - o[i]!)).toBeLessThan(1e-6));
    }
    // Dropout is really on: another seed gives another loss.
    expect(Math.abs(results[2]!.loss - results[0]!.loss)).toBeGreaterThan(1e-4);
  });

  it('cuts long prompts from the left and keeps the answer', async () => {
    const lm = createRandomCausalLM({}, 4);
    lm.attachLora({ ...DEFAULT_LORA_ADAPTER_CONFIG, r: 2 }, 0);
    const tr = createLoraTrainer(lm, {});
    const r = await tr.step({ prompts: ['x'.repeat(100)], answers: ['abc'] }, 16);
    expect(r.tokens).toBe(4);
    await expect(tr.step({ prompts: ['a', 'b'], answers: ['c'] }, 16)).rejects.toThrow(/as many prompts as answers/);
    tr.dispose(); lm.dispose();
  });

  it('refuses to train merged LoRA or a model without LoRA', async () => {
    const lm = createRandomCausalLM({}, 5);
    expect(() => createLoraTrainer(lm, { lr: -1 })).toThrow(/lr must be a number >= 0, got -1/);
    const tr = createLoraTrainer(lm, {});
    await expect(tr.step({ prompts: ['a'], answers: ['b'] }, 8)).rejects.toThrow(/no LoRA attached/);
    lm.attachLora({ ...DEFAULT_LORA_ADAPTER_CONFIG, r: 2 }, 0);
    lm.mergeLora();
    await expect(tr.step({ prompts: ['a'], answers: ['b'] }, 8)).rejects.toThrow(/unmergeLora/);
    tr.dispose(); lm.dispose();
  });
});
