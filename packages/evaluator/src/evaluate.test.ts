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
    const seen: { done: number; total: number; items: { done: number; total: number } }[] = [];
    const runInfo = {
      runId: 'commonsense-smollm2-20261201-0931', preset: 'commonsense-smollm2', date: '2026-12-01T09:31:00Z', commit: '34e7ed8',
      configDigest: 'ab12cd34', seed: 42, backend: 'tensorflow',
      baseModel: { name: '/home/someone/.cache/dnd/models/SmolLM2-135M-Instruct', digest: '0123456789abcdef0123', provenance: 'dequantized from Q4_1 GGUF' },
      encoder: { name: 'C:\\models\\all-MiniLM-L6-v2', digest: 'fedcba9876543210' },
      stepSeconds: [{ step: 'collect', seconds: 2040 }, { step: 'train', seconds: 610.5 }, { step: 'evaluate', seconds: 95 }],
      trainingLoss: [{ step: 0, loss: 2.5 }, { step: 50, loss: 1.2 }, { step: 100, loss: 0.9 }],
    };
    const probes = [
      { kind: 'promptSwap' as const, scoredOn: 'piqa', promptsFrom: 'ARC-Easy', sample: 0, dir: input.generated[0]!.dir },
      { kind: 'inDistribution' as const, scoredOn: 'ARC-Easy', promptsFrom: 'ARC-Easy', sample: 0, dir: input.generated[1]!.dir },
    ];
    const out = await evaluate({ ...input, probes, baseModel: { dir: '/models/fake', nameOrPath: '/srv/data/models/fake/base-1' }, runInfo }, { maxItemsPerSet: 20, seed: 7 }, {
      outDir, loadModel: async () => model, progress: (p) => seen.push(p),
    });
    for (const ref of Object.values(out)) {
      const file = fileURLToPath(ref.uri);
      const buf = fs.readFileSync(file);
      expect(ref.bytes).toBe(buf.length);
      expect(ref.sha256).toBe(createHash('sha256').update(buf).digest('hex'));
    }
    expect(out.predictions.mediaType).toBe('application/vnd.apache.arrow.file');
    expect(fs.readdirSync(outDir).sort()).toEqual(['predictions.arrow', 'report.html', 'report.md', 'results.json']);
    // Progress ends with every cell and every item-adapter pair done, never going back.
    expect(seen.at(-1)!.done).toBe(seen.at(-1)!.total);
    expect(seen.at(-1)!.items.done).toBe(seen.at(-1)!.items.total);
    expect(seen.every((x, i) => i === 0 || (x.done >= seen[i - 1]!.done && x.items.done >= seen[i - 1]!.items.done))).toBe(true);

    const results = JSON.parse(fs.readFileSync(path.join(outDir, 'results.json'), 'utf8'));
    expect(results.schemaVersion).toBe(2);
    expect(results.protocols.map((p: any) => p.protocol)).toEqual(['paper', 'knowledge']);
    const piqa = results.heldOut.find((h: any) => h.set === 'piqa');
    expect(piqa.generated.k).toBe(3);
    expect(piqa.loraMean.count).toBe(2);
    expect(piqa.paired.map((c: any) => c.against)).toEqual(['base', 'loraMean', 'averagedLora', 'bestLora']);
    expect(results.sets[0]).toEqual({ name: 'ARC-Easy', total: 30, n: 20, subsampleSeed: 7, chance: 0.25 });
    expect(results.protocols[1].sets[0]).toEqual({ name: 'ARC-Easy', total: 30, n: 30, subsampleSeed: null, chance: 0.25 });
    expect(results.runInfo).toEqual(runInfo);
    // Each protocol's scoring time counts the pairs it scored (a failed LoRA's are not), in all and per set.
    for (const p of results.protocols) {
      const scored = results.cells.filter((c: any) => c.protocol === p.protocol && c.failed === null);
      expect(p.timing.pairs).toBe(scored.reduce((a: number, c: any) => a + c.acc.n, 0));
      for (const s of p.timing.sets) expect(s.pairs).toBe(scored.filter((c: any) => c.set === s.name).reduce((a: number, c: any) => a + c.acc.n, 0));
      expect(p.timing.seconds).toBeCloseTo(p.timing.sets.reduce((a: number, s: any) => a + s.seconds, 0), 9);
      expect(p.timing.seconds).toBeGreaterThan(0);
    }
    expect(results.cells.some((c: any) => c.failed !== null)).toBe(true);

    // Every number in the report can be recounted from the predictions.
    const { rows, metadata } = readPredictions(fs.readFileSync(path.join(outDir, 'predictions.arrow')));
    expect(metadata.get('dnd.seed')).toBe('7');
    expect(metadata.get('dnd.schema')).toBe('predictions/2');
    for (const cell of results.cells) {
      const mine = rows.filter((r) => r.adapter === cell.adapter && r.set === cell.set && r.protocol === cell.protocol);
      expect(mine.length).toBe(cell.acc.n);
      expect(mine.filter((r) => r.correct).length).toBe(cell.acc.correct);
    }
    const r0 = rows.find((r) => r.adapter === 'base' && r.protocol === 'knowledge')!;
    expect(r0.choiceScores.length).toBe(4);
    expect(typeof r0.gold).toBe('number');

    const md = fs.readFileSync(path.join(outDir, 'report.md'), 'utf8');
    const html = fs.readFileSync(path.join(outDir, 'report.html'), 'utf8');
    // The report stands alone: title = run id and preset, then the header.
    expect(md.split('\n')[0]).toBe('# commonsense-smollm2-20261201-0931 (commonsense-smollm2)');
    expect(html).toContain('<title>commonsense-smollm2-20261201-0931 (commonsense-smollm2)</title>');
    for (const row of ['| commit | 34e7ed8 |', '| config digest | sha256 ab12cd34 |', '| seed | 42 |', '| backend | tensorflow |',
      '| base model | SmolLM2-135M-Instruct, sha256 0123456789ab, dequantized from Q4_1 GGUF |', '| encoder | all-MiniLM-L6-v2, sha256 fedcba987654 |',
      '| wall time per step | collect 34 min 00 s; train 10 min 11 s; evaluate 1 min 35 s; total 45 min 46 s |']) expect(md).toContain(row);
    expect(md).toMatch(/\| scoring time \| paper [0-9.]+ s \([0-9,]+ item-adapter pairs, [0-9.e-]+ ms each\); knowledge [0-9.]+ s \([0-9,]+ pairs, [0-9.e-]+ ms each\) \|/);
    expect(html).toContain('<th>scoring time</th>');
    // Both protocols side by side, each with a chance column and the paired comparisons.
    expect(md).toContain('| held-out set | paper: chance | paper: base | paper: generated | paper: generated − base | knowledge: chance | knowledge: base | knowledge: generated | knowledge: generated − base |');
    expect(md).toMatch(/\| piqa \| 25\.0 \| [0-9.]+ \[[0-9., ]+\] \| [0-9.]+ ± [0-9.]+ \| [+−][0-9.]+ \[[+−][0-9.]+, [+−][0-9.]+\] \| 25\.0 \|/);
    expect(html).toContain('<h2>Both protocols side by side</h2>');
    expect(md.match(/### Prompt swap: LoRAs generated from each set's prompts/g)!.length).toBe(2);
    expect(md).toMatch(/\| piqa \| 25\.0 \| piqa \(own\) \| 3 \| [0-9.]+ \| [0-9.]+ \[[0-9., ]+\] \| (yes|no) \|/);
    expect(md).toMatch(/\| piqa \| 25\.0 \| ARC-Easy \| 1 \|/);
    expect(md.match(/### In-distribution: LoRAs generated from a training set's own prompts/g)!.length).toBe(2);
    expect(md).toMatch(/\| ARC-Easy \| 25\.0 \| [0-9.]+ \[[0-9., ]+\] \| [0-9.]+ \[[0-9., ]+\] \(arc\) \| [0-9.]+ \(K=1\) \[[0-9., ]+\] \| ([0-9-]+%|n\/a[^|]*) \| [0-9.-]+ \|/);
    expect(md).toContain('## Spread of the generated LoRAs');
    expect(html).toContain('<h2>Spread of the generated LoRAs</h2>');
    expect(md.match(/### Each LoRA on its own set against the base model/g)!.length).toBe(2);
    expect(md).toMatch(/\| arc \| ARC-Easy \| 25\.0 \| [0-9.]+ \[[0-9., ]+\] \| [0-9.]+ \[[0-9., ]+\] \| [+−][0-9.]+ \[[^\]]+\] \| p [0-9.e-]+ \| (yes|no|not shown)/);
    expect(md).toContain('## Paper protocol (generation, strict label format; acc)');
    expect(md).toContain('## Knowledge protocol (log-likelihood of the choice texts, lm-evaluation-harness; acc)');
    expect(md.match(/\| held-out set \| n \| chance \| base \| LoRA mean \| best LoRA \| averaged LoRA \| generated \|/g)!.length).toBe(2);
    expect(md.match(/\| held-out set \| chance \| generated − base \| generated − LoRA mean \| generated − averaged LoRA \| generated − best LoRA \|/g)!.length).toBe(2);
    expect(md).toMatch(/\| piqa \| 20 \| 25\.0 \|/); // paper: 20 items of 4 choices
    expect(md).toMatch(/\| piqa \| 30 \| 25\.0 \|/); // knowledge: all 30
    expect(md).toContain('| chance | 25.0 | 25.0 | 25.0 |');
    expect(md).toContain('McNemar p ');
    expect(md.match(/### acc \/ acc_norm/g)!.length).toBe(1); // the knowledge protocol only
    expect(md).toContain('| held-out set | chance | base | LoRA mean | averaged LoRA | generated (mean over K) |');
    expect(md).toMatch(/\| piqa \| 25\.0 \| [0-9.]+ \/ [0-9.]+ \| [0-9.]+ \/ [0-9.]+ \|/);
    expect(md).toContain('3 logged steps; first 2.500 (step 0), lowest 0.9000 (step 100), last 0.9000 (step 100).');
    expect(md).toContain('fixed seed (7');
    // Four charts per page: an interval chart and a heat map per protocol, and the loss curve.
    expect(html.match(/<svg /g)!.length).toBe(5);
    expect(html.match(/<line class="chance"/g)!.length).toBe(4); // 2 held-out sets x 2 protocols
    // No absolute local path anywhere (issue 20 item 7).
    for (const text of [md, html]) {
      expect(text).not.toMatch(/\/srv\/|\/home\/|C:\\|\/models\/fake/);
    }
    // Self-contained: no scripts, no links, no URLs other than the SVG namespace.
    expect(html).not.toMatch(/<script|<link|<img|url\(/i);
    expect(html.replace(/http:\/\/www\.w3\.org\/2000\/svg/g, '')).not.toMatch(/https?:\/\//);
  });

  it('keeps local paths out of the reports even when a LoRA is named by its path', async () => {
    const { input, model } = setup();
    input.trainingLoras[0]!.name = input.trainingLoras[0]!.dir!; // an absolute temporary path
    input.trainingLoras[2]!.failed = `loss NaN, see ${path.join(dir, 'logs', 'piqa.txt')}`;
    const out = await evaluate(input, { protocols: ['knowledge'] }, { outDir: path.join(dir, 'out6'), loadModel: async () => model });
    const md = fs.readFileSync(fileURLToPath(out.markdown.uri), 'utf8');
    const html = fs.readFileSync(fileURLToPath(out.html.uri), 'utf8');
    for (const text of [md, html]) expect(text).not.toContain(dir);
    expect(md).toContain('failed: loss NaN, see piqa.txt, counted as 0');
    expect(md).toContain('| arc (ARC-Easy) |');
    expect(html).toContain('>arc (ARC-Easy)<');
  });

  it('refuses a malformed runInfo before scoring', async () => {
    const { input, model } = setup();
    await expect(evaluate({ ...input, runInfo: { seed: 'x' } as any }, {}, { outDir: path.join(dir, 'out5'), loadModel: async () => model })).rejects.toThrow(/runInfo.seed must be an integer/);
    await expect(evaluate({ ...input, runInfo: { 'tensor backend': 'cpu' } as any }, {}, { outDir: path.join(dir, 'out5'), loadModel: async () => model })).rejects.toThrow(/unknown field "tensor backend"/);
    expect(model.calls).toBe(0);
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
