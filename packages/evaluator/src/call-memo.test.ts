import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { adapterDigest, memoizedEvalModel, type MemoCall } from './call-memo';
import { DEFAULT_EVALUATOR_CONFIG } from './config';
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
});
