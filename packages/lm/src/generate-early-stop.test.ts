// Rows that finish early leave the generation batch (generateIds drops them once they are a quarter of it, and
// the LoRA bank follows the rows that remain): every row still generates what it generates when nothing stops,
// cut at its first stop token, one adapter at a time and with K adapters batched. The tiny Llama fixture, and a
// copy of it whose generation_config.json lists extra EOS ids (the HF format: "eos_token_id": [ ... ]).
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { DEFAULT_LORA_ADAPTER_CONFIG, initBackend, mulberry32, type LoraAdapter } from '@dnd/core';
import { loadCausalLM, type TfCausalLM } from './causal-lm';

const TINY = path.join(__dirname, '..', 'test', 'fixtures', 'llama');
const MAX_NEW = 8;

/** An adapter with non-zero B (a fresh LoRA has B = 0, which would make it the base). */
function randomAdapter(lm: TfCausalLM, targetModules: string[], seed: number): LoraAdapter {
  lm.attachLora({ ...DEFAULT_LORA_ADAPTER_CONFIG, r: 4, loraAlpha: 8, targetModules }, seed);
  const a = lm.getLoraWeights();
  lm.detachLora();
  const rand = mulberry32(seed + 1);
  for (const [name, t] of a.tensors) if (name.includes('lora_B')) for (let i = 0; i < t.data.length; i++) (t.data as Float32Array)[i] = (rand() * 2 - 1) * 0.5;
  return a;
}

function idsPerAdapter(lm: TfCausalLM, adapters: (LoraAdapter | null)[], prompts: number[][]): number[][][] {
  const out = adapters.map((a) => {
    if (a) lm.setLoraWeights(a); else lm.detachLora();
    return lm.generateIds(prompts, MAX_NEW, true, 1, () => () => 0);
  });
  lm.detachLora();
  return out;
}

beforeAll(async () => { await initBackend(); });

describe('generation when rows finish at different steps', () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'dnd-lm-stop-'));
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  it('each row equals its unstopped output cut at its first stop token, alone and with 3 adapters batched; nothing leaks', async () => {
    const free = (await loadCausalLM(TINY)) as TfCausalLM;
    const texts = ['Question: which is heavier, a stone or a leaf?', 'The sky', 'Water freezes at', 'A cat and a dog', 'Once upon a time there', 'Answer:'];
    const prompts = texts.map((t) => free.tokenizer.encode(t));
    const adapters = [null, randomAdapter(free, ['q_proj', 'v_proj'], 11), randomAdapter(free, ['v_proj', 'o_proj'], 12)];
    const unstopped = idsPerAdapter(free, adapters, prompts);
    free.dispose();

    // Stop tokens taken from the unstopped outputs (early tokens, most frequent first) until a quarter of the rows
    // end early, keeping a stop that would end every row before the last step out.
    const cutAt = (stops: number[]) => (ids: number[]) => { const i = ids.findIndex((id) => stops.includes(id)); return i < 0 ? ids : ids.slice(0, i); };
    const early = (stops: number[]) => unstopped.flat().map(cutAt(stops)).filter((r) => r.length < MAX_NEW - 1).length;
    const counts = new Map<number, number>();
    for (const row of unstopped.flat()) for (const id of row.slice(1, 4)) counts.set(id, (counts.get(id) ?? 0) + 1);
    const stops: number[] = [];
    for (const [id] of [...counts].sort((a, b) => b[1] - a[1])) {
      if (early(stops) >= unstopped.flat().length / 4) break;
      if (unstopped.flat().map(cutAt([...stops, id])).some((r) => r.length === MAX_NEW)) stops.push(id);
    }
    const want = unstopped.map((rows) => rows.map(cutAt(stops)));
    const lengths = want.flat().map((r) => r.length);
    // The case the compaction is for: a quarter of the rows or more end early, while others run to the end.
    expect(lengths.filter((n) => n < MAX_NEW - 1).length).toBeGreaterThanOrEqual(lengths.length / 4);
    expect(lengths.some((n) => n === MAX_NEW)).toBe(true);

    const dir = path.join(work, 'llama-stops');
    fs.cpSync(TINY, dir, { recursive: true });
    const gen = JSON.parse(fs.readFileSync(path.join(dir, 'generation_config.json'), 'utf8')) as Record<string, unknown>;
    fs.writeFileSync(path.join(dir, 'generation_config.json'), JSON.stringify({ ...gen, eos_token_id: [gen['eos_token_id'], ...stops] }));
    const lm = (await loadCausalLM(dir)) as TfCausalLM;
    try {
      expect(idsPerAdapter(lm, adapters, prompts)).toEqual(want);
      const before = tf.memory().numTensors; // after the first inference call built the stacked q|k|v, gate|up copies
      const batched = await lm.generateMulti(adapters, texts, { maxNewTokens: MAX_NEW, batchSize: texts.length });
      expect(batched).toEqual(want.map((rows) => rows.map((ids) => lm.tokenizer.decode(ids))));
      // The plain path (every row to the end) gives the same.
      expect(await lm.generateMulti(adapters, texts, { maxNewTokens: MAX_NEW, batchSize: texts.length, dropFinished: false })).toEqual(batched);
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      lm.dispose();
    }
  });

  it('stopWhen ends each row at the first token whose text so far passes the rule (that token kept), alone and with 3 adapters batched', async () => {
    const lm = (await loadCausalLM(TINY)) as TfCausalLM;
    try {
      const texts = ['Question: which is heavier, a stone or a leaf?', 'The sky', 'Water freezes at', 'A cat and a dog', 'Once upon a time there', 'Answer:'];
      const prompts = texts.map((t) => lm.tokenizer.encode(t));
      const adapters = [null, randomAdapter(lm, ['q_proj', 'v_proj'], 11), randomAdapter(lm, ['v_proj', 'o_proj'], 12)];
      const unstopped = idsPerAdapter(lm, adapters, prompts);
      const decode = (ids: number[]) => lm.tokenizer.decode(ids);
      // A rule that ends some rows early and not others: the text so far is at least the rows' median full length.
      const lengths = unstopped.flat().map((ids) => decode(ids).length).sort((a, b) => a - b);
      const L = lengths[Math.floor(lengths.length / 2)]!;
      const rule = { rule: `length>=${L}`, done: (t: string) => t.length >= L };
      const cut = (ids: number[]) => { const i = ids.findIndex((_, j) => rule.done(decode(ids.slice(0, j + 1)))); return i < 0 ? ids : ids.slice(0, i + 1); };
      const want = unstopped.map((rows) => rows.map((ids) => decode(cut(ids))));
      const stopped = unstopped.flat().filter((ids) => cut(ids).length < ids.length).length;
      expect(stopped).toBeGreaterThan(0);
      expect(stopped).toBeLessThan(unstopped.flat().length);
      const before = tf.memory().numTensors;
      expect(await lm.generateMulti(adapters, texts, { maxNewTokens: MAX_NEW, batchSize: texts.length, stopWhen: rule })).toEqual(want);
      for (const [k, a] of adapters.entries()) {
        if (a) lm.setLoraWeights(a); else lm.detachLora();
        expect(await lm.generate(texts, { maxNewTokens: MAX_NEW, batchSize: 4, stopWhen: rule })).toEqual(want[k]);
      }
      lm.detachLora();
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      lm.dispose();
    }
  });
});
