// `dnd evaluate` on adapters made outside a pipeline run: two LoRAs from `dnd generate`'s function with a tiny
// generator, scored with @dnd/lm's tiny Llama on two 6-item sets in the shipped format (a file and a folder),
// writing the pipeline's four report files; an adapter for another base model (named so, or with a layer the
// base lacks) is refused before scoring with nothing written; bad arguments are named.
import * as fs from 'fs';
import * as path from 'path';
import { initBackend, isBadInput, readPeftAdapter, writePeftAdapter } from '@dnd/core';
import { tinyBertFixtureDir } from '@dnd/encoder';
import { runEvaluate, type EvaluateCommandOptions } from '../src/commands/evaluate';
import { runGenerate } from '../src/commands/generate';
import { DATA_DIR, tmpDir } from './support/env';
import { TINY_LLAMA, writeTinyGenerator } from './support/tiny-generator';

const root = tmpDir('evaluate');

beforeAll(async () => {
  await initBackend();
  await writeTinyGenerator(path.join(root, 'generator'));
  const prompts = (JSON.parse(fs.readFileSync(path.join(DATA_DIR, 'boolq', 'train.json'), 'utf8')) as unknown[]).slice(0, 8);
  fs.writeFileSync(path.join(root, 'prompts.json'), JSON.stringify(prompts));
  await runGenerate({ generator: path.join(root, 'generator'), prompts: path.join(root, 'prompts.json'), out: path.join(root, 'loras'), samples: 2, seed: 0, encoder: tinyBertFixtureDir() });
  fs.mkdirSync(path.join(root, 'obqa'));
  for (const [set, file] of [['boolq', path.join(root, 'boolq.json')], ['openbookqa', path.join(root, 'obqa', 'test.json')]] as const) {
    fs.writeFileSync(file, JSON.stringify((JSON.parse(fs.readFileSync(path.join(DATA_DIR, set, 'test.json'), 'utf8')) as unknown[]).slice(0, 6)));
  }
});

const opts = (o: Partial<EvaluateCommandOptions>): EvaluateCommandOptions => ({
  adapter: [`g0=${path.join(root, 'loras', 'lora-0')}`, `g1=${path.join(root, 'loras', 'lora-1')}`],
  set: [`boolq=${path.join(root, 'boolq.json')}`, `obqa=${path.join(root, 'obqa')}`],
  base: TINY_LLAMA, limit: 0, scorer: 'loglik', template: '{prompt}\n', out: path.join(root, 'eval'), ...o,
});

describe('dnd evaluate', () => {
  it('scores every adapter on every set beside the base and writes the pipeline\'s report files', async () => {
    const seen: string[] = [];
    const r = await runEvaluate(opts({ limit: 4 }), (s) => seen.push(s));
    expect(fs.readdirSync(path.join(root, 'eval')).sort()).toEqual(['predictions.arrow', 'report.html', 'report.md', 'results.json']);
    expect(r.sets.map((s) => [s.name, s.total, s.n])).toEqual([['boolq', 6, 4], ['obqa', 6, 4]]);
    expect(r.cross.rows.map((x) => x.adapter)).toEqual(['base', 'g0', 'g1']);
    expect(r.cross.cells.every((row) => row.every((c) => c !== null && c.n === 4))).toBe(true);
    expect(r.heldOut.map((h) => [h.set, h.averagedLora, h.training.map((t) => t.adapter)])).toEqual([['boolq', null, ['g0', 'g1']], ['obqa', null, ['g0', 'g1']]]);
    expect(r.cells.filter((c) => c.role === 'averaged')).toEqual([]);
    // Both protocols by default: 3 adapters x 2 sets of 5 items under each (60 item-adapter pairs), the knowledge protocol last.
    expect(seen.at(-1)).toMatch(/^60\/60 item-adapter pairs · .*\(knowledge\)$/);
    expect((JSON.parse(fs.readFileSync(path.join(root, 'eval', 'results.json'), 'utf8')) as { protocols: Array<{ protocol: string }> }).protocols.map((p) => p.protocol)).toEqual(['paper', 'knowledge']);
    expect(fs.readFileSync(path.join(root, 'eval', 'report.md'), 'utf8')).toContain('g0');
  });

  it('refuses an adapter for another base model (by name, by shape) before scoring, leaving nothing behind', async () => {
    const lora0 = path.join(root, 'loras', 'lora-0');
    const renamed = path.join(root, 'smollm2-lora');
    fs.cpSync(lora0, renamed, { recursive: true });
    const cfgFile = path.join(renamed, 'adapter_config.json');
    fs.writeFileSync(cfgFile, JSON.stringify({ ...JSON.parse(fs.readFileSync(cfgFile, 'utf8')), base_model_name_or_path: 'HuggingFaceTB/SmolLM2-135M-Instruct' }));
    const deeper = readPeftAdapter(lora0); // a LoRA for a model with a third layer
    for (const [k, t] of [...deeper.tensors]) deeper.tensors.set(k.replace('layers.1.', 'layers.2.'), t);
    writePeftAdapter(path.join(root, 'deeper-lora'), deeper);
    const cases: Array<[string, string]> = [
      [renamed, 'adapter "other": adapter: adapter was made for base model "HuggingFaceTB/SmolLM2-135M-Instruct", but the evaluated base is'],
      [path.join(root, 'deeper-lora'), 'adapter "other": adapter: tensor "base_model.model.model.layers.2.'],
    ];
    for (const [dir, msg] of cases) {
      const out = path.join(root, 'eval-mixed');
      const e = await runEvaluate(opts({ adapter: [`g0=${lora0}`, `other=${dir}`], out })).catch((x: Error) => x);
      expect((e as Error).message).toContain(msg);
      expect(isBadInput(e)).toBe(true);
      expect(fs.existsSync(out)).toBe(false);
      expect(fs.readdirSync(root).filter((f) => f.startsWith('.eval-mixed'))).toEqual([]);
    }
  });

  it('names bad arguments', async () => {
    const fresh = (o: Partial<EvaluateCommandOptions>) => opts({ out: path.join(root, 'never'), ...o });
    await expect(runEvaluate(fresh({ adapter: [] }))).rejects.toThrow('give at least one --adapter name=dir');
    await expect(runEvaluate(fresh({ set: ['boolq'] }))).rejects.toThrow('--set takes name=path, got "boolq"');
    await expect(runEvaluate(fresh({ set: [`x=${root}`] }))).rejects.toThrow(`--set x: ${root} has no test.json`);
    await expect(runEvaluate(fresh({ adapter: [`a=${path.join(root, 'nope')}`] }))).rejects.toThrow('--adapter a: ');
    await expect(runEvaluate(opts({ out: path.join(root, 'eval') }))).rejects.toThrow('exists; choose a new output directory');
  });
});
