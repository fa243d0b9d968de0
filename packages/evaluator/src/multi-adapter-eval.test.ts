// runEvaluation scores a set's adapters together (per-row LoRA on @dnd/lm's tiny Llama fixture) and gets what
// one adapter after another gets: the same cells, the same predictions, choice log-likelihoods within 1e-4,
// rows in the same plan order; the multi-adapter path is really taken; no tensors leak.
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { DEFAULT_LORA_ADAPTER_CONFIG, initBackend, type LoraAdapter } from '@dnd/core';
import { loadCausalLM, type CausalLM } from '@dnd/lm';
import { resolveEvaluatorConfig } from './config';
import { itemFromInstruction } from './eval-item';
import { runEvaluation, type EvaluationPlan } from './run-evaluation';
import { hostCausalLM } from './scoring-model';

const FIXTURE = path.join(__dirname, '..', 'test', 'fixtures', 'harness-parity.json');
const MODEL_DIR = path.join(__dirname, '..', '..', 'lm', 'test', 'fixtures', 'llama');

it('scores a set\'s adapters in one pass with the results of one adapter at a time', async () => {
  await initBackend();
  const before = tf.memory().numTensors;
  const fx = JSON.parse(fs.readFileSync(FIXTURE, 'utf8'));
  const setNames = ['ARC-Easy', 'boolq', 'piqa'];
  const sets = setNames.map((s) => ({ name: s, items: fx.items.filter((i: any) => i.set === s).map((i: any, k: number) => itemFromInstruction(i.record, s, k)) }));
  const lm: CausalLM = await loadCausalLM(MODEL_DIR);
  try {
    const adapter = (seed: number, r: number, targets: string[]): LoraAdapter => {
      lm.attachLora({ ...DEFAULT_LORA_ADAPTER_CONFIG, r, loraAlpha: 2 * r, targetModules: targets, baseModelNameOrPath: 'tiny-llama' }, seed);
      const a = lm.getLoraWeights();
      lm.detachLora();
      for (const [n, t] of a.tensors) if (n.includes('lora_B')) t.data.forEach((_, i) => { t.data[i] = 0.2 * Math.sin(3 * i + seed); });
      return a;
    };
    const plan: EvaluationPlan = {
      sets, heldOut: ['piqa', 'boolq'],
      trainingLoras: [
        { name: 'arc', trainedOn: 'ARC-Easy', adapter: adapter(1, 2, ['q_proj', 'v_proj']) },
        { name: 'boolq', trainedOn: 'boolq', adapter: adapter(2, 2, ['q_proj', 'v_proj']) },
        { name: 'broken', trainedOn: 'piqa', adapter: null, failed: 'diverged' },
      ],
      generated: [{ heldOut: 'piqa', sample: 0, adapter: adapter(3, 4, [...DEFAULT_LORA_ADAPTER_CONFIG.targetModules]) }, { heldOut: 'piqa', sample: 1, adapter: adapter(4, 2, ['q_proj', 'v_proj']) }],
    };
    const model = hostCausalLM(lm, 'tiny-llama');
    let multiCalls = 0;
    const counted = { ...model, scoreContinuationsMulti: (...a: Parameters<NonNullable<typeof model.scoreContinuationsMulti>>) => { multiCalls++; return model.scoreContinuationsMulti!(...a); } };
    const one = await runEvaluation(plan, resolveEvaluatorConfig({ adaptersPerPass: 1, batchSize: 8 }), model);
    const beats: { done: number; total: number; last: string }[] = [];
    const many = await runEvaluation(plan, resolveEvaluatorConfig({ adaptersPerPass: 3, batchSize: 8 }), counted, (p) => beats.push(p));
    // Progress between cells too (heartbeats on full test sets), never going back, ending at the total.
    expect(beats.some((b) => /3 adapters on piqa: \d+\/10 items/.test(b.last))).toBe(true);
    beats.forEach((b, i) => expect(b.done).toBeGreaterThanOrEqual(i ? beats[i - 1]!.done : 0));
    expect(beats[beats.length - 1]!.done).toBe(beats[0]!.total);
    expect(multiCalls).toBeGreaterThan(0);
    expect(many.results.cells.map((c) => [c.adapter, c.set, c.acc.correct, c.accNorm?.correct])).toEqual(one.results.cells.map((c) => [c.adapter, c.set, c.acc.correct, c.accNorm?.correct]));
    expect(many.rows.length).toBe(one.rows.length);
    let maxDiff = 0;
    many.rows.forEach((r, i) => {
      const o = one.rows[i]!;
      expect([r.adapter, r.set, r.itemId, r.prediction, r.predictionNorm]).toEqual([o.adapter, o.set, o.itemId, o.prediction, o.predictionNorm]);
      r.choiceScores.forEach((v, k) => { maxDiff = Math.max(maxDiff, Math.abs(v - o.choiceScores[k]!)); });
    });
    expect(maxDiff).toBeLessThan(1e-4);
    expect(many.rows.some((r) => r.adapter === 'arc' && r.choiceScores.length > 0)).toBe(true);
  } finally {
    lm.dispose();
  }
  expect(tf.memory().numTensors).toBe(before);
});
