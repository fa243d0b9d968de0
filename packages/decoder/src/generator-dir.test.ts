// Tests for the portable generator directory: a written directory reads back to a decoder with identical
// predictions and a template that generates adapters naming the base model, records names and digests
// only (no host paths), and every way it can be wrong (missing, corrupt, another base model or encoder,
// weights that do not fit the chain) is a clear BadInputError that leaves nothing half-written.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { DEFAULT_LORA_ADAPTER_CONFIG, initBackend, isBadInput, llamaLoraShapes, loraTokenLayout, readPeftAdapter, type LoraAdapterConfig } from '@dnd/core';
import { TINY_BERT_CONFIG, createRandomBert } from '@dnd/encoder';
import type { DecoderConfig } from './decoder-config';
import { generateLora } from './generate';
import { readGeneratorDir, readGeneratorManifest, writeGeneratorDir, type GeneratorDirInput } from './generator-dir';
import { HyperConvDecoder } from './hyperconv';
import { DEFAULT_TRAIN_CONFIG } from './train-config';

beforeAll(async () => {
  await initBackend();
});

const SPEC = { numLayers: 2, hiddenSize: 16, intermediateSize: 32, kvOutSize: 8, targetModules: ['q_proj', 'v_proj'] };
const ADAPTER_CONFIG: LoraAdapterConfig = { ...DEFAULT_LORA_ADAPTER_CONFIG, r: 2, loraAlpha: 4, targetModules: ['q_proj', 'v_proj'], baseModelNameOrPath: '/home/someone/models/tiny-llama' };
const LAYOUT = loraTokenLayout(llamaLoraShapes(SPEC), { rank: 2, width: 8 }); // 2 layers x (q: 2 + 2, v: 2 + 1) -> 14 tokens of 4 x 10
const CHAIN: DecoderConfig = { features: [[4, 16, 32], [8, 8, 16], [14, 4, 10]], kernelSize: 3 };
const PROMPTS = ['What is the capital of France?', 'Is water wet?', 'Pick A or B.', 'Which one floats?'];

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'dnd-gendir-'));
}

function input(gen: HyperConvDecoder, encoderDigest: string): GeneratorDirInput {
  return {
    params: gen.stateDict(), decoder: CHAIN, template: { layout: LAYOUT, adapterConfig: ADAPTER_CONFIG },
    encoder: { name: 'tiny-bert', digest: encoderDigest, kind: 'bert' },
    baseModel: { name: 'tiny-llama', digest: 'b'.repeat(64), architecture: 'LlamaForCausalLM' },
    training: { sets: ['arc-e', 'boolq'], heldOut: ['piqa'], loss: { kind: 'weighted-mse', tokenWeights: 'method' }, train: { ...DEFAULT_TRAIN_CONFIG, totalSteps: 10 }, steps: 10, finalLoss: 0.0123, settings: { splitSeed: 0 } },
    evaluation: [{ set: 'piqa', n: 50, metric: 'acc', base: 0.5, generated: 0.56, trainingLoraMean: 0.52 }],
  };
}

describe('generator directory', () => {
  it('round-trips: same predictions, names and digests only, a model card, adapters that name the base model', async () => {
    const encoder = createRandomBert(TINY_BERT_CONFIG, 3);
    const gen = HyperConvDecoder.create(CHAIN, 5);
    const dir = path.join(tmp(), 'gen');
    const m = writeGeneratorDir(dir, input(gen, encoder.digest));
    expect(fs.readdirSync(dir).sort()).toEqual(['README.md', 'generator.json', 'generator.safetensors']);
    expect(fs.readdirSync(path.dirname(dir))).toEqual(['gen']); // no temporary left beside it
    const json = fs.readFileSync(path.join(dir, 'generator.json'), 'utf8');
    expect(json).not.toContain('/home/someone');
    expect(m.lora.adapterConfig.baseModelNameOrPath).toBe('tiny-llama');
    expect(m.baseModel).toMatchObject({ name: 'tiny-llama', numLayers: 2, moduleShapes: { q_proj: [16, 16], v_proj: [16, 8] } });
    expect([m.condition, m.tokenGrid]).toEqual([{ promptsPerLora: 4, textLength: 16, dim: 32 }, [14, 4, 10]]);
    expect(m.versions['@dnd/decoder']).toMatch(/^\d+\.\d+\.\d+/);
    const card = fs.readFileSync(path.join(dir, 'README.md'), 'utf8');
    expect(card).toContain('# DnD generator for tiny-llama');
    expect(card).toContain('| piqa | 50 | acc | 50.0 | 56.0 | 52.0 |');

    const g = readGeneratorDir(dir, { baseModel: { name: 'tiny-llama' }, encoder: { name: 'tiny-bert', digest: encoder.digest } });
    expect(g.digest).toBe(readGeneratorManifest(dir).digest);
    expect(g.digest).toMatch(/^[0-9a-f]{64}$/);
    // The identity ignores the description (scores, training record) and follows the weights.
    const edited = path.join(tmp(), 'edited');
    fs.cpSync(dir, edited, { recursive: true });
    const mj = JSON.parse(json);
    fs.writeFileSync(path.join(edited, 'generator.json'), JSON.stringify({ ...mj, evaluation: null, training: { ...mj.training, finalLoss: 1 } }));
    expect(readGeneratorManifest(edited).digest).toBe(g.digest);
    fs.writeFileSync(path.join(edited, 'generator.json'), JSON.stringify({ ...mj, weights: { ...mj.weights, sha256: 'f'.repeat(64) } }));
    expect(readGeneratorManifest(edited).digest).not.toBe(g.digest);
    const x = { data: new Float32Array(4 * 16 * 32).map((_, i) => Math.cos(i)), shape: [4, 16, 32] };
    expect(Array.from(g.generator.predict(x).data)).toEqual(Array.from(gen.predict(x).data));
    const out = path.join(tmp(), 'lora');
    await generateLora(PROMPTS, g.generator, { encoder, ...g.template, outDir: out });
    expect(JSON.parse(fs.readFileSync(path.join(out, 'adapter_config.json'), 'utf8')).base_model_name_or_path).toBe('tiny-llama');
    expect(readPeftAdapter(out).tensors.size).toBe(8);
    g.generator.dispose();
    gen.dispose();
    encoder.dispose();
  });

  it('refuses a generator for another base model or encoder, by name and by digest', () => {
    const gen = HyperConvDecoder.create(CHAIN, 5);
    const dir = path.join(tmp(), 'gen');
    writeGeneratorDir(dir, input(gen, 'e'.repeat(64)));
    gen.dispose();
    expect(() => readGeneratorDir(dir, { baseModel: { name: 'smollm2-135m-instruct' } })).toThrow('trained for base model "tiny-llama", not "smollm2-135m-instruct"');
    expect(() => readGeneratorDir(dir, { encoder: { name: 'all-MiniLM-L6-v2' } })).toThrow('trained for encoder "tiny-bert", not "all-MiniLM-L6-v2"');
    expect(() => readGeneratorDir(dir, { encoder: { name: 'tiny-bert', digest: 'f'.repeat(64) } })).toThrow('encoder "tiny-bert" has digest ffffffffffff..., the generator was trained with eeeeeeeeeeee...');
    let err: unknown;
    try { readGeneratorDir(dir, { baseModel: { name: 'other' } }); } catch (e) { err = e; }
    expect(isBadInput(err)).toBe(true);
  });

  it('names what is wrong with a missing, corrupt or inconsistent directory', () => {
    const gen = HyperConvDecoder.create(CHAIN, 5);
    const root = tmp();
    const dir = path.join(root, 'gen');
    writeGeneratorDir(dir, input(gen, 'e'.repeat(64)));
    gen.dispose();
    expect(() => readGeneratorDir(path.join(root, 'nope'))).toThrow(`generator directory ${path.join(root, 'nope')} not found`);
    fs.mkdirSync(path.join(root, 'empty'));
    expect(() => readGeneratorDir(path.join(root, 'empty'))).toThrow('is not a generator directory (no generator.json)');

    const flip = path.join(root, 'flip');
    fs.cpSync(dir, flip, { recursive: true });
    const w = fs.readFileSync(path.join(flip, 'generator.safetensors'));
    w[w.length - 1] = w[w.length - 1]! ^ 0xff;
    fs.writeFileSync(path.join(flip, 'generator.safetensors'), w);
    expect(() => readGeneratorDir(flip)).toThrow('(corrupt or replaced weights)');

    const bad = path.join(root, 'bad-json');
    fs.cpSync(dir, bad, { recursive: true });
    fs.writeFileSync(path.join(bad, 'generator.json'), '{"format": "dnd-generator", ');
    expect(() => readGeneratorDir(bad)).toThrow('generator.json: invalid JSON');

    const k5 = path.join(root, 'k5');
    fs.cpSync(dir, k5, { recursive: true });
    const m = JSON.parse(fs.readFileSync(path.join(k5, 'generator.json'), 'utf8'));
    m.decoder.kernelSize = 5;
    fs.writeFileSync(path.join(k5, 'generator.json'), JSON.stringify(m));
    expect(() => readGeneratorDir(k5)).toThrow('model.decoder.module_list.0.linear1.conv1w.weight');

    const hostPath = path.join(root, 'host-path');
    fs.cpSync(dir, hostPath, { recursive: true });
    const m2 = JSON.parse(fs.readFileSync(path.join(hostPath, 'generator.json'), 'utf8'));
    m2.training.sets = ['file:///data/arc-e'];
    fs.writeFileSync(path.join(hostPath, 'generator.json'), JSON.stringify(m2));
    expect(() => readGeneratorManifest(hostPath)).toThrow('training.sets[0]: "file:///data/arc-e" is a host path');
  });

  it('writes nothing when the input is wrong, and never over an existing directory', () => {
    const gen = HyperConvDecoder.create(CHAIN, 5);
    const root = tmp();
    const good = input(gen, 'e'.repeat(64));
    gen.dispose();
    const missing = new Map(good.params);
    missing.delete('model.decoder.module_list.1.linear2.bias');
    expect(() => writeGeneratorDir(path.join(root, 'a'), { ...good, params: missing })).toThrow('parameter "model.decoder.module_list.1.linear2.bias" is missing');
    expect(() => writeGeneratorDir(path.join(root, 'b'), { ...good, encoder: { ...good.encoder, name: '/models/all-MiniLM-L6-v2' } })).toThrow('encoder.name: "/models/all-MiniLM-L6-v2" is a host path');
    expect(() => writeGeneratorDir(path.join(root, 'c'), { ...good, decoder: { ...CHAIN, features: [[4, 16, 32], [14, 4, 12]] } })).toThrow('the feature chain ends at [14,4,12] but the token grid is [14,4,10]');
    expect(fs.readdirSync(root)).toEqual([]);
    fs.mkdirSync(path.join(root, 'taken'));
    fs.writeFileSync(path.join(root, 'taken', 'keep.txt'), 'mine');
    expect(() => writeGeneratorDir(path.join(root, 'taken'), good)).toThrow('exists and is not an empty directory');
    expect(fs.readdirSync(path.join(root, 'taken'))).toEqual(['keep.txt']);
  });
});
