// The examples a zoo LoRA is fine-tuned on, per CollectConfig.trainOn, on the shipped records as written,
// and a collection with trainOn 'knowledge' end to end (fake LM): the trainer sees exactly those examples.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { canonicalJson, isBadInput } from '@dnd/core';
import type { CausalLM, LoraTrainer, LoraTrainerConfig, TrainBatch } from '@dnd/lm';
import { collectSet, resolveCollectConfig } from './index';
import { loadTaskSet } from './task-set';
import { trainingExamples } from './training-examples';
import { FakeLM, createFakeTrainer } from '../test/fake-lm';

describe('trainingExamples', () => {
  it('label: the template around the instruction, the output as the answer (unchanged behaviour)', async () => {
    const ts = await loadTaskSet('ARC-Easy');
    const [ex] = trainingExamples(ts.train.slice(0, 1), 'label', '{prompt}\n', 'ARC-Easy');
    expect(ex).toEqual({ prompt: `${ts.train[0]!.instruction}\n`, answer: ts.train[0]!.output });
  });
  it('knowledge: the evaluator\'s context and " " + the gold choice text, on shipped records as written', async () => {
    const arc = await loadTaskSet('ARC-Easy');
    // ARC-Easy train[0]: "Which factor will most likely cause a person to develop a fever?" ... answer2.
    expect(trainingExamples(arc.train.slice(0, 1), 'knowledge', '{prompt}\n', 'ARC-Easy')).toEqual([
      { prompt: 'Question: Which factor will most likely cause a person to develop a fever?\nAnswer:', answer: ' a bacterial population in the bloodstream' },
    ]);
    const boolq = await loadTaskSet('boolq');
    const [b] = trainingExamples(boolq.train.slice(0, 1), 'knowledge', '{prompt}\n', 'boolq');
    expect(b).toEqual({ prompt: 'Question: do iran and afghanistan speak the same language?\nAnswer:', answer: ` ${boolq.train[0]!.answer}` });
    // Every record of a shipped train pool gives its knowledge example.
    expect(trainingExamples(arc.train, 'knowledge', '{prompt}\n', 'ARC-Easy')).toHaveLength(arc.train.length);
  });
  it('both: the label examples then the knowledge examples', async () => {
    const ts = await loadTaskSet('openbookqa');
    const items = ts.train.slice(0, 3);
    const ex = trainingExamples(items, 'both', '{prompt}\n', 'openbookqa');
    expect(ex).toHaveLength(6);
    expect(ex.slice(0, 3).map((e) => e.answer)).toEqual(items.map((i) => i.output));
    expect(ex.slice(3).every((e) => e.prompt.startsWith('Question: ') && e.prompt.endsWith('\nAnswer:'))).toBe(true);
  });
  it('refuses a record without a label for the knowledge form, naming it (BadInputError)', () => {
    const rec = { instruction: 'Please choose the correct answer to the question: Q?\n\nAnswer1: a Answer2: b\n\nAnswer format: answer1/answer2', input: '', output: '', answer: '' };
    let err: unknown;
    try { trainingExamples([rec], 'knowledge', '{prompt}\n', 'x'); } catch (e) { err = e; }
    expect(isBadInput(err)).toBe(true);
    expect((err as Error).message).toBe('x/train[0]: no "answer": the gold choice is unknown');
  });
});

describe('CollectConfig.trainOn', () => {
  it('is absent from the default canonical config (existing zoo digests unchanged) and validated when given', () => {
    expect(canonicalJson(resolveCollectConfig({}))).not.toContain('trainOn');
    expect(resolveCollectConfig({ trainOn: 'knowledge' }).trainOn).toBe('knowledge');
    expect(() => resolveCollectConfig({ trainOn: 'answers' as never })).toThrow(/CollectConfig.trainOn must be one of "label", "knowledge", "both", got "answers"/);
  });

  it('collectSet with trainOn "knowledge" fine-tunes on the knowledge form only', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dnd-knowledge-'));
    try {
      const file = path.join(tmp, 'arc', 'train.json');
      fs.mkdirSync(path.dirname(file));
      const arc = await loadTaskSet('ARC-Easy');
      fs.writeFileSync(file, JSON.stringify(arc.train.slice(0, 12)));
      const seen: TrainBatch[] = [];
      const createTrainer = (m: CausalLM, c: LoraTrainerConfig): LoraTrainer => {
        const t = createFakeTrainer(m, c);
        return { ...t, step: (b: TrainBatch, l: number) => { seen.push(b); return t.step(b, l); } };
      };
      const cfg = { rank: 2, loraAlpha: 4, warmupSteps: 1, snapshotSteps: 2, batchSize: 4, maxSeqLen: 16, trainOn: 'knowledge' as const };
      const r = await collectSet(file, path.join(tmp, 'zoo'), cfg, { model: new FakeLM() as unknown as CausalLM, createTrainer, baseModelDigest: 'fake' });
      expect(r.manifest.config.trainOn).toBe('knowledge');
      expect(r.manifest.template).toContain('answer = " " + the gold choice text');
      expect(seen).toHaveLength(3);
      for (const b of seen) {
        expect(b.prompts.every((p) => /^Question: [^]*\nAnswer:$/.test(p))).toBe(true);
        expect(b.answers.every((a) => a.startsWith(' ') && !a.includes('the correct answer is'))).toBe(true);
      }
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
