// Parity with the real all-MiniLM-L6-v2 weights (provisioned by infra/assets-minilm.sh into
// $DND_CACHE/models/all-MiniLM-L6-v2): token ids, last_hidden_state at L=32 within 1e-4, sentence-transformers
// pooled embeddings at cosine >= 0.99999 on 20 commonsense prompts. Skipped when the weights are absent.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initBackend, readSafetensors } from '@dnd/core';
import { loadTextEncoder, type BertEncoder } from './index';

const DIR = path.join(process.env.DND_CACHE ?? path.join(os.homedir(), '.cache', 'dnd'), 'models', 'all-MiniLM-L6-v2');
const FIX = path.join(__dirname, '..', 'test', 'fixtures');
const present = fs.existsSync(path.join(DIR, 'model.safetensors'));

(present ? describe : describe.skip)('all-MiniLM-L6-v2 parity (real weights)', () => {
  const expected = readSafetensors(path.join(FIX, 'minilm-expected.safetensors')).tensors;
  const ints = (name: string): number[] => Array.from(expected.get(name)!.data as Int32Array);
  const floats = (name: string): Float32Array => expected.get(name)!.data as Float32Array;
  const { prompts, pooledMaxLength } = JSON.parse(fs.readFileSync(path.join(FIX, 'minilm-prompts.json'), 'utf8')) as { prompts: string[]; pooledMaxLength: number };
  let enc: BertEncoder;
  let baseline: number;
  beforeAll(async () => {
    await initBackend();
    baseline = tf.memory().numTensors;
    enc = (await loadTextEncoder({ kind: 'bert', dir: DIR })) as BertEncoder;
  });
  afterAll(() => {
    enc.dispose();
    expect(tf.memory().numTensors).toBe(baseline);
  });

  test('shape, ids and last_hidden_state at L=32 within 1e-4', async () => {
    expect(enc.dim).toBe(384);
    const r = await enc.encode(prompts, { maxLength: 32 });
    expect(r.condition.shape).toEqual([20, 32, 384]);
    expect(Array.from(enc.tokenizer.encodeBatch(prompts, 32).ids)).toEqual(ints('l32.input_ids'));
    expect(Array.from(r.mask)).toEqual(ints('l32.attention_mask'));
    const ref = floats('l32.hidden');
    let m = 0;
    for (let i = 0; i < ref.length; i++) m = Math.max(m, Math.abs(r.condition.data[i]! - ref[i]!));
    expect(m).toBeLessThan(1e-4);
    expect(r.truncated).toBeGreaterThan(0); // the ARC prompts are longer than 32 tokens
  });

  test('pooled, normalised embeddings match sentence-transformers (cosine >= 0.99999)', async () => {
    const e = await enc.embed(prompts, { maxLength: pooledMaxLength });
    const ref = floats('pooled');
    for (let n = 0; n < prompts.length; n++) {
      let dot = 0;
      for (let c = 0; c < 384; c++) dot += e.data[n * 384 + c]! * ref[n * 384 + c]!;
      expect(dot).toBeGreaterThanOrEqual(0.99999); // both unit-norm: dot = cosine
    }
  });

  test('digest is stable across loads', async () => {
    const again = await loadTextEncoder(DIR);
    expect(again.digest).toBe(enc.digest);
    again.dispose();
  });
});
