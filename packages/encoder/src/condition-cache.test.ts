// The Arrow condition cache: hits are not re-encoded, results equal a plain encode, survive a restart (a new
// cache object on the same directory), and two writers on one directory do not clobber each other.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@dnd/core';
import { ConditionCache, createRandomBert, encodeWithCache, promptHash, TINY_BERT_CONFIG, type EncodeOptions, type TextEncoder } from './index';

/** Largest |a - b| (batch composition changes fp32 rounding slightly, so compare with a tolerance). */
function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** Wraps an encoder and records which prompts reach it. */
function counting(enc: TextEncoder): TextEncoder & { seen: string[] } {
  const seen: string[] = [];
  return {
    kind: enc.kind, digest: enc.digest, dim: enc.dim, seen,
    encode: (p: string[], o: EncodeOptions) => { seen.push(...p); return enc.encode(p, o); },
    embed: (p: string[], o: EncodeOptions) => enc.embed(p, o),
    dispose: () => enc.dispose(),
  };
}

describe('ConditionCache', () => {
  let tmp: string;
  let base: TextEncoder;
  let baseline: number;
  beforeAll(async () => {
    await initBackend();
    baseline = tf.memory().numTensors;
    base = createRandomBert(TINY_BERT_CONFIG, 3);
  });
  afterAll(() => {
    base.dispose();
    expect(tf.memory().numTensors).toBe(baseline);
  });
  beforeEach(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dnd-cache-')); });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  test('a prompt already encoded is never encoded again, across restarts; results equal plain encode', async () => {
    const opts = { maxLength: 12 };
    const enc = counting(base);
    const first = await encodeWithCache(enc, ['a cat', 'a dog', 'a cat'], opts, new ConditionCache(tmp, { rowsPerBatch: 1 }));
    expect(enc.seen).toEqual(['a cat', 'a dog']);
    expect([first.hits, first.misses]).toEqual([0, 2]);
    const again = await encodeWithCache(enc, ['a dog', 'a bird that is far too long to fit', 'a cat'], opts, new ConditionCache(tmp)); // "restart"
    expect(enc.seen).toEqual(['a cat', 'a dog', 'a bird that is far too long to fit']);
    expect([again.hits, again.misses]).toEqual([2, 1]);
    const plain = await base.encode(['a dog', 'a bird that is far too long to fit', 'a cat'], opts);
    expect(again.condition.shape).toEqual([3, 12, 32]);
    expect(maxAbsDiff(again.condition.data, plain.condition.data)).toBeLessThan(1e-5);
    expect(Array.from(again.mask)).toEqual(Array.from(plain.mask));
    expect(again.truncatedIndices).toEqual([1]);
    // A different L is a different key: encoded afresh.
    await encodeWithCache(enc, ['a cat'], { maxLength: 8 }, new ConditionCache(tmp));
    expect(enc.seen.slice(-1)).toEqual(['a cat']);
    // Cached truncation flags come back from disk too.
    const third = await encodeWithCache(enc, ['a bird that is far too long to fit'], opts, new ConditionCache(tmp));
    expect([third.hits, third.truncated]).toEqual([1, 1]);
  });

  test('segments are Arrow files with FixedSizeList<Float32> rows and keyed metadata', async () => {
    const cache = new ConditionCache(tmp);
    await encodeWithCache(base, ['x', 'y'], { maxLength: 6 }, cache);
    const dir = path.join(tmp, base.digest, 'L6');
    const files = fs.readdirSync(dir);
    expect(files).toHaveLength(1);
    const { tableFromIPC } = await import('apache-arrow');
    const t = tableFromIPC(fs.readFileSync(path.join(dir, files[0]!)));
    expect(t.numRows).toBe(2);
    expect(String(t.schema.fields.map((f) => `${f.name}:${f.type}`))).toBe('prompt_sha256:Utf8,condition:FixedSizeList[192]<Float32>,mask:FixedSizeList[6]<Uint8>,truncated:Uint8');
    expect(t.schema.metadata.get('encoder_digest')).toBe(base.digest);
    expect(t.getChild('prompt_sha256')!.get(1)).toBe(promptHash('y'));
  });

  test('two writers on one directory: both segments survive and a third reader sees all rows', async () => {
    const w1 = new ConditionCache(tmp);
    const w2 = new ConditionCache(tmp);
    const e1 = counting(base);
    const e2 = counting(base);
    await Promise.all([
      encodeWithCache(e1, ['p1', 'p2', 'shared'], { maxLength: 8 }, w1),
      encodeWithCache(e2, ['p3', 'shared', 'p4'], { maxLength: 8 }, w2),
    ]);
    expect(fs.readdirSync(path.join(tmp, base.digest, 'L8')).filter((f) => f.endsWith('.arrow'))).toHaveLength(2);
    const reader = counting(base);
    const r = await encodeWithCache(reader, ['p4', 'p3', 'shared', 'p2', 'p1'], { maxLength: 8 }, new ConditionCache(tmp));
    expect(reader.seen).toEqual([]);
    expect(r.hits).toBe(5);
    const plain = await base.encode(['p4', 'p3', 'shared', 'p2', 'p1'], { maxLength: 8 });
    expect(maxAbsDiff(r.condition.data, plain.condition.data)).toBeLessThan(1e-5);
  });

  test('bad input: empty prompt list, bad digest, bad config', async () => {
    await expect(encodeWithCache(base, [], { maxLength: 8 }, new ConditionCache(tmp))).rejects.toThrow(/prompt list is empty/);
    await expect(new ConditionCache(tmp).get('../etc', 8, ['x'])).rejects.toThrow(/digest must be lower-case hex/);
    expect(() => new ConditionCache(tmp, { rowsPerBatch: 0 })).toThrow(/ConditionCacheConfig.rowsPerBatch must be an integer >= 1, got 0/);
  });
});
