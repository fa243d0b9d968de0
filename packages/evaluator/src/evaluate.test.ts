import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { fileURLToPath } from 'url';
import { createHash } from 'crypto';
import { writePeftAdapter } from '@dnd/core';
import { evaluate, type EvaluateInput } from './evaluate';
import { readPredictions } from './predictions-arrow';
import { FakeModel, fakeAdapter, makeItems } from '../test/fake-model';

describe('evaluate (the step)', () => {
  let dir: string;
  beforeAll(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dnd-eval-')); });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  function setup(): { input: EvaluateInput; model: FakeModel } {
    const sets = ['ARC-Easy', 'openbookqa', 'piqa'].map((s) => ({ name: s, items: makeItems(s, 30) }));
    const lora = (name: string, skill: number, base = 'fake/base-1') => { const d = path.join(dir, name); writePeftAdapter(d, fakeAdapter(skill, base)); return d; };
    const input: EvaluateInput = {
      baseModel: { dir: '/models/fake', nameOrPath: 'fake/base-1' },
      sets,
      heldOut: ['piqa', 'openbookqa'],
      trainingLoras: [
        { name: 'arc', trainedOn: 'ARC-Easy', dir: lora('arc', 0.7) },
        { name: 'obqa', trainedOn: 'openbookqa', dir: lora('obqa', 0.4) },
        { name: 'piqa', trainedOn: 'piqa', failed: 'loss NaN at step 40' },
      ],
      generated: [0, 1, 2].map((k) => ({ heldOut: 'piqa', sample: k, dir: lora(`gen-piqa-${k}`, 0.5 + 0.1 * k), numPrompts: 32 })),
    };
    return { input, model: new FakeModel(sets.flatMap((s) => s.items), 0.3) };
  }

  it('writes results.json, report.md, report.html and predictions.arrow and returns their references', async () => {
    const { input, model } = setup();
    const outDir = path.join(dir, 'out');
    const seen: number[] = [];
    const out = await evaluate({ ...input, runInfo: { 'tensor backend': 'cpu' } }, { maxItemsPerSet: 20, seed: 7 }, { outDir, loadModel: async () => model, progress: (p) => seen.push(p.done) });
    for (const ref of Object.values(out)) {
      const file = fileURLToPath(ref.uri);
      const buf = fs.readFileSync(file);
      expect(ref.bytes).toBe(buf.length);
      expect(ref.sha256).toBe(createHash('sha256').update(buf).digest('hex'));
    }
    expect(out.predictions.mediaType).toBe('application/vnd.apache.arrow.file');
    expect(fs.readdirSync(outDir).sort()).toEqual(['predictions.arrow', 'report.html', 'report.md', 'results.json']);
    const cellsDone = [...new Set(seen)]; // progress also ticks within a cell (same done)
    expect(cellsDone).toEqual(cellsDone.map((_, i) => i + (seen[0] ?? 0)));
    expect(seen[seen.length - 1]).toBe(cellsDone.length - 1 + (seen[0] ?? 0));

    const results = JSON.parse(fs.readFileSync(path.join(outDir, 'results.json'), 'utf8'));
    const piqa = results.heldOut.find((h: any) => h.set === 'piqa');
    expect(piqa.generated.k).toBe(3);
    expect(piqa.loraMean.count).toBe(2);
    expect(results.sets[0]).toEqual({ name: 'ARC-Easy', total: 30, n: 20, subsampleSeed: 7 });

    // Every number in the report can be recounted from the predictions.
    const { rows, metadata } = readPredictions(fs.readFileSync(path.join(outDir, 'predictions.arrow')));
    expect(metadata.get('dnd.seed')).toBe('7');
    expect(metadata.get('dnd.schema')).toBe('predictions/1');
    for (const cell of results.cells) {
      const mine = rows.filter((r) => r.adapter === cell.adapter && r.set === cell.set);
      expect(mine.length).toBe(cell.acc.n);
      expect(mine.filter((r) => r.correct).length).toBe(cell.acc.correct);
    }
    const r0 = rows.find((r) => r.adapter === 'base')!;
    expect(r0.choiceScores.length).toBe(4);
    expect(typeof r0.gold).toBe('number');

    const md = fs.readFileSync(path.join(outDir, 'report.md'), 'utf8');
    expect(md).toContain('| held-out set | n | base | LoRA mean | best LoRA | averaged LoRA | generated |');
    expect(md).toMatch(/\| piqa \| 20 \|/);
    expect(md).toContain('fixed seed (7');
    expect(md).toContain('Computed with tensor backend cpu.');
    expect(results.runInfo).toEqual({ 'tensor backend': 'cpu' });
    const html = fs.readFileSync(path.join(outDir, 'report.html'), 'utf8');
    expect(html.match(/<svg /g)!.length).toBe(2);
    // Self-contained: no scripts, no links, no URLs other than the SVG namespace.
    expect(html).not.toMatch(/<script|<link|<img|url\(/i);
    expect(html.replace(/http:\/\/www\.w3\.org\/2000\/svg/g, '')).not.toMatch(/https?:\/\//);
  });

  it('names the adapter made for another base model', async () => {
    const { input, model } = setup();
    const bad = path.join(dir, 'bad');
    writePeftAdapter(bad, fakeAdapter(0.5, 'meta-llama/Llama-3-8B'));
    input.generated.push({ heldOut: 'piqa', sample: 3, dir: bad });
    await expect(evaluate(input, {}, { outDir: path.join(dir, 'out2'), loadModel: async () => model })).rejects.toThrow(/generated:piqa#3.*meta-llama\/Llama-3-8B/);
    expect(fs.existsSync(path.join(dir, 'out2', 'results.json'))).toBe(false);
  });

  it('names an unreadable adapter directory and an unknown config field', async () => {
    const { input, model } = setup();
    input.trainingLoras[0]!.dir = path.join(dir, 'missing');
    await expect(evaluate(input, {}, { outDir: path.join(dir, 'out3'), loadModel: async () => model })).rejects.toThrow(/training LoRA "arc".*missing/);
    await expect(evaluate(setup().input, { scorer: 'bogus' } as any, { outDir: path.join(dir, 'out3'), loadModel: async () => model })).rejects.toThrow(/EvaluatorConfig.scorer must be one of/);
  });

  it('converts instruction-format files itself', async () => {
    const file = path.join(dir, 'tiny.json');
    fs.writeFileSync(file, JSON.stringify([{ instruction: 'Please answer the following question with true or false, question: is water wet?\n\nAnswer format: true/false', input: '', output: '', answer: 'true' }]));
    const { input } = setup();
    const item = { ...input, sets: [{ name: 'tiny', file }], heldOut: ['tiny'], trainingLoras: [], generated: [] };
    const items = (await import('./eval-item')).readInstructionSet(file, 'tiny');
    const out = await evaluate(item, {}, { outDir: path.join(dir, 'out4'), loadModel: async () => new FakeModel(items, 1) });
    const results = JSON.parse(fs.readFileSync(fileURLToPath(out.results.uri), 'utf8'));
    expect(results.heldOut[0].base).toMatchObject({ correct: 1, n: 1 });
    expect(results.heldOut[0].loraMean).toBeNull();
  });
});
