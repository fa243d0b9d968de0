// dnd export-generator on a real finished run (the real steps on tiny real parts, test/support/trained-run.ts):
// the portable directory names no host path, records base model, encoder, training and the run's scores, and
// the LoRA it generates for a held-out set equals, tensor for tensor, the one the pipeline's evaluate step
// generated from the run's own checkpoint; the alias gives the same generator; bad references are clear errors.
import * as fs from 'fs';
import * as path from 'path';
import { fileURLToPath } from 'url';
import { digestPath, initBackend, readPeftAdapter } from '@dnd/core';
import { conditioningPrompt, loadTaskSet } from '@dnd/dataset';
import { generateLoraSamples, readGeneratorDir } from '@dnd/decoder';
import { loadTextEncoder, tinyBertFixtureDir } from '@dnd/encoder';
import { exportGenerator } from '../src/commands/export-generator';
import { runGenerate } from '../src/commands/generate';
import { tmpDir } from './support/env';
import { TINY_LLAMA } from './support/tiny-generator';
import { makeTrainedRun, type TrainedRun } from './support/trained-run';

const root = tmpDir('export');
let run: TrainedRun;

beforeAll(async () => {
  await initBackend();
  run = await makeTrainedRun(root);
}, 300_000);

describe('dnd export-generator', () => {
  it('writes a portable directory from a run: names and digests only, training and scores recorded', async () => {
    const out = path.join(root, 'exported');
    const r = await exportGenerator(run.runId, out, { runsDir: run.runsDir });
    expect(r.source).toBe(`run ${run.runId}`);
    const json = fs.readFileSync(path.join(out, 'generator.json'), 'utf8');
    expect(json).not.toContain(root);
    expect(json).not.toContain('file://');
    const m = r.manifest;
    expect(m.baseModel).toMatchObject({ name: 'llama', digest: digestPath(TINY_LLAMA).sha256, architecture: 'LlamaForCausalLM', numLayers: 2, moduleShapes: { q_proj: [64, 64], v_proj: [64, 32] } });
    const enc = await loadTextEncoder(tinyBertFixtureDir());
    expect(m.encoder).toEqual({ name: 'tiny-bert', digest: enc.digest, kind: 'bert' });
    expect(m.lora.adapterConfig).toMatchObject({ r: 2, loraAlpha: 4, targetModules: ['q_proj', 'v_proj'], baseModelNameOrPath: 'llama' });
    expect(m.training).toMatchObject({ sets: ['boolq'], heldOut: ['openbookqa'], steps: 4, loss: { kind: 'weighted-mse', tokenWeights: 'method' }, train: { lr: 1e-3, totalSteps: 4 } });
    expect(m.condition).toEqual({ promptsPerLora: 4, textLength: 8, dim: 32 });
    const reportDir = fileURLToPath(run.report.uri);
    const results = JSON.parse(fs.readFileSync(path.join(reportDir, 'results.json'), 'utf8')) as { heldOut: Array<{ set: string; base: { value: number } }> };
    expect(m.evaluation).toEqual([expect.objectContaining({ set: 'openbookqa', n: 4, metric: 'acc', base: results.heldOut[0]!.base.value })]);
    expect(fs.readFileSync(path.join(out, 'README.md'), 'utf8')).toContain('| openbookqa | 4 | acc |');

    // The exported generator makes the LoRA the pipeline made for openbookqa sample 0, from the same prompts.
    const g = readGeneratorDir(out, { baseModel: { name: 'llama' }, encoder: { name: 'tiny-bert', digest: enc.digest } });
    const st = m.training.settings!;
    const ts = await loadTaskSet(run.setDirs['openbookqa']!, { skipBad: st['skipBad'] as boolean, splitSeed: st['splitSeed'] as number, trainFraction: st['trainFraction'] as number });
    const texts = ts.test.map(conditioningPrompt);
    const [s] = await generateLoraSamples(texts, g.generator, { samples: 1, seed: run.seed, name: 'openbookqa', encoder: enc, template: g.template, maxLength: 8, outDir: path.join(root, 'regen') });
    const pipeline = readPeftAdapter(path.join(reportDir, 'generated', 'openbookqa-0'));
    const mine = readPeftAdapter(s!.dir);
    expect([...mine.tensors.keys()]).toEqual([...pipeline.tensors.keys()]);
    const bytes = (d: Float32Array): Buffer => Buffer.from(d.buffer, d.byteOffset, d.byteLength);
    for (const [k, t] of pipeline.tensors) expect(bytes(mine.tensors.get(k)!.data).equals(bytes(t.data))).toBe(true);
    g.generator.dispose();
    enc.dispose();
  });

  it('dnd generate takes the alias directly and makes the exported directory\'s adapter, byte for byte', async () => {
    fs.writeFileSync(path.join(root, 'p.txt'), ['Is the sky blue?', 'Can fish fly?', 'Is ice cold?', 'Do cats bark?', 'Is 2 even?'].join('\n'));
    const common = { prompts: path.join(root, 'p.txt'), samples: 2, seed: 3, encoder: tinyBertFixtureDir() };
    const viaAlias = await runGenerate({ ...common, generator: 'latest-generator', artifacts: run.artifactsDir, runsDir: run.runsDir, out: path.join(root, 'alias-loras') });
    const viaDir = await runGenerate({ ...common, generator: path.join(root, 'exported'), out: path.join(root, 'dir-loras') });
    expect(viaAlias.generator.digest).toBe(viaDir.generator.digest);
    for (const k of ['lora-0', 'lora-1']) {
      for (const f of ['adapter_config.json', 'adapter_model.safetensors']) expect(fs.readFileSync(path.join(root, 'alias-loras', k, f)).equals(fs.readFileSync(path.join(root, 'dir-loras', k, f)))).toBe(true);
    }
  });

  it('exports the latest-generator alias to the same weights, and names a bad reference', async () => {
    const a = await exportGenerator('latest-generator', path.join(root, 'from-alias'), { artifactsDir: run.artifactsDir, runsDir: run.runsDir });
    const b = JSON.parse(fs.readFileSync(path.join(root, 'exported', 'generator.json'), 'utf8'));
    expect(a.source).toBe('alias latest-generator');
    expect(a.manifest.weights.sha256).toBe(b.weights.sha256);
    expect(a.manifest.evaluation).toBeNull();
    await expect(exportGenerator('no-such-run', path.join(root, 'x'), { runsDir: run.runsDir, artifactsDir: run.artifactsDir })).rejects.toThrow(`"no-such-run" is neither a run under ${run.runsDir} nor an alias`);
    fs.mkdirSync(path.join(run.runsDir, 'unfinished'));
    fs.copyFileSync(path.join(run.runsDir, run.runId, 'config.json'), path.join(run.runsDir, 'unfinished', 'config.json'));
    await expect(exportGenerator('unfinished', path.join(root, 'x'), { runsDir: run.runsDir })).rejects.toThrow('run unfinished has no manifest.json yet');
    await expect(exportGenerator(run.runId, path.join(root, 'exported'), { runsDir: run.runsDir })).rejects.toThrow('exists and is not an empty directory');
    expect(fs.existsSync(path.join(root, 'x'))).toBe(false);
  });
});
