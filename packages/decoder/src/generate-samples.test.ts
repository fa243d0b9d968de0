// Tests for K-samples-of-N generation: each sample is byte-identical to generateLora on the prompts the
// pipeline's draw `seededRandom(seed, 'generate', name, k).sample(pool, N)` picks, lands in <outDir>/<name>-<k>,
// and a pool smaller than N or a wrong N is refused before anything is written.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { DEFAULT_LORA_ADAPTER_CONFIG, initBackend, isBadInput, llamaLoraShapes, loraTokenLayout, seededRandom, type LoraAdapterConfig } from '@dnd/core';
import { TINY_BERT_CONFIG, createRandomBert } from '@dnd/encoder';
import { generateLora } from './generate';
import { generateLoraSamples, samplePromptIndices } from './generate-samples';
import { HyperConvDecoder } from './hyperconv';

beforeAll(async () => {
  await initBackend();
});

const SPEC = { numLayers: 1, hiddenSize: 16, intermediateSize: 32, kvOutSize: 8, targetModules: ['q_proj', 'v_proj'] };
const ADAPTER_CONFIG: LoraAdapterConfig = { ...DEFAULT_LORA_ADAPTER_CONFIG, r: 2, loraAlpha: 4, targetModules: ['q_proj', 'v_proj'], baseModelNameOrPath: 'tiny-llama' };
const TEMPLATE = { layout: loraTokenLayout(llamaLoraShapes(SPEC), { rank: 2, width: 8 }), adapterConfig: ADAPTER_CONFIG };
const TEXTS = Array.from({ length: 11 }, (_, i) => `Question ${i}: which of the ${i + 2} options is right?`);

describe('generateLoraSamples', () => {
  it('writes K adapters byte-identical to generateLora on the seeded draw of N prompts each', async () => {
    const encoder = createRandomBert(TINY_BERT_CONFIG, 3);
    const gen = HyperConvDecoder.create({ features: [[4, 16, 32], [6, 8, 16], [7, 4, 10]], kernelSize: 3 }, 5);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dnd-samples-'));
    const seen: number[] = [];
    const before = tf.memory().numTensors;
    const out = await generateLoraSamples(TEXTS, gen, { samples: 3, seed: 7, name: 'piqa', encoder, template: TEMPLATE, outDir: path.join(dir, 'a'), onSample: (k) => seen.push(k) });
    expect(seen).toEqual([0, 1, 2]);
    expect(tf.memory().numTensors).toBe(before);
    expect(out.map((s) => path.relative(dir, s.dir))).toEqual(['a/piqa-0', 'a/piqa-1', 'a/piqa-2']);
    for (const s of out) {
      const idx = seededRandom(7, 'generate', 'piqa', s.sample).sample(TEXTS.length, 4);
      expect(s.promptIndices).toEqual(idx);
      expect(samplePromptIndices(7, 'piqa', s.sample, TEXTS.length, 4)).toEqual(idx);
      const ref = path.join(dir, 'b', `piqa-${s.sample}`);
      await generateLora(idx.map((i) => TEXTS[i]!), gen, { encoder, ...TEMPLATE, outDir: ref, extra: { sample: String(s.sample) } });
      for (const f of ['adapter_model.safetensors', 'adapter_config.json']) expect(fs.readFileSync(path.join(s.dir, f)).equals(fs.readFileSync(path.join(ref, f)))).toBe(true);
    }
    // Different samples are conditioned on different prompts, so they differ.
    expect(out[0]!.promptIndices).not.toEqual(out[1]!.promptIndices);
    expect(fs.readFileSync(path.join(out[0]!.dir, 'adapter_model.safetensors')).equals(fs.readFileSync(path.join(out[1]!.dir, 'adapter_model.safetensors')))).toBe(false);
    gen.dispose();
    encoder.dispose();
  });

  it('refuses a pool smaller than N and a promptsPerLora other than the chain\'s N, writing nothing', async () => {
    const encoder = createRandomBert(TINY_BERT_CONFIG, 3);
    const gen = HyperConvDecoder.create({ features: [[4, 16, 32], [7, 4, 10]], kernelSize: 3 }, 5);
    const outDir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'dnd-samples-')), 'x');
    const opts = { samples: 2, seed: 1, name: 'boolq', encoder, template: TEMPLATE, outDir };
    const small = generateLoraSamples(TEXTS.slice(0, 3), gen, opts);
    await expect(small).rejects.toThrow('"boolq" has 3 prompts, the generator takes N = 4');
    await expect(generateLoraSamples(TEXTS.slice(0, 3), gen, opts).catch((e) => isBadInput(e))).resolves.toBe(true);
    await expect(generateLoraSamples(TEXTS, gen, { ...opts, promptsPerLora: 8 })).rejects.toThrow('promptsPerLora = 8 but the generator takes N = 4');
    await expect(generateLoraSamples(TEXTS, gen, { ...opts, samples: 0 })).rejects.toThrow('samples must be an integer >= 1, got 0');
    expect(fs.existsSync(outDir)).toBe(false);
    gen.dispose();
    encoder.dispose();
  });
});
