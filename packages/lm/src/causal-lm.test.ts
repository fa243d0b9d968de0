// Parity of the tfjs LM with transformers + PEFT on the tiny fixtures of test/make-fixtures.py: logits with and
// without an adapter (1e-4, fp32), greedy generation ids with a KV cache, tokenization ids, merge/unmerge.
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initBackend, loadHfTokenizer, readPeftAdapter, readSafetensors } from '@dnd/core';
import { loadCausalLM } from './causal-lm';
import type { TfCausalLM } from './causal-lm';
import { mulberry32 } from '@dnd/core';

const FIX = path.join(__dirname, '..', 'test', 'fixtures');
const parity = readSafetensors(path.join(FIX, 'parity.safetensors')).tensors;
const ids = parity.get('ids')!; const mask = parity.get('mask')!;
const [B, T] = ids.shape as [number, number];
const seqs: number[][] = [];
for (let b = 0; b < B; b++) {
  const s: number[] = [];
  for (let t = 0; t < T; t++) if (Number((mask.data as BigInt64Array)[b * T + t])) s.push(Number((ids.data as BigInt64Array)[b * T + t]));
  seqs.push(s);
}

/** Max |ours - ref| over real (unpadded) positions. */
function maxDiff(ours: Float32Array, ref: Float32Array, V: number): number {
  let m = 0;
  seqs.forEach((s, b) => {
    for (let t = 0; t < s.length; t++) {
      for (let v = 0; v < V; v++) m = Math.max(m, Math.abs(ours[(b * T + t) * V + v]! - ref[(b * T + t) * V + v]!));
    }
  });
  return m;
}

beforeAll(async () => { await initBackend(); });

describe.each(['llama', 'qwen2'])('%s parity with transformers + peft', (kind) => {
  let lm: TfCausalLM;
  let baseline: number;
  beforeAll(async () => {
    baseline = tf.memory().numTensors;
    lm = (await loadCausalLM(path.join(FIX, kind))) as TfCausalLM;
  });
  afterAll(() => {
    lm.dispose();
    expect(tf.memory().numTensors).toBe(baseline);
  });

  it('base logits match within 1e-4', () => {
    const ref = parity.get(`${kind}.logits.base`)!;
    const ours = lm.forwardLogits(seqs);
    expect(ours.shape).toEqual(ref.shape);
    expect(maxDiff(ours.data, ref.data as Float32Array, lm.config.vocabSize)).toBeLessThan(1e-4);
  });

  it('logits with the PEFT adapter match within 1e-4, and merge/unmerge keep them', () => {
    const adapter = readPeftAdapter(path.join(FIX, `${kind}-adapter`));
    lm.setLoraWeights(adapter);
    const ref = parity.get(`${kind}.logits.lora`)!.data as Float32Array;
    const V = lm.config.vocabSize;
    expect(maxDiff(lm.forwardLogits(seqs).data, ref, V)).toBeLessThan(1e-4);
    lm.mergeLora();
    expect(maxDiff(lm.forwardLogits(seqs).data, ref, V)).toBeLessThan(1e-4);
    lm.unmergeLora();
    expect(maxDiff(lm.forwardLogits(seqs).data, ref, V)).toBeLessThan(1e-4);
    // The adapter round-trips under PEFT names.
    const back = lm.getLoraWeights();
    for (const [n, t] of adapter.tensors) expect(back.tensors.get(n)!.data).toEqual(t.data);
  });

  it('greedy generation with a KV cache and left padding gives transformers\' ids', () => {
    const ref = parity.get(`${kind}.generate.lora`)!;
    const tok = lm.tokenizer;
    const prompts = ['Question: which is heavier?', 'The sky'].map((p) => tok.encode(p));
    const got = lm.generateIds(prompts, ref.shape[1]!, true, 1, ((r) => () => r)(mulberry32(0)));
    const want = [0, 1].map((b) => Array.from(ref.data as BigInt64Array).slice(b * ref.shape[1]!, (b + 1) * ref.shape[1]!).map(Number));
    // Our decoder stops at EOS (and drops it); transformers ran with eos_token_id=None.
    want.forEach((w, b) => {
      const eos = w.findIndex((id) => lm.config.eosTokenIds.includes(id));
      expect(got[b]).toEqual(eos < 0 ? w : w.slice(0, eos));
    });
  });

  it('tokenLogprobs equal log-softmax of the reference logits', async () => {
    const ref = parity.get(`${kind}.logits.lora`)!.data as Float32Array;
    const V = lm.config.vocabSize;
    const lps = await lm.tokenLogprobs(seqs);
    seqs.forEach((s, b) => {
      for (let t = 0; t + 1 < s.length; t++) {
        const row = ref.subarray((b * T + t) * V, (b * T + t + 1) * V);
        const mx = Math.max(...row);
        const lse = mx + Math.log(row.reduce((a, x) => a + Math.exp(x - mx), 0));
        expect(Math.abs(lps[b]![t]! - (row[s[t + 1]!]! - lse))).toBeLessThan(1e-4);
      }
    });
    lm.detachLora();
  });
});

describe('tokenizer parity with the tokenizers library', () => {
  const cases = require(path.join(FIX, 'tokenization.json')) as Array<{ text: string; ids: number[]; decoded: string }>;
  const tok = loadHfTokenizer(path.join(FIX, 'llama'));
  it.each(cases.map((c) => [JSON.stringify(c.text), c] as const))('%s: ids exact, decode round-trips', (_n, c) => {
    expect(tok.encode(c.text)).toEqual(c.ids);
    expect(tok.decode(c.ids, { skipSpecialTokens: false })).toBe(c.decoded);
  });
  it('reads special tokens and the chat template', () => {
    expect(tok.bosTokenId).toBe(1);
    expect(tok.eosTokenIds).toEqual([2]);
    expect(tok.padTokenId).toBe(0);
    expect(tok.chatTemplate).toContain('<|im_start|>');
  });
});
