// Tests for prompt-to-LoRA generation: through the tiny random BERT of @dnd/encoder and a tiny decoder,
// generateLora writes a PEFT adapter that reads back equal to de-tokenising the decoder's output, with
// the zoo's adapter_config; plus checkpoint loading and the clear errors for mismatched shapes.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import {
  DEFAULT_LORA_ADAPTER_CONFIG, detokenizeLora, initBackend, llamaLoraShapes, loraTokenLayout, peftTensorName, readPeftAdapter,
  writePeftAdapter, type LoraAdapter, type LoraAdapterConfig,
} from '@dnd/core';
import { TINY_BERT_CONFIG, createRandomBert } from '@dnd/encoder';
import type { DecoderConfig } from './decoder-config';
import { generateLora, loadGenerator, loraTemplateFromAdapter } from './generate';
import { HyperConvDecoder } from './hyperconv';
import { trainDecoder } from './trainer';
import { DEFAULT_TRAIN_CONFIG } from './train-config';

beforeAll(async () => {
  await initBackend();
});

const SPEC = { numLayers: 1, hiddenSize: 16, intermediateSize: 32, kvOutSize: 8, targetModules: ['q_proj', 'v_proj'] };
const ADAPTER_CONFIG: LoraAdapterConfig = { ...DEFAULT_LORA_ADAPTER_CONFIG, r: 2, loraAlpha: 4, targetModules: ['q_proj', 'v_proj'], baseModelNameOrPath: 'tiny-llama' };
const LAYOUT = loraTokenLayout(llamaLoraShapes(SPEC), { rank: 2, width: 8 }); // q: 2 + 2, v: 2 + 1 -> 7 tokens of 4 x 10
const PROMPTS = ['What is the capital of France?', 'Is water wet?', 'Pick A or B.', 'Which one floats?'];
const CHAIN: DecoderConfig = { features: [[4, 16, 32], [6, 8, 16], [7, 4, 10]], kernelSize: 3 };

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'dnd-gen-'));
}

describe('generateLora', () => {
  it('encodes, decodes and writes a PEFT adapter equal to de-tokenising the decoder output', async () => {
    const encoder = createRandomBert(TINY_BERT_CONFIG, 3);
    const before = tf.memory().numTensors;
    const gen = HyperConvDecoder.create(CHAIN, 5);
    const out = path.join(tmp(), 'gen-0');
    const r = await generateLora(PROMPTS, gen, { encoder, layout: LAYOUT, adapterConfig: ADAPTER_CONFIG, outDir: out });
    expect(r.dir).toBe(out);
    expect(r.seconds).toBeGreaterThan(0);
    expect(r.seconds).toBeGreaterThanOrEqual(r.encodeSeconds + r.decodeSeconds);
    const written = readPeftAdapter(out);
    expect(written.config).toEqual(ADAPTER_CONFIG);
    const cfgJson = JSON.parse(fs.readFileSync(path.join(out, 'adapter_config.json'), 'utf8'));
    expect([cfgJson.r, cfgJson.lora_alpha, cfgJson.target_modules, cfgJson.peft_type]).toEqual([2, 4, ['q_proj', 'v_proj'], 'LORA']);
    const cond = (await encoder.encode(PROMPTS, { maxLength: 16 })).condition;
    const expected = detokenizeLora(gen.predict(cond), LAYOUT, ADAPTER_CONFIG);
    for (const [name, t] of expected.tensors) {
      const w = written.tensors.get(name)!;
      expect(w.shape).toEqual(t.shape);
      t.data.forEach((v, i) => expect(w.data[i]).toBeCloseTo(v, 5));
    }
    expect(written.tensors.get(peftTensorName(0, 'v_proj', 'B'))!.shape).toEqual([8, 2]);
    gen.dispose();
    expect(tf.memory().numTensors).toBe(before);
    encoder.dispose();
  });

  it('takes its layout and config from a zoo adapter, and a generator from a training checkpoint', async () => {
    const dir = tmp();
    const zoo: LoraAdapter = { config: ADAPTER_CONFIG, tensors: new Map() };
    for (const e of LAYOUT.entries) {
      zoo.tensors.set(e.aName, { data: new Float32Array(2 * e.inFeatures).fill(0.1), shape: [2, e.inFeatures] });
      zoo.tensors.set(e.bName, { data: new Float32Array(e.outFeatures * 2), shape: [e.outFeatures, 2] });
    }
    writePeftAdapter(path.join(dir, 'zoo-0'), zoo);
    const tpl = loraTemplateFromAdapter(path.join(dir, 'zoo-0'), 8);
    expect(tpl.layout).toEqual(LAYOUT);
    const batches = [{ condition: { data: new Float32Array(4 * 16 * 32).fill(0.5), shape: [1, 4, 16, 32] }, target: { data: new Float32Array(7 * 4 * 10).fill(0.2), shape: [1, 7, 4, 10] } }];
    const trained = await trainDecoder({ decoder: CHAIN, train: { ...DEFAULT_TRAIN_CONFIG, totalSteps: 1 }, lossWeights: new Float32Array(7).fill(1), batches, checkpointDir: path.join(dir, 'ck'), meta: { layout: tpl.layout } });
    const { generator, state } = loadGenerator(path.join(dir, 'ck'));
    expect(state.step).toBe(1);
    expect(state.meta.layout).toEqual(LAYOUT);
    const x = { data: new Float32Array(4 * 16 * 32).map((_, i) => Math.sin(i)), shape: [4, 16, 32] };
    expect(Array.from(generator.predict(x).data)).toEqual(Array.from(trained.generator.predict(x).data));
    generator.dispose();
    trained.generator.dispose();
  });

  it('names the mismatch: prompt count, chain vs token grid, chain vs condition', async () => {
    const encoder = createRandomBert(TINY_BERT_CONFIG, 3);
    const gen = HyperConvDecoder.create(CHAIN, 5);
    const opts = { encoder, layout: LAYOUT, adapterConfig: ADAPTER_CONFIG, outDir: path.join(tmp(), 'x') };
    await expect(generateLora(PROMPTS.slice(0, 3), gen, opts)).rejects.toThrow('got 3 prompts, the generator takes N=4');
    const wide = loraTokenLayout(llamaLoraShapes(SPEC), { rank: 2, width: 4 });
    await expect(generateLora(PROMPTS, gen, { ...opts, layout: wide })).rejects.toThrow('the feature chain ends at [7,4,10] but the token grid is [14,4,6]');
    await expect(generateLora(PROMPTS, gen, { ...opts, maxLength: 8 })).rejects.toThrow('the condition is [4,8,32] (N, L, C) but the feature chain starts at [4,16,32]');
    expect(fs.existsSync(opts.outDir)).toBe(false);
    gen.dispose();
    encoder.dispose();
  });
});
