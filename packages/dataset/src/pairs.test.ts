// checkpoints.arrow / prompts.arrow / loss-weights.arrow round trips and the pair sampler (tiny shapes).
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { llamaLoraShapes, loraTokenLayout, tokenizeLora, detokenizeLora, tokenLossWeights, DEFAULT_LORA_ADAPTER_CONFIG, type LoraAdapter, type LoraTokenLayout, type TensorData, initBackend } from '@dnd/core';
import { createRandomBert, TINY_BERT_CONFIG } from '@dnd/encoder';
import { CheckpointStore, CheckpointStoreWriter, PairSampler, readPromptStore, writePromptStore, writeLossWeights, readLossWeights, trainingLossWeights, seededRandom, promptHash, type CheckpointRow, type TaskSet } from './index';

const loraConfig = { ...DEFAULT_LORA_ADAPTER_CONFIG, r: 2, loraAlpha: 4, targetModules: ['q_proj', 'v_proj'] };
const layout: LoraTokenLayout = loraTokenLayout(llamaLoraShapes({ numLayers: 2, hiddenSize: 8, intermediateSize: 16, kvOutSize: 4, targetModules: ['q_proj', 'v_proj'] }), { rank: 2, width: 4 });

/** A random adapter of the tiny layout (seeded). */
function adapter(seed: number): LoraAdapter {
  const rng = seededRandom(seed, 'adapter');
  const tensors = new Map<string, TensorData>();
  for (const e of layout.entries) {
    tensors.set(e.aName, { data: Float32Array.from({ length: 2 * e.inFeatures }, () => rng.next() - 0.5), shape: [2, e.inFeatures] });
    tensors.set(e.bName, { data: Float32Array.from({ length: e.outFeatures * 2 }, () => (rng.next() - 0.5) * 0.01), shape: [e.outFeatures, 2] });
  }
  return { config: loraConfig, tensors };
}

const set = (name: string, n: number): TaskSet => ({
  name, root: '/x',
  train: Array.from({ length: n }, (_, i) => ({ instruction: `${name} q${i}`, input: '', output: `SECRET-${i}`, answer: `a${i}` })),
  test: Array.from({ length: 3 }, (_, i) => ({ instruction: `${name} t${i}`, input: '', output: 'SECRET', answer: 'b' })),
  sources: { train: { kind: 'file', file: 'f', sha256: 'x', format: 'json', skipped: 0 }, test: { kind: 'file', file: 'g', sha256: 'y', format: 'json', skipped: 0 } },
});

let tmp: string;
const rows: CheckpointRow[] = [];
const grids: TensorData[] = [];
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dnd-pairs-'));
  for (const [s, name] of ['alpha', 'beta', 'gamma'].entries()) {
    for (let step = 1; step <= 3; step++) {
      rows.push({ set: name, step, path: `${name}/snapshots/step-${step}`, sha256: `${s}${step}`.padEnd(64, '0') });
      grids.push(tokenizeLora(adapter(s * 10 + step), layout));
    }
  }
  const w = new CheckpointStoreWriter(path.join(tmp, 'checkpoints.arrow'), { layout, loraConfig, rows, sources: { base: 'digest' } });
  rows.forEach((r, i) => w.append(r, grids[i]!));
  w.commit();
  writePromptStore(path.join(tmp, 'prompts.arrow'), [set('alpha', 10), set('beta', 12), set('gamma', 4)]);
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('checkpoints.arrow', () => {
  it('round-trips rows and token grids exactly, with dims and layout in schema metadata', async () => {
    const s = await CheckpointStore.open(path.join(tmp, 'checkpoints.arrow'));
    try {
      expect(s.tokenShape).toEqual(layout.tokenShape);
      expect(s.rows).toEqual(rows);
      expect(s.sets).toEqual(['alpha', 'beta', 'gamma']);
      for (const i of [0, 4, 8]) {
        const c = await s.read(i);
        expect(c.set).toBe(rows[i]!.set);
        expect(c.tokens.shape).toEqual(layout.tokenShape);
        expect(Array.from(c.tokens.data)).toEqual(Array.from(grids[i]!.data));
      }
      const back = detokenizeLora((await s.read(4)).tokens, s.meta.layout, s.meta.loraConfig);
      const orig = adapter(1 * 10 + 2).tensors.get(layout.entries[0]!.aName)!.data;
      const got = back.tensors.get(layout.entries[0]!.aName)!.data;
      for (let i = 0; i < orig.length; i++) expect(got[i]).toBeCloseTo(orig[i]!, 5);
    } finally {
      await s.close();
    }
  });

  it('rejects a checkpoint whose grid does not match the zoo, and commits nothing when rows are missing', () => {
    const file = path.join(tmp, 'bad.arrow');
    const w = new CheckpointStoreWriter(file, { layout, loraConfig, rows: rows.slice(0, 2), sources: {} });
    expect(() => w.append(rows[0]!, { data: new Float32Array(10), shape: [1, 2, 5] })).toThrow(/checkpoints.arrow row alpha step 1 .*expected shape/);
    w.append(rows[0]!, grids[0]!);
    expect(() => w.append(rows[2]!, grids[2]!)).toThrow(/row 1 should be alpha step 2/);
    expect(() => w.commit()).toThrow(/1 of 2 declared rows written; nothing committed/);
    expect(fs.existsSync(file)).toBe(false);
    expect(fs.readdirSync(tmp).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('refuses a file that is not a checkpoint store', async () => {
    await expect(CheckpointStore.open(path.join(tmp, 'prompts.arrow'))).rejects.toThrow(/expected a dnd "checkpoints" store/);
  });
});

describe('prompts.arrow', () => {
  it('stores instruction text only, with hashes, per set and split', () => {
    const p = readPromptStore(path.join(tmp, 'prompts.arrow'));
    expect(p.pools.get('alpha')!.train).toHaveLength(10);
    expect(p.pools.get('alpha')!.test).toEqual(['alpha t0', 'alpha t1', 'alpha t2']);
    expect(fs.readFileSync(path.join(tmp, 'prompts.arrow')).includes('SECRET')).toBe(false);
    expect(promptHash('alpha q0')).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('PairSampler', () => {
  const open = (cfg: object) => PairSampler.open(path.join(tmp, 'checkpoints.arrow'), path.join(tmp, 'prompts.arrow'), cfg);

  it('pairs a checkpoint of set s with N distinct prompts of set s, reproducibly by seed', async () => {
    const a = await open({ promptsPerPair: 4, seed: 3 });
    const b = await open({ promptsPerPair: 4, seed: 3 });
    const c = await open({ promptsPerPair: 4, seed: 4 });
    try {
      const seen = new Set<string>();
      for await (const p of a.pairs(0, 30)) {
        expect(p.checkpoint.set).toBe(p.set);
        expect(new Set(p.prompts).size).toBe(4);
        expect(p.prompts.every((t) => t.startsWith(`${p.set} q`))).toBe(true);
        seen.add(p.set);
        const q = await b.pair(p.index);
        expect(q.prompts).toEqual(p.prompts);
        expect(q.checkpoint.step).toBe(p.checkpoint.step);
      }
      expect(seen).toEqual(new Set(['alpha', 'beta', 'gamma']));
      const pa = await Promise.all([0, 1, 2, 3, 4].map((i) => a.plan(i)));
      const pc = await Promise.all([0, 1, 2, 3, 4].map((i) => c.plan(i)));
      expect(pc).not.toEqual(pa);
    } finally {
      await Promise.all([a.close(), b.close(), c.close()]);
    }
  });

  it('never samples an excluded (held-out) set', async () => {
    const s = await open({ promptsPerPair: 4, exclude: ['beta'] });
    try {
      expect(s.sets).toEqual(['alpha', 'gamma']);
      expect(s.numCheckpoints).toBe(6);
      for (let i = 0; i < 50; i++) expect(s.plan(i).set).not.toBe('beta');
    } finally {
      await s.close();
    }
  });

  it('fails clearly on a pool smaller than N and on unknown included sets; an excluded set without checkpoints is simply absent', async () => {
    await expect(open({ promptsPerPair: 5 })).rejects.toThrow(/set "gamma" has 4 train prompts, fewer than promptsPerPair = 5/);
    await expect(open({ promptsPerPair: 5 })).rejects.toMatchObject({ name: 'BadInputError' });
    await expect(open({ promptsPerPair: 2, include: ['delta'] })).rejects.toThrow(/set "delta" named in include has no checkpoints/);
    const s = await open({ promptsPerPair: 2, exclude: ['delta'] }); // a pipeline does not collect its held-out set
    expect(s.sets).toEqual(['alpha', 'beta', 'gamma']);
    await s.close();
    await expect(open({ promptsPerPair: 0 })).rejects.toThrow('PairSamplerConfig.promptsPerPair must be an integer >= 1, got 0');
  });
});

describe('PairSampler.trainingBatches', () => {
  beforeAll(async () => { await initBackend(); });
  it('batch t holds elements 0..B-1 of step t: their planned prompts encoded from the capped pool and their checkpoints, the same from any start', async () => {
    const encoder = createRandomBert({ ...TINY_BERT_CONFIG }, 1);
    const s = await PairSampler.open(path.join(tmp, 'checkpoints.arrow'), path.join(tmp, 'prompts.arrow'), { promptsPerPair: 3, seed: 5, exclude: ['gamma'], poolPerSet: 6 });
    try {
      const [L, C, B] = [8, encoder.dim, 2];
      expect(s.pool('beta')).toHaveLength(6); // 12 prompts capped to a seeded 6, in pool order
      const full = readPromptStore(path.join(tmp, 'prompts.arrow')).pools.get('beta')!.train;
      expect(s.pool('beta').map((p) => full.indexOf(p))).toEqual([...s.pool('beta').map((p) => full.indexOf(p))].sort((a, b) => a - b));
      const ticks: string[] = [];
      const it0 = s.trainingBatches(encoder, { batchSize: B, textLength: L, tick: (n) => ticks.push(n) }, 0);
      const batches = [(await it0.next()).value!, (await it0.next()).value!, (await it0.next()).value!];
      expect(ticks.filter((t) => t.startsWith('encoding'))).toEqual(['encoding alpha prompts', 'encoding beta prompts']);
      const [Nw, R, Cw] = s.tokenShape;
      for (const [t, batch] of batches.entries()) {
        expect(batch.condition.shape).toEqual([B, 3, L, C]);
        expect(batch.target.shape).toEqual([B, Nw, R, Cw]);
        for (let b = 0; b < B; b++) {
          const p = await s.pair(t, b);
          expect(p.set).not.toBe('gamma');
          const enc = await encoder.encode(p.prompts, { maxLength: L });
          const got = batch.condition.data.slice(b * 3 * L * C, (b + 1) * 3 * L * C);
          got.forEach((x: number, i: number) => expect(Math.abs(x - enc.condition.data[i]!)).toBeLessThan(1e-5));
          expect(Array.from(batch.target.data.slice(b * Nw * R * Cw, (b + 1) * Nw * R * Cw))).toEqual(Array.from(p.checkpoint.tokens.data));
        }
      }
      // A resumed run (start 2) continues the same sequence.
      const resumed = (await s.trainingBatches(encoder, { batchSize: B, textLength: L }, 2).next()).value!;
      expect(Array.from(resumed.condition.data)).toEqual(Array.from(batches[2]!.condition.data));
    } finally {
      await s.close();
      encoder.dispose();
    }
  });
});

describe('loss-weights.arrow', () => {
  it('stores per-set §4.4 weights (mean 1) and averages the training sets', () => {
    const file = path.join(tmp, 'loss-weights.arrow');
    const per = new Map(['alpha', 'beta', 'gamma'].map((s, k) => [s, tokenLossWeights(grids.slice(3 * k, 3 * k + 3))]));
    writeLossWeights(file, per);
    const back = readLossWeights(file);
    expect([...back.keys()]).toEqual(['alpha', 'beta', 'gamma']);
    const a = back.get('alpha')!;
    expect(a).toHaveLength(layout.numTokens);
    expect(a.reduce((x, y) => x + y, 0) / a.length).toBeCloseTo(1, 5);
    const mean = trainingLossWeights(file, ['alpha', 'gamma']);
    expect(mean[0]).toBeCloseTo((a[0]! + back.get('gamma')![0]!) / 2, 6);
    expect(() => trainingLossWeights(file, ['delta'])).toThrow(/no loss weights for set\(s\) delta/);
  });
});
