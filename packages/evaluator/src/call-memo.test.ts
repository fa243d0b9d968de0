import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { adapterDigest, memoizedEvalModel, type MemoCall } from './call-memo';
import { DEFAULT_EVALUATOR_CONFIG, resolveEvaluatorConfig } from './config';
import { runEvaluation, type EvaluationPlan } from './run-evaluation';
import { GenerativeScorer, LoglikScorer } from './scorers';
import type { ContinuationRequest } from './scoring-model';
import { FakeModel, FakeMultiModel, fakeAdapter, makeItems } from '../test/fake-model';

describe('memoizedEvalModel', () => {
  it('an interrupted evaluation resumes from its stored calls with identical results, calling the model only for what is missing', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dnd-memo-'));
    const items = makeItems('s', 40);
    const plain = new FakeModel(items, 0.3);
    await plain.useAdapter(fakeAdapter(2));
    const expected = await new LoglikScorer(16).score(plain, items);

    // Attempt 1 dies after two calls (the third call throws, as a killed process would stop).
    const counting = new FakeModel(items, 0.3);
    let calls = 0;
    const score = counting.scoreContinuations.bind(counting);
    counting.scoreContinuations = async (reqs: ContinuationRequest[]) => { calls += 1; if (calls === 3) throw new Error('killed'); return score(reqs); };
    const m1 = memoizedEvalModel(counting, dir);
    await m1.useAdapter(fakeAdapter(2));
    await expect(new LoglikScorer(16).score(m1, items)).rejects.toThrow('killed');
    expect(fs.readdirSync(dir)).toHaveLength(2);

    // Attempt 2: the two stored calls are read back, the rest computed; the results equal the plain run.
    const seen: MemoCall[] = [];
    const m2 = memoizedEvalModel(counting, dir, (c) => seen.push(c));
    await m2.useAdapter(fakeAdapter(2));
    const before = calls;
    expect(await new LoglikScorer(16).score(m2, items)).toEqual(expected);
    expect(seen.map((c) => c.reused)).toEqual([true, true, false, false, false, false, false, false, false, false]);
    expect(calls - before).toBe(8);

    // Another adapter never reuses these calls.
    await m2.useAdapter(fakeAdapter(3));
    expect(adapterDigest(fakeAdapter(3))).not.toBe(adapterDigest(fakeAdapter(2)));
    seen.length = 0;
    await new LoglikScorer(16).score(m2, items);
    expect(seen.every((c) => !c.reused)).toBe(true);
  });

  it('multi-adapter calls resume too, keyed by every adapter\'s content whatever is attached', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dnd-memo-multi-'));
    const items = makeItems('s', 24);
    const adapters = [null, fakeAdapter(0.5), fakeAdapter(0.9)];
    const gen = new GenerativeScorer({ ...DEFAULT_EVALUATOR_CONFIG.generative, template: '{prompt}' });
    const expected = await gen.scoreMany(new FakeMultiModel(items, 0.3), adapters, items);

    const inner = new FakeMultiModel(items, 0.3);
    const seen: MemoCall[] = [];
    const m1 = memoizedEvalModel(inner, dir, (c) => seen.push(c));
    expect(await gen.scoreMany(m1, adapters, items)).toEqual(expected);
    expect(seen.map((c) => [c.method, c.size, c.reused])).toEqual([['generateMulti', 24, false], ['generateMulti', 24, false], ['generateMulti', 24, false]]);
    expect(inner.passes).toEqual([3, 3, 3]);

    // Again with another adapter attached: every call is read back, none reaches the model.
    seen.length = 0;
    const m2 = memoizedEvalModel(inner, dir, (c) => seen.push(c));
    await m2.useAdapter(fakeAdapter(0.1));
    expect(await gen.scoreMany(m2, adapters, items)).toEqual(expected);
    expect(seen.every((c) => c.reused)).toBe(true);
    expect(inner.passes).toHaveLength(3);
    // Other adapters (the same ones in another order) are other calls.
    await gen.scoreMany(m2, [adapters[1]!, null, adapters[2]!], items);
    expect(inner.passes).toHaveLength(6);
  });

  it('folds of a leave-one-out run share the calls they repeat through sharedDir (base and own LoRA on a training set), with the same results', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'dnd-memo-shared-'));
    const sets = ['A', 'B', 'C'].map((s) => ({ name: s, items: makeItems(s, 20) }));
    const all = sets.flatMap((s) => s.items);
    const lora = { A: fakeAdapter(0.6), B: fakeAdapter(0.2), C: fakeAdapter(0.4) } as const;
    // Fold X: the other two sets' LoRAs, X held out, one generated LoRA and one in-distribution probe per training set.
    const fold = (x: 'A' | 'B' | 'C'): EvaluationPlan => {
      const train = (['A', 'B', 'C'] as const).filter((s) => s !== x);
      return {
        sets, heldOut: [x],
        trainingLoras: train.map((s) => ({ name: `lora-${s}`, trainedOn: s, adapter: lora[s] })),
        generated: [{ heldOut: x, sample: 0, adapter: fakeAdapter(x === 'C' ? 0.7 : 0.5), numPrompts: 16 }],
        probes: train.map((s) => ({ kind: 'inDistribution' as const, scoredOn: s, promptsFrom: s, sample: 0, adapter: fakeAdapter(x === 'C' ? 0.55 : 0.45) })),
      };
    };
    const cfg = resolveEvaluatorConfig({ protocols: ['knowledge'], crossMatrix: false });
    const run = async (x: 'A' | 'B' | 'C', dir: string, sharedDir?: string) => {
      const inner = new FakeMultiModel(all, 0.3);
      const seen: MemoCall[] = [];
      const { results } = await runEvaluation(fold(x), cfg, memoizedEvalModel(inner, path.join(root, dir), (c) => seen.push(c), sharedDir ? { sharedDir } : {}));
      return { results, seen, passes: inner.passes };
    };
    const shared = path.join(root, 'shared');
    const foldC = await run('C', 'c', shared);
    expect(foldC.seen.every((c) => !c.reused)).toBe(true);
    // Fold B meets A again as a training set: base and lora-A on A come from fold C's calls, the rest is computed.
    const foldB = await run('B', 'b', shared);
    const fromShared = foldB.seen.filter((c) => c.shared);
    expect(fromShared.length).toBeGreaterThan(0);
    expect(fromShared.every((c) => c.reused && c.method === 'scoreContinuations')).toBe(true); // one adapter per pass
    expect(fromShared.reduce((a, c) => a + c.size, 0)).toBe(2 * 20 * 4); // 2 adapters x 20 items x 4 choices
    expect(foldB.seen.filter((c) => !c.reused).reduce((a, c) => a + c.size, 0)).toBe(foldB.seen.reduce((a, c) => a + c.size, 0) - 2 * 20 * 4);
    // The same results as fold B alone, without any shared cache.
    const alone = await run('B', 'b-alone');
    expect(foldB.results.cells).toEqual(alone.results.cells);
    expect(foldB.results.protocols[0]!.inDistribution).toEqual(alone.results.protocols[0]!.inDistribution);
    // The shared calls were copied into fold B's own directory: a retry of fold B needs nothing from the cache.
    fs.rmSync(shared, { recursive: true, force: true });
    const retry = await run('B', 'b');
    expect(retry.seen.every((c) => c.reused && !c.shared)).toBe(true);
    expect(retry.passes).toEqual([]);
    // An unreadable shared entry is computed again, not an error.
    const s2 = path.join(root, 'shared2');
    await run('C', 'c2', s2);
    for (const d of fs.readdirSync(s2)) for (const f of fs.readdirSync(path.join(s2, d))) fs.writeFileSync(path.join(s2, d, f), '{trunc');
    const again = await run('B', 'b2', s2);
    expect(again.seen.some((c) => c.shared)).toBe(false);
    expect(again.results.cells).toEqual(alone.results.cells);
  });
});
