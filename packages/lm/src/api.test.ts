// The string-level API on a random tiny model (byte tokenizer): scoring agrees with per-token log-probs,
// lm-eval's context/continuation split, generation (greedy = argmax of scoring, seeded sampling), no leaks.
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@dnd/core';
import { createRandomCausalLM } from './causal-lm';
import type { CausalLM } from './types';

let lm: CausalLM;
let base: number;
beforeAll(async () => {
  await initBackend();
  base = tf.memory().numTensors;
  lm = createRandomCausalLM({ numHiddenLayers: 1 }, 11);
});
afterAll(() => {
  lm.dispose();
  expect(tf.memory().numTensors).toBe(base);
});

it('scoreContinuations sums the continuation tokens\' log-probs, batched or not', async () => {
  const items = [{ context: 'Q: 2+2?', continuation: ' 4' }, { context: 'abc', continuation: 'def' }, { context: 'x', continuation: 'yz!' }];
  const batched = await lm.scoreContinuations(items, { batchSize: 3 });
  const single = await lm.scoreContinuations(items, { batchSize: 1 });
  for (let i = 0; i < items.length; i++) {
    const ids = lm.tokenizer.encode(items[i]!.context + items[i]!.continuation);
    const [lp] = await lm.tokenLogprobs([ids]);
    const n = lm.tokenizer.encode(items[i]!.continuation).length;
    const want = lp!.slice(-n).reduce((a, b) => a + b, 0);
    expect(batched[i]!.numTokens).toBe(n);
    expect(batched[i]!.logprob).toBeCloseTo(want, 4);
    expect(single[i]!.logprob).toBeCloseTo(want, 4);
    expect(batched[i]!.logprob).toBeLessThan(0);
  }
});

it('moves trailing context spaces into the continuation and scores an empty context after EOS', async () => {
  const [a] = await lm.scoreContinuations([{ context: 'Answer: ', continuation: 'yes' }]);
  const [b] = await lm.scoreContinuations([{ context: 'Answer:', continuation: ' yes' }]);
  expect(a!.numTokens).toBe(4);
  expect(a!.logprob).toBeCloseTo(b!.logprob, 5);
  const [c] = await lm.scoreContinuations([{ context: '', continuation: 'hi' }]);
  const [lp] = await lm.tokenLogprobs([[257, 104, 105]]);
  expect(c!.logprob).toBeCloseTo(lp![0]! + lp![1]!, 5);
});

it('greedy generation follows the argmax that scoring reports (isGreedy)', async () => {
  const [out] = await lm.generate(['The sky is'], { maxNewTokens: 3 });
  const bytes = lm.tokenizer.encode(out!);
  expect(bytes.length).toBeGreaterThan(0);
  const [r] = await lm.scoreContinuations([{ context: 'The sky is', continuation: out! }]);
  expect(r!.isGreedy).toBe(true);
});

it('sampling depends on the seed only, and batches with left padding give the same text as one at a time', async () => {
  const opts = { maxNewTokens: 5, greedy: false, temperature: 1.5, seed: 3 };
  const s1 = await lm.generate(['a', 'longer prompt'], opts);
  const s2 = await lm.generate(['a', 'longer prompt'], opts);
  expect(s1).toEqual(s2);
  const g = await lm.generate(['a', 'longer prompt'], { maxNewTokens: 4 });
  const one = [...await lm.generate(['a'], { maxNewTokens: 4 }), ...await lm.generate(['longer prompt'], { maxNewTokens: 4 })];
  expect(g).toEqual(one);
  // Batches form longest first; the outputs come back in the prompts' order.
  const prompts = ['a', 'the longest prompt of all', 'mid prompt', 'b'];
  const alone = await Promise.all(prompts.map(async (p) => (await lm.generate([p], { maxNewTokens: 4 }))[0]));
  expect(await lm.generate(prompts, { maxNewTokens: 4, batchSize: 2 })).toEqual(alone);
  await expect(lm.generate(prompts, { maxNewTokens: 4, batchSize: 0 })).rejects.toThrow(/batchSize must be an integer >= 1/);
});

it('LoRA: attach, export under PEFT names, merge/unmerge round trip, detach', () => {
  lm.attachLora({ r: 2, loraAlpha: 4, loraDropout: 0, targetModules: ['q_proj', 'down_proj'], baseModelNameOrPath: 'random', useRslora: false }, 1);
  const w = lm.getLoraWeights();
  expect([...w.tensors.keys()].sort()).toEqual([
    'base_model.model.model.layers.0.mlp.down_proj.lora_A.weight', 'base_model.model.model.layers.0.mlp.down_proj.lora_B.weight',
    'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight', 'base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight',
  ]);
  // Give B values so the adapter changes the output.
  for (const [n, t] of w.tensors) if (n.includes('lora_B')) t.data.fill(0.05);
  lm.setLoraWeights(w);
  const withLora = lm.forwardLogits([[1, 2, 3]]).data;
  lm.mergeLora();
  const merged = lm.forwardLogits([[1, 2, 3]]).data;
  merged.forEach((x, i) => expect(Math.abs(x - withLora[i]!)).toBeLessThan(1e-5));
  lm.detachLora();
  const plain = lm.forwardLogits([[1, 2, 3]]).data;
  expect(Math.max(...plain.map((x, i) => Math.abs(x - withLora[i]!)))).toBeGreaterThan(1e-4);
  expect(lm.loraConfig()).toBeNull();
});

it('rejects bad requests with clear errors', async () => {
  await expect(lm.generate(['x'], { maxNewTokens: 0 })).rejects.toThrow(/maxNewTokens must be an integer >= 1, got 0/);
  await expect(lm.scoreContinuations([{ context: 'a', continuation: '' }])).rejects.toThrow(/item 0 has an empty continuation/);
  expect(() => lm.forwardLogits([[1, 999]])).toThrow(/token id 999 is outside \[0, 259\)/);
  expect(() => createRandomCausalLM({ numKeyValueHeads: 3 }, 0)).toThrow(/numKeyValueHeads=3 must divide numAttentionHeads=4/);
});
