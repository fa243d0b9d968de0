import * as tf from '@tensorflow/tfjs';
import { DEFAULT_LORA_ADAPTER_CONFIG, initBackend, type LoraAdapter } from '@dnd/core';
import { createRandomCausalLM } from '@dnd/lm';
import { DEFAULT_EVALUATOR_CONFIG } from './config';
import { GenerativeScorer, LoglikScorer } from './scorers';
import { AdapterMismatchError, baseModelKey, checkAdapterFits, hostCausalLM } from './scoring-model';
import { makeItems } from '../test/fake-model';

const LORA = { ...DEFAULT_LORA_ADAPTER_CONFIG, r: 2, loraAlpha: 4, targetModules: ['q_proj', 'v_proj'], baseModelNameOrPath: 'tiny/llama' };

/** A LoRA for `hiddenSize` with B != 0, made by the model itself. */
function adapterFor(hiddenSize: number, seed: number): LoraAdapter {
  const lm = createRandomCausalLM({ hiddenSize, intermediateSize: 2 * hiddenSize }, seed);
  try {
    lm.attachLora(LORA, seed);
    const a = lm.getLoraWeights();
    for (const [n, t] of a.tensors) if (n.includes('lora_B')) t.data.forEach((_, i) => { t.data[i] = 0.05 * Math.sin(i + seed); });
    return { config: { ...LORA }, tensors: a.tensors };
  } finally {
    lm.dispose();
  }
}

beforeAll(async () => { await initBackend(); });

describe('baseModelKey / checkAdapterFits', () => {
  it('compares base names by last path component, case-insensitively', () => {
    expect(baseModelKey('Qwen/Qwen2.5-0.5B')).toBe(baseModelKey('/models/qwen2.5-0.5b/'));
    const a = adapterFor(64, 1);
    expect(() => checkAdapterFits(a, '/m/tiny/LLAMA', null, 'x')).not.toThrow();
    expect(() => checkAdapterFits(a, 'meta/llama-3-8b', null, 'x')).toThrow(AdapterMismatchError);
    expect(() => checkAdapterFits({ ...a, config: { ...a.config, baseModelNameOrPath: '' } }, 'anything', null, 'x')).not.toThrow();
  });
});

describe('hostCausalLM on @dnd/lm', () => {

  it('switches adapters (scores change), refuses adapters of another shape, and frees every tensor', async () => {
    const before = tf.memory().numTensors;
    const lm = createRandomCausalLM({}, 7);
    try {
      const model = hostCausalLM(lm, 'tiny/llama');
      const items = makeItems('s', 4, ['yes', 'no']).map((it) => ({ ...it, context: `Question: is ${it.id} true?\nAnswer:` }));
      const scorer = new LoglikScorer();
      const base = await scorer.score(model, items);
      await model.useAdapter(adapterFor(64, 3));
      const withLora = await scorer.score(model, items);
      expect(withLora[0]!.choiceScores[0]).not.toBeCloseTo(base[0]!.choiceScores[0]!, 4);
      await model.useAdapter(null);
      const again = await scorer.score(model, items);
      expect(again[0]!.choiceScores[0]).toBeCloseTo(base[0]!.choiceScores[0]!, 4);

      await expect(model.useAdapter(adapterFor(32, 4))).rejects.toThrow(/shape \[2,32\], but base "tiny\/llama" needs \[2,64\]/);
      expect(lm.loraConfig()).toBeNull(); // a refused adapter leaves the bare base
      const bad = adapterFor(64, 5);
      bad.config.baseModelNameOrPath = 'Qwen/Qwen2.5-7B';
      await expect(model.useAdapter(bad)).rejects.toThrow(/made for base model "Qwen\/Qwen2.5-7B"/);

      // Generative scoring runs end to end; a random model's text is almost surely outside the format.
      const gen = await new GenerativeScorer({ ...DEFAULT_EVALUATOR_CONFIG.generative, maxNewTokens: 3 }).score(model, items);
      expect(gen.every((g) => typeof g.output === 'string')).toBe(true);
      expect(gen.filter((g) => g.prediction === -1).every((g) => !g.correct)).toBe(true);
    } finally {
      lm.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});
