// Shared-prefix and many-adapter scoring are exact: per-request log-likelihoods, token counts and is_greedy
// match the plain path (context + continuation per request, one adapter at a time) within 1e-4, on the tiny
// Llama fixture and on SmolLM2-135M-Instruct (provisioned by infra/bootstrap.sh); no tensors leak.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { DEFAULT_LORA_ADAPTER_CONFIG, initBackend, mulberry32, readPeftAdapter, type LoraAdapter, type LoraAdapterConfig } from '@dnd/core';
import { loadCausalLM } from './causal-lm';
import { batchRows, packRequests, treeMaskBias } from './packed-scoring';
import { createLoraTrainer } from './trainer';
import type { TfCausalLM } from './causal-lm';
import type { CausalLM, ScoreRequest, ScoreResult } from './types';

const FIX = path.join(__dirname, '..', 'test', 'fixtures');
const SMOLLM2 = path.join(process.env.DND_CACHE ?? path.join(os.homedir(), '.cache', 'dnd'), 'models', 'smollm2-135m-instruct');

/** 4-choice items in lm-eval's multiple_choice shape: continuation " " + choice; choices of unequal length. */
function mcRequests(): ScoreRequest[] {
  const items = [
    { q: 'Question: Which gas do plants take in from the air?\nAnswer:', c: ['carbon dioxide', 'oxygen', 'nitrogen gas from the soil', 'helium'] },
    { q: 'Question: What makes a shadow?\nAnswer:', c: ['light blocked by an object', 'wind', 'sound', 'a mirror that reflects all colours'] },
    { q: 'The sun rises in the', c: ['east', 'west', 'north', 'south'] },
    { q: 'Water freezes at', c: ['zero degrees Celsius', '100 degrees', 'room temperature', 'ten'] },
    { q: 'Answer: ', c: ['yes', 'no', 'maybe so', 'never'] }, // trailing space moves into the continuation
  ];
  return items.flatMap((it) => it.c.map((c) => ({ context: it.q, continuation: ` ${c}` })));
}

/** An adapter with non-zero B (a fresh LoRA has B = 0, which would make every adapter the base). */
function randomAdapter(lm: CausalLM, cfg: LoraAdapterConfig, seed: number, scale: number): LoraAdapter {
  lm.attachLora(cfg, seed);
  const a = lm.getLoraWeights();
  lm.detachLora();
  const rand = mulberry32(seed + 1);
  for (const [name, t] of a.tensors) if (name.includes('lora_B')) for (let i = 0; i < t.data.length; i++) (t.data as Float32Array)[i] = (rand() * 2 - 1) * scale;
  return a;
}

function expectSame(got: ScoreResult[], want: ScoreResult[], tol: number): void {
  expect(got.length).toBe(want.length);
  got.forEach((g, i) => {
    expect(g.numTokens).toBe(want[i]!.numTokens);
    expect(g.isGreedy).toBe(want[i]!.isGreedy);
    expect(Math.abs(g.logprob - want[i]!.logprob)).toBeLessThan(tol);
  });
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** Reference: each adapter set on the model in turn, plain path. */
async function oneAtATime(lm: CausalLM, adapters: (LoraAdapter | null)[], reqs: ScoreRequest[], batchSize: number): Promise<ScoreResult[][]> {
  const out: ScoreResult[][] = [];
  for (const a of adapters) {
    if (a) lm.setLoraWeights(a); else lm.detachLora();
    out.push(await lm.scoreContinuations(reqs, { batchSize, sharePrefix: false }));
  }
  lm.detachLora();
  return out;
}

beforeAll(async () => { await initBackend(); });

describe('packing', () => {
  it('groups requests by prefix and puts each continuation at the positions it has alone', () => {
    const rows = packRequests([{ prefix: [5, 6], targets: [7, 8, 9] }, { prefix: [1], targets: [2] }, { prefix: [5, 6], targets: [3] }], true);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toEqual({ ids: [5, 6, 7, 8], pos: [0, 1, 2, 3], seg: [-1, -1, 0, 0], members: [{ req: 0, at: [1, 2, 3], targets: [7, 8, 9] }, { req: 2, at: [1], targets: [3] }] });
    expect(packRequests([{ prefix: [5, 6], targets: [7] }, { prefix: [5, 6], targets: [8] }], false)).toHaveLength(2);
  });

  it('tree mask: a continuation sees the prefix and its own earlier tokens, not the other continuations', () => {
    const [row] = packRequests([{ prefix: [5, 6], targets: [7, 8, 9] }, { prefix: [5, 6], targets: [3, 4] }], true); // ids 5 6 7 8 3
    const bias = treeMaskBias([row!], 6, 1);
    const m = Array.from(bias.dataSync(), (v) => (v === 0 ? 1 : 0));
    bias.dispose();
    const at = (i: number): number[] => m.slice(i * 6, i * 6 + 6);
    expect(at(1)).toEqual([1, 1, 0, 0, 0, 0]);
    expect(at(3)).toEqual([1, 1, 1, 1, 0, 0]); // choice 0's second token
    expect(at(4)).toEqual([1, 1, 0, 0, 1, 0]); // choice 1's token skips choice 0
    expect(at(5)).toEqual([1, 1, 0, 0, 0, 0]); // padding sees the prefix only
  });

  it('cuts passes at batchSize members or at maxTokens padded tokens over K copies, longest rows first', () => {
    const rows = packRequests([4, 9, 6, 6, 2].map((n, i) => ({ prefix: Array(n).fill(i + 1), targets: [7] })), true); // lengths 4 9 6 6 2
    const lens = (bs: number, maxTokens: number, K: number): number[][] => batchRows(rows, bs, maxTokens, K).map((b) => b.map((r) => r.ids.length));
    expect(lens(8, Infinity, 1)).toEqual([[9, 6, 6, 4, 2]]);
    expect(lens(2, Infinity, 1)).toEqual([[9, 6], [6, 4], [2]]);
    expect(lens(8, 18, 1)).toEqual([[9, 6], [6, 4, 2]]); // 2 x 9 fits, 3 x 9 does not; then 3 x 6
    expect(lens(8, 18, 2)).toEqual([[9], [6], [6], [4, 2]]); // two adapter copies: 2 x 2 x 6 > 18, 2 x 2 x 4 fits
    expect(lens(8, 5, 3)).toEqual([[9], [6], [6], [4], [2]]); // a row over the budget goes alone
  });
});

describe.each([
  ['tiny Llama fixture', path.join(FIX, 'llama'), 1e-4],
  ['SmolLM2-135M-Instruct', SMOLLM2, 1e-4],
])('%s', (_name, dir, tol) => {
  let lm: CausalLM;
  let baseline: number;
  const reqs = mcRequests();
  beforeAll(async () => {
    if (!fs.existsSync(path.join(dir, 'config.json'))) throw new Error(`${dir} is missing: run bash infra/assets-smollm2.sh (infra/bootstrap.sh does)`);
    baseline = tf.memory().numTensors;
    lm = await loadCausalLM(dir);
  });
  afterAll(() => {
    lm.dispose();
    expect(tf.memory().numTensors).toBe(baseline);
  });

  it('shared prefixes give the plain path\'s log-likelihoods within 1e-4, base and with a LoRA, at any batch size', async () => {
    const plain = await lm.scoreContinuations(reqs, { batchSize: 8, sharePrefix: false });
    for (const bs of [1, 7, 64]) expectSame(await lm.scoreContinuations(reqs, { batchSize: bs }), plain, tol);
    lm.setLoraWeights(randomAdapter(lm, { ...DEFAULT_LORA_ADAPTER_CONFIG, r: 4, loraAlpha: 8 }, 3, 0.05));
    const plainLora = await lm.scoreContinuations(reqs, { batchSize: 8, sharePrefix: false });
    expect(Math.max(...plainLora.map((r, i) => Math.abs(r.logprob - plain[i]!.logprob)))).toBeGreaterThan(1e-3); // the LoRA matters
    expectSame(await lm.scoreContinuations(reqs, { batchSize: 16 }), plainLora, tol);
    lm.detachLora();
  });

  it('the stacked q|k|v and gate|up matmuls give the separate projections\' logits, and follow a merge', () => {
    const tl = lm as TfCausalLM;
    const ids = [lm.tokenizer.encode('Question: What makes a shadow?\nAnswer: light')];
    tl.stackedProjections = false;
    const plain = lm.forwardLogits(ids).data as Float32Array;
    expect(tl.parts.fused).toBeNull();
    tl.stackedProjections = true;
    const fused = lm.forwardLogits(ids).data as Float32Array;
    expect(tl.parts.fused).toHaveLength(lm.config.numHiddenLayers); // built by the first inference call
    expect(maxDiff(fused, plain)).toBeLessThan(1e-4);
    lm.setLoraWeights(randomAdapter(lm, { ...DEFAULT_LORA_ADAPTER_CONFIG, r: 4, loraAlpha: 8 }, 9, 0.05));
    const unmerged = lm.forwardLogits(ids).data as Float32Array;
    lm.mergeLora();
    const merged = lm.forwardLogits(ids).data as Float32Array;
    lm.detachLora();
    expect(maxDiff(merged, unmerged)).toBeLessThan(1e-3);
    expect(maxDiff(merged, plain)).toBeGreaterThan(1e-3); // the merge reached the stacked copies
  });

  it('the attached LoRA stacked per group (q|k|v, o, gate|up, down) gives the per-projection logits, and follows every write to the adapter', async () => {
    const tl = lm as TfCausalLM;
    const ids = [lm.tokenizer.encode('Question: What makes a shadow?\nAnswer: light')];
    const both = (): { stacked: Float32Array; plain: Float32Array } => {
      tl.stackedProjections = false;
      const plain = lm.forwardLogits(ids).data as Float32Array;
      tl.stackedProjections = true;
      return { stacked: lm.forwardLogits(ids).data as Float32Array, plain };
    };
    const base = both().plain;
    // Some modules of a group (q and v, not k; down without o), then all seven.
    for (const targetModules of [['q_proj', 'v_proj', 'down_proj'], ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj']]) {
      const cfg = { ...DEFAULT_LORA_ADAPTER_CONFIG, r: 4, loraAlpha: 8, targetModules };
      const [a, b] = [randomAdapter(lm, cfg, 11, 0.05), randomAdapter(lm, cfg, 12, 0.05)];
      lm.setLoraWeights(a);
      const first = both();
      expect(maxDiff(first.stacked, first.plain)).toBeLessThan(1e-4);
      expect(maxDiff(first.stacked, base)).toBeGreaterThan(1e-3); // the LoRA matters
      lm.setLoraWeights(b); // same config: the variables are assigned in place
      const second = both();
      expect(maxDiff(second.stacked, second.plain)).toBeLessThan(1e-4);
      expect(maxDiff(second.stacked, first.stacked)).toBeGreaterThan(1e-3); // not the first adapter's stale copies
    }
    const trainer = createLoraTrainer(lm, { lr: 1e-2 });
    const before = both().stacked;
    await trainer.step({ prompts: ['Question: What makes a shadow?\nAnswer:'], answers: [' light'] }, 64);
    const after = both();
    trainer.dispose();
    lm.detachLora();
    expect(maxDiff(after.stacked, after.plain)).toBeLessThan(1e-4);
    expect(maxDiff(after.stacked, before)).toBeGreaterThan(1e-5); // the step reached the inference copies
  });

  it('contexts cut to maxLength score as the plain path cuts them', async () => {
    const conts = reqs.map((r) => lm.tokenizer.encode(r.continuation).length);
    const maxLength = Math.max(...conts) + 2;
    expect(reqs.filter((r) => lm.tokenizer.encode(r.context + r.continuation).length > maxLength + 1).length).toBeGreaterThan(4); // some are cut
    const opts = { maxLength, batchSize: 8 };
    expectSame(await lm.scoreContinuations(reqs, opts), await lm.scoreContinuations(reqs, { ...opts, sharePrefix: false }), tol);
  });

  it('K adapters in one batch (ranks, targets, scalings and the bare base mixed) match one adapter at a time within 1e-4', async () => {
    const all = DEFAULT_LORA_ADAPTER_CONFIG.targetModules;
    const adapters: (LoraAdapter | null)[] = [
      randomAdapter(lm, { ...DEFAULT_LORA_ADAPTER_CONFIG, r: 4, loraAlpha: 8 }, 5, 0.05),
      null,
      randomAdapter(lm, { ...DEFAULT_LORA_ADAPTER_CONFIG, r: 2, loraAlpha: 16, targetModules: ['q_proj', 'v_proj'] }, 6, 0.05),
      randomAdapter(lm, { ...DEFAULT_LORA_ADAPTER_CONFIG, r: 8, loraAlpha: 4, targetModules: [...all], useRslora: true }, 7, 0.05),
    ];
    if (dir.startsWith(FIX)) adapters.push(readPeftAdapter(path.join(FIX, 'llama-adapter'))); // the PEFT-written one
    const want = await oneAtATime(lm, adapters, reqs, 8);
    const got = await lm.scoreContinuationsMulti(adapters, reqs, { batchSize: 8 });
    expect(got).toHaveLength(adapters.length);
    got.forEach((g, k) => expectSame(g, want[k]!, tol));
    const noShare = await lm.scoreContinuationsMulti(adapters, reqs, { batchSize: 5, sharePrefix: false });
    noShare.forEach((g, k) => expectSame(g, want[k]!, tol));
    for (const maxTokensPerPass of [1, 64, 100000]) { // one context per pass, a few, everything in one pass
      const cut = await lm.scoreContinuationsMulti(adapters, reqs, { batchSize: 256, maxTokensPerPass });
      cut.forEach((g, k) => expectSame(g, want[k]!, tol));
    }
    await expect(lm.scoreContinuations(reqs, { maxTokensPerPass: 0 })).rejects.toThrow('maxTokensPerPass must be an integer >= 1, got 0');
    await expect(lm.scoreContinuations(reqs, { sharePrefix: false, maxTokensPerPass: 1.5 })).rejects.toThrow('scoreContinuations.maxTokensPerPass must be an integer >= 1, got 1.5');
    await expect(lm.scoreContinuationsMulti([null], reqs, { batchSize: 0 })).rejects.toThrow('scoreContinuationsMulti.batchSize must be an integer >= 1, got 0');
  });

  it('K adapters generate together what each generates alone: greedy on both models, sampled (each adapter its own seeded sampler) on the tiny one', async () => {
    const adapters: (LoraAdapter | null)[] = [
      null,
      randomAdapter(lm, { ...DEFAULT_LORA_ADAPTER_CONFIG, r: 4, loraAlpha: 8, targetModules: ['q_proj', 'v_proj'] }, 11, 0.05),
      randomAdapter(lm, { ...DEFAULT_LORA_ADAPTER_CONFIG, r: 2, loraAlpha: 16, targetModules: ['v_proj', 'o_proj'] }, 12, 0.05),
    ];
    const prompts = [...new Set(reqs.map((r) => r.context))].slice(0, 3);
    // Sampled outputs are compared on the tiny fixture only: on SmolLM2 a rounding difference between the two paths
    // (~1e-5 in the logits) moved one sampled token across the sampler's boundary, which says nothing about seeding.
    const sampled = { maxNewTokens: 4, batchSize: 2, greedy: false, temperature: 0.9, seed: 5 };
    for (const opts of dir === SMOLLM2 ? [{ maxNewTokens: 4, batchSize: 2 }] : [{ maxNewTokens: 4, batchSize: 2 }, sampled]) {
      const alone: string[][] = [];
      for (const a of adapters) {
        if (a) lm.setLoraWeights(a); else lm.detachLora();
        alone.push(await lm.generate(prompts, opts));
      }
      lm.detachLora();
      expect(new Set(alone.map((x) => JSON.stringify(x))).size).toBeGreaterThan(1); // the adapters matter
      expect(await lm.generateMulti(adapters, prompts, opts)).toEqual(alone);
    }
  });

  it('rejects an adapter that does not fit, naming it, and leaves nothing behind', async () => {
    const bad = randomAdapter(lm, { ...DEFAULT_LORA_ADAPTER_CONFIG, r: 2, loraAlpha: 4 }, 8, 0.01);
    const name = [...bad.tensors.keys()].find((n) => n.includes('lora_A'))!;
    bad.tensors.set(name, { data: new Float32Array(6), shape: [2, 3] });
    const before = tf.memory().numTensors;
    await expect(lm.scoreContinuationsMulti([null, bad], reqs)).rejects.toThrow(/adapter 1 tensor ".*lora_A.weight" has shape \[2,3\]/);
    expect(tf.memory().numTensors).toBe(before);
  });
});
