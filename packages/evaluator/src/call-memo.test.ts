import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { adapterDigest, memoizedEvalModel, type MemoCall } from './call-memo';
import { LoglikScorer } from './scorers';
import type { ContinuationRequest } from './scoring-model';
import { FakeModel, fakeAdapter, makeItems } from '../test/fake-model';

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
});
