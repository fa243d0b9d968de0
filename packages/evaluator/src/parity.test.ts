// Parity with lm-evaluation-harness (lm-eval 0.4.13, HFLM, CPU): the fixture holds the harness's per-choice
// log-likelihoods, acc and acc_norm for 50 commonsense items on @dnd/lm's tiny random Llama
// (test/make-fixtures.py says how to regenerate it). Our per-item choice and acc must match exactly.
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { initBackend } from '@dnd/core';
import { loadCausalLM } from '@dnd/lm';
import { itemFromInstruction, type EvalItem } from './eval-item';
import { LoglikScorer } from './scorers';
import { hostCausalLM } from './scoring-model';

interface FixtureItem {
  set: string; index: number; record: { instruction: string; input: string; output: string; answer: string };
  context: string; choices: string[]; gold: number; lls: number[]; pred: number; predNorm: number; acc: number; accNorm: number; margin: number;
}
const fixture = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'test', 'fixtures', 'harness-parity.json'), 'utf8')) as {
  modelSha256: string; maxLength: number; acc: number; accNorm: number; items: FixtureItem[];
};
const MODEL_DIR = path.join(__dirname, '..', '..', 'lm', 'test', 'fixtures', 'llama');

describe('instruction-format converter vs the fixture script\'s independent parse', () => {
  it('gives the same context, choices and gold on all 50 items', () => {
    expect(fixture.items.length).toBe(50);
    for (const f of fixture.items) {
      const it = itemFromInstruction(f.record, f.set, f.index);
      expect({ context: it.context, choices: it.choices, gold: it.gold }).toEqual({ context: f.context, choices: f.choices, gold: f.gold });
    }
  });
});

describe('log-likelihood scoring vs lm-evaluation-harness', () => {
  beforeAll(async () => { await initBackend(); });

  it('uses the model the fixture was made with', () => {
    const sha = crypto.createHash('sha256').update(fs.readFileSync(path.join(MODEL_DIR, 'model.safetensors'))).digest('hex');
    expect(sha).toBe(fixture.modelSha256); // if this fails, rerun test/make-fixtures.py
  });

  it('matches the harness per item (choice, acc, acc_norm) and per choice log-likelihood within 1e-3', async () => {
    const tf = await import('@tensorflow/tfjs');
    const before = tf.memory().numTensors;
    const lm = await loadCausalLM(MODEL_DIR);
    try {
      const model = hostCausalLM(lm, 'tiny-llama');
      const items: EvalItem[] = fixture.items.map((f) => itemFromInstruction(f.record, f.set, f.index));
      const rs = await new LoglikScorer(16).score(model, items);
      let maxDiff = 0;
      rs.forEach((r, i) => {
        const f = fixture.items[i]!;
        r.choiceScores.forEach((v, j) => { maxDiff = Math.max(maxDiff, Math.abs(v - f.lls[j]!)); });
        expect({ id: r.itemId, pred: r.prediction, predNorm: r.predictionNorm, acc: r.correct ? 1 : 0, accNorm: r.correctNorm ? 1 : 0 })
          .toEqual({ id: r.itemId, pred: f.pred, predNorm: f.predNorm, acc: f.acc, accNorm: f.accNorm });
      });
      expect(maxDiff).toBeLessThan(1e-3);
      expect(rs.filter((r) => r.correct).length / rs.length).toBe(fixture.acc);
      expect(rs.filter((r) => r.correctNorm).length / rs.length).toBe(fixture.accNorm);
    } finally {
      lm.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});
