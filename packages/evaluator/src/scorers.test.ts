import type { EvalItem } from './eval-item';
import { DEFAULT_EVALUATOR_CONFIG } from './config';
import { GenerativeScorer, LoglikScorer, NumericScorer, argmaxFirst, pyLen } from './scorers';
import type { LoraAdapter } from '@dnd/core';
import type { ContinuationRequest, ScoringModel } from './scoring-model';
import { FakeModel, fakeAdapter, makeItems } from '../test/fake-model';

/** A model that returns a fixed log-likelihood per continuation text and records the requests. */
function tableModel(ll: Record<string, number>): ScoringModel & { seen: ContinuationRequest[]; batches: number[] } {
  const seen: ContinuationRequest[] = [];
  const batches: number[] = [];
  return {
    seen, batches,
    async scoreContinuations(reqs) { batches.push(reqs.length); seen.push(...reqs); return reqs.map((r) => ({ logprob: ll[r.continuation]!, numTokens: 1, isGreedy: false })); },
    async generate() { throw new Error('not used'); },
  };
}

const item = (id: string, choices: string[], gold: number): EvalItem => ({ id, set: 's', context: `Q ${id}\nAnswer:`, choices, gold, answerFormat: 'answerN', prompt: id });

describe('LoglikScorer (lm-evaluation-harness multiple_choice)', () => {
  it('scores " "+choice after the context, acc by argmax, acc_norm by argmax of ll / len(choice)', async () => {
    const m = tableModel({ ' a': -2, ' bbbbbbbbbb': -3 });
    const [r] = await new LoglikScorer().score(m, [item('x/0', ['a', 'bbbbbbbbbb'], 1)]);
    expect(m.seen).toEqual([{ context: 'Q x/0\nAnswer:', continuation: ' a' }, { context: 'Q x/0\nAnswer:', continuation: ' bbbbbbbbbb' }]);
    expect(r!.choiceScores).toEqual([-2, -3]);
    expect(r!.prediction).toBe(0);
    expect(r!.predictionNorm).toBe(1); // -2/1 < -3/10
    expect(r!.correct).toBe(false);
    expect(r!.correctNorm).toBe(true);
  });
  it('breaks ties to the first choice, as numpy.argmax', async () => {
    const m = tableModel({ ' p': -1, ' q': -1 });
    const [r] = await new LoglikScorer().score(m, [item('x/0', ['p', 'q'], 1)]);
    expect(r!.prediction).toBe(0);
    expect(argmaxFirst([1, 3, 3])).toBe(1);
  });
  it('measures choice length in code points like Python len()', () => {
    expect(pyLen('café')).toBe(4);
    expect(pyLen('😀x')).toBe(2);
  });
  it("batches whole items (a context's choices stay in one call) and maps scores back to items", async () => {
    const m = tableModel({ ' a': -3, ' b': -1, ' c': -2 });
    const items = [item('x/0', ['a', 'b', 'c'], 1), item('x/1', ['c', 'a'], 0), item('x/2', ['a', 'b'], 0)];
    const rs = await new LoglikScorer(4).score(m, items);
    expect(m.batches).toEqual([3, 4]); // not [4, 3]: x/0's choices are not split
    expect(rs.map((r) => r.prediction)).toEqual([1, 0, 1]);
    expect(rs.map((r) => r.correct)).toEqual([true, true, false]);
  });
  it('scoreMany: several adapters in one call when the model can, the same results as adapter after adapter', async () => {
    const items = makeItems('s', 20);
    const skills = [0.2, 0.5, 0.9];
    const adapters = [null, fakeAdapter(skills[1]!), fakeAdapter(skills[2]!)];
    const one = new FakeModel(items, skills[0]);
    const multiCalls: number[] = [];
    const multi = Object.assign(new FakeModel(items, skills[0]), {
      async scoreContinuationsMulti(this: FakeModel, as: (LoraAdapter | null)[], reqs: ContinuationRequest[]) {
        multiCalls.push(as.length);
        const out = [];
        for (const a of as) { await this.useAdapter(a); out.push(await this.scoreContinuations(reqs)); }
        return out;
      },
    });
    const want = await new LoglikScorer(8).scoreMany(one, adapters, items);
    const got = await new LoglikScorer(8).scoreMany(multi, adapters, items);
    expect(got).toEqual(want);
    expect(multiCalls.length).toBeGreaterThan(0);
    expect(multiCalls.every((k) => k === 3)).toBe(true);
    expect(want.map((r) => r.filter((x) => x.correct).length)).toEqual([4, 10, 18]); // each adapter's own skill
  });
  it('refuses unlabeled and empty sets', async () => {
    const m = tableModel({});
    await expect(new LoglikScorer().score(m, [{ ...item('x/0', ['a', 'b'], 0), gold: null }])).rejects.toThrow(/without labels/);
    await expect(new LoglikScorer().score(m, [])).rejects.toThrow(/no items/);
  });
});

describe('GenerativeScorer (strict parsing)', () => {
  it('counts in-format right answers only; off-format output is wrong with prediction -1', async () => {
    const items = makeItems('s', 10);
    const model = new FakeModel(items, 0.4); // items 0-3 known
    const rs = await new GenerativeScorer(DEFAULT_EVALUATOR_CONFIG.generative).score(model, items);
    expect(rs.filter((r) => r.correct).map((r) => r.itemId)).toEqual(['s/test/0', 's/test/1', 's/test/2', 's/test/3']);
    // index 6 and 9 are unknown and 6 % 3 == 0, 9 % 3 == 0: off format
    expect(rs[6]!.prediction).toBe(-1);
    expect(rs[6]!.output).toBe('I am not sure');
    expect(rs[5]!.prediction).toBe(0);
  });
  it('batches prompts of similar length together and returns every output at its item', async () => {
    const lengths = [30, 3, 12, 25, 4, 11, 2, 26];
    const items = lengths.map((n, i) => ({ ...item(`x/${i}`, ['a', 'b'], i % 2), prompt: 'p'.repeat(n) }));
    const batches: number[][] = [];
    // Answers by prompt length, so each output says which prompt it came from.
    const m: ScoringModel = { async scoreContinuations() { return []; }, async generate(p) { batches.push(p.map((x) => x.length)); return p.map((x) => `answer${x.length % 2 + 1}`); } };
    const rs = await new GenerativeScorer({ ...DEFAULT_EVALUATOR_CONFIG.generative, batchSize: 3 }).score(m, items);
    expect(batches).toEqual([[2, 3, 4], [11, 12, 25], [26, 30]]);
    expect(rs.map((r) => r.itemId)).toEqual(items.map((it) => it.id));
    expect(rs.map((r) => r.output)).toEqual(lengths.map((n) => `answer${n % 2 + 1}`));
  });
  it('applies the prompt template', async () => {
    const seen: string[] = [];
    const m: ScoringModel = { async scoreContinuations() { return []; }, async generate(p) { seen.push(...p); return p.map(() => 'answer1'); } };
    await new GenerativeScorer({ ...DEFAULT_EVALUATOR_CONFIG.generative, template: '<s>{prompt}\n' }).score(m, [item('x/0', ['a', 'b'], 0)]);
    expect(seen).toEqual(['<s>x/0\n']);
  });
});

describe('NumericScorer', () => {
  it('matches the final number against the target', async () => {
    const items: EvalItem[] = Array.from({ length: 10 }, (_, i) => ({ id: `gsm/test/${i}`, set: 'gsm', context: '', choices: [], gold: null, answerFormat: 'numeric', prompt: `p${i}`, target: String(10 + i) }));
    const rs = await new NumericScorer(DEFAULT_EVALUATOR_CONFIG.generative).score(new FakeModel(items, 0.7), items);
    expect(rs.filter((r) => r.correct).length).toBe(7);
  });
});
