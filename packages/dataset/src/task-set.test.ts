// Task-set loading: formats (JSON array, JSONL, Parquet), aliases, seeded splits, bad input, prompt text.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadTaskSet, readTaskFile, registerTaskSetAlias, resolveTaskSet, conditioningPrompt, trainingExample, sharedDir } from './index';

const item = (i: number) => ({ instruction: `Question ${i}? Answer format: a/b`, input: '', output: `the correct answer is a${i}`, answer: `a${i}` });
let tmp: string;
beforeAll(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dnd-taskset-')); });
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function write(rel: string, text: string): string {
  const f = path.join(tmp, rel);
  fs.mkdirSync(path.dirname(f), { recursive: true });
  fs.writeFileSync(f, text);
  return f;
}

describe('readTaskFile', () => {
  it('reads a JSON array and a JSONL file to the same items', async () => {
    const items = [item(0), item(1), item(2)];
    const a = await readTaskFile(write('a/x.json', JSON.stringify(items)));
    const b = await readTaskFile(write('a/x.jsonl', items.map((x) => JSON.stringify(x)).join('\n') + '\n\n'));
    expect(a.items).toEqual(items);
    expect(b.items).toEqual(items);
    expect(a.format).toBe('json');
    expect(b.format).toBe('jsonl');
    expect(a.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('reads Parquet written by hyparquet-writer', async () => {
    const { parquetWriteBuffer } = await import('hyparquet-writer');
    const items = [item(0), item(1)];
    const buf = parquetWriteBuffer({
      columnData: (['instruction', 'input', 'output', 'answer'] as const).map((name) => ({ name, data: items.map((x) => x[name]), type: 'STRING' as const })),
    });
    const f = write('p/train.parquet', Buffer.from(buf) as any);
    const r = await readTaskFile(f);
    expect(r.format).toBe('parquet');
    expect(r.items).toEqual(items);
  });

  it('names file and line of a malformed JSONL line, or skips and counts it with skipBad', async () => {
    const f = write('bad/train.jsonl', [JSON.stringify(item(0)), '{"instruction": "broken', JSON.stringify(item(2)), '{"input": "no instruction"}'].join('\n'));
    await expect(readTaskFile(f)).rejects.toThrow(`${f}:2: malformed JSON line`);
    const r = await readTaskFile(f, { skipBad: true });
    expect(r.items.map((x) => x.answer)).toEqual(['a0', 'a2']);
    expect(r.skipped).toBe(2);
    expect(r.problems[1]).toContain(`${f}:4: field "instruction" is missing or empty`);
  });

  it('names the line of a syntax error in a JSON array', async () => {
    const f = write('bad/arr.json', '[\n {"instruction": "a"},\n {"instruction": "b",,}\n]');
    await expect(readTaskFile(f, { skipBad: true })).rejects.toThrow(`${f}:3: malformed JSON`);
  });

  it('rejects a record with a non-string field', async () => {
    const f = write('bad/obj.json', JSON.stringify([item(0), { instruction: 'x', output: { a: 1 } }]));
    await expect(readTaskFile(f)).rejects.toThrow(`${f}:item 1: field "output" must be a string`);
  });
});

describe('loadTaskSet', () => {
  it('loads a folder with train and test files under the folder name', async () => {
    write('tset/train.json', JSON.stringify([item(0), item(1)]));
    write('tset/test.jsonl', JSON.stringify(item(9)));
    const s = await loadTaskSet(path.join(tmp, 'tset'));
    expect(s.name).toBe('tset');
    expect(s.train).toHaveLength(2);
    expect(s.test).toHaveLength(1);
    expect(s.sources.train.kind).toBe('file');
  });

  it('splits a single-split set deterministically by seed, disjointly and completely', async () => {
    const items = Array.from({ length: 101 }, (_, i) => item(i));
    const f = write('single/test.json', JSON.stringify(items));
    const a = await loadTaskSet(f, { splitSeed: 7 });
    const b = await loadTaskSet(f, { splitSeed: 7 });
    const c = await loadTaskSet(f, { splitSeed: 8 });
    expect(a.name).toBe('single');
    expect(a.train).toEqual(b.train);
    expect(a.train.length).toBe(51);
    expect(a.test.length).toBe(50);
    expect(c.train).not.toEqual(a.train);
    const all = [...a.train, ...a.test].map((x) => x.answer).sort();
    expect(all).toEqual(items.map((x) => x.answer).sort());
    expect(a.sources.train).toMatchObject({ kind: 'derived', seed: 7, trainFraction: 0.5, of: 101 });
  });

  it('gives the same seeded split whether the set is named by alias or by path (regression)', async () => {
    const items = Array.from({ length: 40 }, (_, i) => item(i));
    write('aliased-single/test.json', JSON.stringify(items));
    registerTaskSetAlias('other-name', path.join(tmp, 'aliased-single'));
    const byAlias = await loadTaskSet('other-name', { splitSeed: 3 });
    const byPath = await loadTaskSet(path.join(tmp, 'aliased-single'), { splitSeed: 3 });
    expect(byAlias.name).toBe('other-name');
    expect(byPath.name).toBe('aliased-single');
    expect(byAlias.train).toEqual(byPath.train);
  });

  it('resolves registered aliases and fails clearly on unknown names', async () => {
    write('aliased/train.json', JSON.stringify([item(0), item(1)]));
    registerTaskSetAlias('my-set', path.join(tmp, 'aliased'));
    const s = await loadTaskSet('my-set');
    expect(s.name).toBe('my-set');
    expect(() => resolveTaskSet('no-such-set')).toThrow(/no such path and no such alias/);
  });

  it('rejects an empty set', async () => {
    const f = write('empty/train.json', '[]');
    await expect(loadTaskSet(f)).rejects.toThrow(/has no usable records/);
    const g = write('allbad/train.jsonl', '{"x": 1}\n');
    await expect(loadTaskSet(g, { skipBad: true })).rejects.toThrow(/no usable records \(1 skipped as bad\)/);
  });

  it('resolves the built-in commonsense aliases through DND_SHARED_DIR', () => {
    const old = process.env.DND_SHARED_DIR;
    process.env.DND_SHARED_DIR = tmp;
    try {
      expect(sharedDir()).toBe(tmp);
      expect(() => resolveTaskSet('piqa')).toThrow(`alias points to ${path.join(tmp, 'data', 'commonsense', 'piqa')}`);
    } finally {
      if (old === undefined) delete process.env.DND_SHARED_DIR; else process.env.DND_SHARED_DIR = old;
    }
  });

  const shared = path.join(sharedDir(), 'data', 'commonsense', 'piqa');
  (fs.existsSync(shared) ? it : it.skip)('loads the shared piqa set (test only) with a seeded split', async () => {
    const s = await loadTaskSet('piqa', { splitSeed: 0 });
    expect(s.train.length + s.test.length).toBe(1838);
    expect(s.sources.test.kind).toBe('derived');
  });
});

describe('prompts', () => {
  it('conditions on the instruction alone and trains on output', () => {
    const x = { instruction: 'Q?', input: 'ctx', output: 'the correct answer is b', answer: 'b' };
    expect(conditioningPrompt(x)).toBe('Q?');
    expect(trainingExample(x)).toEqual({ prompt: 'Q?\n\nctx', answer: 'the correct answer is b' });
    expect(trainingExample(x, '### {prompt}\n')).toEqual({ prompt: '### Q?\n\nctx\n', answer: 'the correct answer is b' });
  });
});
