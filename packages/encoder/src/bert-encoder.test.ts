// Parity of the TF.js BERT encoder with transformers / sentence-transformers on the tiny random BERT fixture
// (test/make-fixtures.py), plus chunking, truncation, padding, determinism and bad input.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initBackend, readSafetensors } from '@dnd/core';
import { createRandomBert, loadBertEncoder, TINY_BERT_CONFIG, tinyBertFixtureDir, type BertEncoder } from './index';

const FIX = path.join(__dirname, '..', 'test', 'fixtures');
const expected = readSafetensors(path.join(FIX, 'tiny-bert-expected.safetensors')).tensors;
const ints = (name: string): number[] => Array.from(expected.get(name)!.data as Int32Array);
const floats = (name: string): Float32Array => expected.get(name)!.data as Float32Array;
const { prompts, pooledMaxLength } = JSON.parse(fs.readFileSync(path.join(FIX, 'tiny-bert-prompts.json'), 'utf8')) as { prompts: string[]; pooledMaxLength: number };

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('BertEncoder on the tiny random BERT fixture', () => {
  let enc: BertEncoder;
  let baseline: number;
  beforeAll(async () => {
    await initBackend();
    baseline = tf.memory().numTensors;
    enc = await loadBertEncoder(tinyBertFixtureDir(), { chunkLength: 16, batchSize: 5 });
  });
  afterAll(() => {
    enc.dispose();
    expect(tf.memory().numTensors).toBe(baseline);
  });

  test('tokenizes exactly as BertTokenizerFast (truncation, [CLS]/[SEP], padding)', () => {
    for (const [tag, L] of [['l16', 16], ['l48c16', 48]] as const) {
      const b = enc.tokenizer.encodeBatch(prompts, L);
      expect(Array.from(b.ids)).toEqual(ints(`${tag}.input_ids`));
      expect(Array.from(b.mask)).toEqual(ints(`${tag}.attention_mask`));
    }
  });

  test('last_hidden_state at L=16 matches transformers within 1e-4, pad positions included', async () => {
    const r = await enc.encode(prompts, { maxLength: 16 });
    expect(r.condition.shape).toEqual([prompts.length, 16, 32]);
    expect(maxAbsDiff(r.condition.data, floats('l16.hidden'))).toBeLessThan(1e-4);
    // Prompts with more than 16 tokens (as the untruncated L=48 mask shows) are counted for manifests.
    const m48 = ints('l48c16.attention_mask');
    const long = prompts.map((_, n) => n).filter((n) => m48.slice(n * 48, (n + 1) * 48).reduce((a, b) => a + b, 0) > 16);
    expect(long.length).toBeGreaterThan(1);
    expect(r.truncatedIndices).toEqual(long);
    expect(r.truncated).toBe(long.length);
  });

  test('L=48 is split into independent 16-token chunks (method §3), all-padding chunks included', async () => {
    const r = await enc.encode(prompts, { maxLength: 48 });
    expect(r.condition.shape).toEqual([prompts.length, 48, 32]);
    expect(maxAbsDiff(r.condition.data, floats('l48c16.hidden'))).toBeLessThan(1e-4);
  });

  test('pooled embeddings match sentence-transformers (cosine >= 0.99999)', async () => {
    const whole = await loadBertEncoder(tinyBertFixtureDir()); // no chunking below max_position_embeddings (64)
    const e = await whole.embed(prompts, { maxLength: pooledMaxLength });
    whole.dispose();
    const ref = floats('pooled');
    const C = 32;
    for (let n = 0; n < prompts.length; n++) {
      let dot = 0; let na = 0; let nb = 0;
      for (let c = 0; c < C; c++) {
        const a = e.data[n * C + c]!; const b = ref[n * C + c]!;
        dot += a * b; na += a * a; nb += b * b;
      }
      expect(dot / Math.sqrt(na * nb)).toBeGreaterThanOrEqual(0.99999);
      expect(Math.sqrt(na)).toBeCloseTo(1, 5);
    }
  });

  test('a prompt encodes the same alone and in a batch (batching does not leak across rows)', async () => {
    const all = await enc.encode(prompts, { maxLength: 16 });
    const one = await enc.encode([prompts[3]!], { maxLength: 16 });
    const row = all.condition.data.subarray(3 * 16 * 32, 4 * 16 * 32);
    expect(maxAbsDiff(one.condition.data, row)).toBeLessThan(1e-5);
  });

  test('bad input: empty list, bad maxLength, non-chunkable length', async () => {
    await expect(enc.encode([], { maxLength: 16 })).rejects.toThrow(/prompt list is empty/);
    await expect(enc.encode(['a'], { maxLength: 2 })).rejects.toThrow(/maxLength must be an integer >= 3, got 2/);
    await expect(enc.encode(['a'], { maxLength: 40 })).rejects.toThrow(/not a multiple of it/);
    await expect(enc.encode([42 as unknown as string], { maxLength: 16 })).rejects.toThrow(/prompt 0 is not a string/);
  });
});

describe('createRandomBert', () => {
  beforeAll(async () => { await initBackend(); });

  test('is deterministic in the seed and has the config shape', async () => {
    const before = tf.memory().numTensors;
    const a = createRandomBert(TINY_BERT_CONFIG, 7);
    const b = createRandomBert(TINY_BERT_CONFIG, 7);
    const c = createRandomBert(TINY_BERT_CONFIG, 8);
    const ra = await a.encode(['What is a cat?'], { maxLength: 12 });
    const rb = await b.encode(['What is a cat?'], { maxLength: 12 });
    const rc = await c.encode(['What is a cat?'], { maxLength: 12 });
    expect(ra.condition.shape).toEqual([1, 12, 32]);
    expect(maxAbsDiff(ra.condition.data, rb.condition.data)).toBe(0);
    expect(maxAbsDiff(ra.condition.data, rc.condition.data)).toBeGreaterThan(1e-3);
    expect(a.digest).toBe(b.digest);
    expect(a.digest).not.toBe(c.digest);
    expect(Array.from(ra.mask)).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
    [a, b, c].forEach((e) => e.dispose());
    expect(tf.memory().numTensors).toBe(before);
  });

  test('rejects a vocabulary smaller than the character vocabulary', () => {
    expect(() => createRandomBert({ ...TINY_BERT_CONFIG, vocabSize: 10 }, 1)).toThrow(/vocabSize 10 is below the 88 tokens/);
  });
});

describe('loadBertEncoder bad directories', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dnd-enc-'));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const copyFixture = (name: string, skip: string[]) => {
    const d = path.join(tmp, name);
    fs.mkdirSync(d);
    for (const f of fs.readdirSync(tinyBertFixtureDir())) if (!skip.includes(f)) fs.copyFileSync(path.join(tinyBertFixtureDir(), f), path.join(d, f));
    return d;
  };

  test('missing directory / no config.json / not BERT / no weights / no vocab', async () => {
    await expect(loadBertEncoder(path.join(tmp, 'nope'))).rejects.toThrow(/is not a directory/);
    const empty = path.join(tmp, 'empty'); fs.mkdirSync(empty);
    await expect(loadBertEncoder(empty)).rejects.toThrow(/no config.json/);
    const llama = copyFixture('llama', []);
    fs.writeFileSync(path.join(llama, 'config.json'), JSON.stringify({ model_type: 'llama', architectures: ['LlamaForCausalLM'] }));
    await expect(loadBertEncoder(llama)).rejects.toThrow(/is not a BERT model \(model_type="llama"/);
    await expect(loadBertEncoder(copyFixture('noweights', ['model.safetensors']))).rejects.toThrow(/has no model.safetensors/);
    await expect(loadBertEncoder(copyFixture('novocab', ['tokenizer.json', 'vocab.txt']))).rejects.toThrow(/has no vocabulary/);
  });

  test('vocab.txt alone is enough (tokenizer.json is built from it) and gives the same ids', async () => {
    const d = copyFixture('vocabonly', ['tokenizer.json']);
    const enc = await loadBertEncoder(d, { chunkLength: 16 });
    const b = enc.tokenizer.encodeBatch(prompts, 16);
    expect(Array.from(b.ids)).toEqual(ints('l16.input_ids'));
    enc.dispose();
  });
});
