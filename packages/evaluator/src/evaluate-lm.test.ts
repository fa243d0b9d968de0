// End to end on a real model: @dnd/lm's tiny random Llama fixture, the 50 commonsense records of the
// parity fixture as instruction-format files, PEFT adapters on disk, and the four report files.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { fileURLToPath } from 'url';
import * as tf from '@tensorflow/tfjs';
import { DEFAULT_LORA_ADAPTER_CONFIG, initBackend, writePeftAdapter } from '@dnd/core';
import { loadCausalLM, type CausalLM } from '@dnd/lm';
import { DEFAULT_EVALUATOR_CONFIG } from './config';
import { evaluate } from './evaluate';
import { GenerativeScorer } from './scorers';
import { readPredictions } from './predictions-arrow';
import { hostCausalLM } from './scoring-model';

const FIXTURE = path.join(__dirname, '..', 'test', 'fixtures', 'harness-parity.json');
const MODEL_DIR = path.join(__dirname, '..', '..', 'lm', 'test', 'fixtures', 'llama');

describe('evaluate on @dnd/lm (tiny Llama, real adapters on disk)', () => {
  let dir: string;
  beforeAll(async () => { await initBackend(); dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dnd-eval-lm-')); });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('scores base, training, averaged and generated LoRAs and writes an auditable report', async () => {
    const before = tf.memory().numTensors;
    const fx = JSON.parse(fs.readFileSync(FIXTURE, 'utf8'));
    const sets = ['ARC-Easy', 'boolq', 'piqa'];
    for (const s of sets) {
      fs.writeFileSync(path.join(dir, `${s}.json`), JSON.stringify(fx.items.filter((i: any) => i.set === s).map((i: any) => i.record)));
    }
    // Adapters from the model itself (B perturbed so that each LoRA changes the scores).
    const lora = { ...DEFAULT_LORA_ADAPTER_CONFIG, r: 2, loraAlpha: 4, targetModules: ['q_proj', 'v_proj'], baseModelNameOrPath: 'tiny-llama' };
    const maker = await loadCausalLM(MODEL_DIR);
    const write = (name: string, seed: number): string => {
      maker.attachLora(lora, seed);
      const a = maker.getLoraWeights();
      for (const [n, t] of a.tensors) if (n.includes('lora_B')) t.data.forEach((_, i) => { t.data[i] = 0.2 * Math.sin(3 * i + seed); });
      const d = path.join(dir, name);
      writePeftAdapter(d, { config: lora, tensors: a.tensors });
      return d;
    };
    const dirs = { arc: write('arc', 1), boolq: write('boolq', 2), g0: write('g0', 3), g1: write('g1', 4) };
    maker.dispose();

    let lm: CausalLM | null = null;
    const out = await evaluate({
      baseModel: { dir: MODEL_DIR, nameOrPath: 'tiny-llama' },
      sets: sets.map((s) => ({ name: s, file: path.join(dir, `${s}.json`) })),
      heldOut: ['piqa', 'boolq'],
      trainingLoras: [{ name: 'arc', trainedOn: 'ARC-Easy', dir: dirs.arc }, { name: 'boolq', trainedOn: 'boolq', dir: dirs.boolq }],
      generated: [{ heldOut: 'piqa', sample: 0, dir: dirs.g0, numPrompts: 8 }, { heldOut: 'piqa', sample: 1, dir: dirs.g1, numPrompts: 8 }],
    }, { batchSize: 16, generative: { maxNewTokens: 4 } }, {
      outDir: path.join(dir, 'out'),
      loadModel: async (d, name) => { lm = await loadCausalLM(d); return hostCausalLM(lm, name); },
      releaseModel: () => lm?.dispose(),
    });
    expect(tf.memory().numTensors).toBe(before);

    const results = JSON.parse(fs.readFileSync(fileURLToPath(out.results.uri), 'utf8'));
    expect(results.protocols.map((p: any) => p.protocol)).toEqual(['paper', 'knowledge']);
    const knowledge = results.protocols.find((p: any) => p.protocol === 'knowledge');
    const piqa = knowledge.heldOut.find((h: any) => h.set === 'piqa');
    expect(piqa.paired.map((c: any) => c.against)).toEqual(['base', 'loraMean', 'averagedLora', 'bestLora']);
    // The paper protocol generated text for every item and parsed it strictly.
    const paperPiqa = results.protocols[0].heldOut.find((h: any) => h.set === 'piqa');
    expect(paperPiqa.n).toBe(10);
    expect(piqa.n).toBe(10);
    expect(piqa.averagedLora.members).toEqual(['arc', 'boolq']);
    expect(piqa.generated.k).toBe(2);
    // The base row must equal the harness fixture's acc on the same items.
    const harnessPiqa = fx.items.filter((i: any) => i.set === 'piqa');
    expect(piqa.base.correct).toBe(harnessPiqa.filter((i: any) => i.acc === 1).length);
    const { rows } = readPredictions(fs.readFileSync(fileURLToPath(out.predictions.uri)));
    expect(rows.filter((r) => r.protocol === 'paper' && r.adapter === 'base' && r.set === 'piqa').every((r) => typeof r.output === 'string')).toBe(true);
    const basePiqa = rows.filter((r) => r.adapter === 'base' && r.set === 'piqa' && r.protocol === 'knowledge');
    basePiqa.forEach((r, i) => expect(r.prediction).toBe(harnessPiqa[i].pred));
    // LoRAs change the scores.
    const arcPiqa = rows.filter((r) => r.adapter === 'arc' && r.set === 'piqa' && r.protocol === 'knowledge');
    expect(arcPiqa[0]!.choiceScores[0]).not.toBeCloseTo(basePiqa[0]!.choiceScores[0]!, 3);
    // The adapters of a set were scored together (per-row LoRA); one at a time gives the same predictions.
    const input = {
      baseModel: { dir: MODEL_DIR, nameOrPath: 'tiny-llama' },
      sets: sets.map((s) => ({ name: s, file: path.join(dir, `${s}.json`) })),
      heldOut: ['piqa', 'boolq'],
      trainingLoras: [{ name: 'arc', trainedOn: 'ARC-Easy', dir: dirs.arc }, { name: 'boolq', trainedOn: 'boolq', dir: dirs.boolq }],
      generated: [{ heldOut: 'piqa', sample: 0, dir: dirs.g0, numPrompts: 8 }, { heldOut: 'piqa', sample: 1, dir: dirs.g1, numPrompts: 8 }],
    };
    const single = await evaluate(input, { batchSize: 16, adaptersPerPass: 1, generative: { maxNewTokens: 4 } }, {
      outDir: path.join(dir, 'out1'),
      loadModel: async (d, name) => { lm = await loadCausalLM(d); return hostCausalLM(lm, name); },
      releaseModel: () => lm?.dispose(),
    });
    const one = readPredictions(fs.readFileSync(fileURLToPath(single.predictions.uri))).rows;
    expect(one.length).toBe(rows.length);
    one.forEach((r, i) => {
      const t = rows[i]!;
      expect([r.adapter, r.set, r.protocol, r.itemId, r.prediction, r.output]).toEqual([t.adapter, t.set, t.protocol, t.itemId, t.prediction, t.output]);
      r.choiceScores.forEach((v, j) => expect(Math.abs(v - t.choiceScores[j]!)).toBeLessThan(1e-4));
    });
    if (process.env.DND_EVAL_KEEP) fs.cpSync(path.join(dir, 'out'), process.env.DND_EVAL_KEEP, { recursive: true });
  });

  it('greedy generation batched by prompt length gives each item the output it gets alone (tiny Llama, prompts of 4 to 60 words)', async () => {
    const lm = await loadCausalLM(MODEL_DIR);
    try {
      const model = hostCausalLM(lm, 'tiny-llama');
      const words = 'which of these would most likely float on water a rock a leaf a coin or a nail'.split(' ');
      const lengths = [60, 4, 33, 9, 47, 12, 5, 21];
      const items = lengths.map((n, i) => ({ id: `s/test/${i}`, set: 's', context: '', choices: ['a', 'b'], gold: 0, answerFormat: 'answerN' as const, prompt: Array.from({ length: n }, (_, j) => words[(i + j) % words.length]).join(' ') }));
      const o = { ...DEFAULT_EVALUATOR_CONFIG.generative, maxNewTokens: 6 };
      const batched = await new GenerativeScorer({ ...o, batchSize: 4 }).score(model, items);
      const alone = await new GenerativeScorer({ ...o, batchSize: 1 }).score(model, items);
      expect(batched.map((r) => r.output)).toEqual(alone.map((r) => r.output));
      expect(new Set(alone.map((r) => r.output)).size).toBeGreaterThan(1); // the outputs differ: the comparison can fail
    } finally {
      lm.dispose();
    }
  });
});
