// The two pipeline steps end to end with the pure-JS fake LM: collectZoo -> buildPairs -> PairSampler,
// plus the errors buildPairs must give (tampered snapshot, incomplete set, mismatched LoRA structure).
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { fileURLToPath } from 'url';
import { detokenizeLora, readPeftAdapter, writePeftAdapter, type LoraAdapter } from '@dnd/core';
import type { CausalLM } from '@dnd/lm';
import { buildPairs, collectZoo, CheckpointStore, PairSampler, readLossWeights, readPromptStore, type CollectConfig } from './index';
import { sha256File } from '@dnd/core';
import { FakeLM, createFakeTrainer } from '../test/fake-lm';

const cfg: Partial<CollectConfig> = { rank: 2, loraAlpha: 4, warmupSteps: 1, snapshotSteps: 3, batchSize: 2, maxSeqLen: 16, lr: 1e-2, warmupLr: 1e-2 };
const deps = () => ({ model: new FakeLM() as unknown as CausalLM, createTrainer: createFakeTrainer, baseModelDigest: 'fake-base' });
let tmp: string;
const sets: string[] = [];
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dnd-steps-'));
  for (const name of ['sa', 'sb', 'sc']) {
    const dir = path.join(tmp, 'data', name);
    fs.mkdirSync(dir, { recursive: true });
    const items = (split: string, n: number) => Array.from({ length: n }, (_, i) => ({ instruction: `${name} ${split} question ${i}`, input: '', output: `the answer is ${name}${i}`, answer: `${name}${i}` }));
    fs.writeFileSync(path.join(dir, 'train.json'), JSON.stringify(items('train', 10)));
    fs.writeFileSync(path.join(dir, 'test.jsonl'), items('test', 4).map((x) => JSON.stringify(x)).join('\n'));
    sets.push(dir);
  }
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('collectZoo + buildPairs', () => {
  let zooDir: string;
  let pairsDir: string;
  beforeAll(async () => {
    zooDir = path.join(tmp, 'zoo');
    pairsDir = path.join(tmp, 'pairs');
    const z = await collectZoo({ sets, zooDir }, cfg, deps());
    expect(z.sets.map((s) => [s.set, s.written])).toEqual([['sa', 3], ['sb', 3], ['sc', 3]]);
    expect(z.zoo.sha256).toBe(sha256File(path.join(zooDir, 'zoo.json')));
  });

  it('builds prompts, checkpoints and loss weights with artifact references', async () => {
    const out = await buildPairs({ zooFile: path.join(zooDir, 'zoo.json'), outDir: pairsDir });
    expect(out.sets).toEqual(['sa', 'sb', 'sc']);
    expect(out.tokenShape[1]).toBe(4); // r + 2
    expect(out.tokenShape[2]).toBe(4 + 2); // auto width: gcd of 8, 16, 4 = 4
    for (const ref of [out.prompts, out.checkpoints, out.lossWeights, out.manifest]) {
      const f = fileURLToPath(ref.uri);
      expect(ref.sha256).toBe(sha256File(f));
      expect(ref.bytes).toBe(fs.statSync(f).size);
    }
    expect(out.checkpoints.mediaType).toBe('application/vnd.apache.arrow.file');
    const store = await CheckpointStore.open(path.join(pairsDir, 'checkpoints.arrow'));
    try {
      expect(store.rows.map((r) => `${r.set}${r.step}`)).toEqual(['sa1', 'sa2', 'sa3', 'sb1', 'sb2', 'sb3', 'sc1', 'sc2', 'sc3']);
      const c = await store.read(4);
      const back = detokenizeLora(c.tokens, store.meta.layout, store.meta.loraConfig);
      const orig = readPeftAdapter(path.resolve(pairsDir, c.path));
      for (const [k, t] of orig.tensors) {
        const got = back.tensors.get(k)!.data;
        for (let i = 0; i < t.data.length; i++) expect(Math.abs(got[i]! - t.data[i]!)).toBeLessThan(1e-5 + 1e-4 * Math.abs(t.data[i]!));
      }
    } finally {
      await store.close();
    }
    const p = readPromptStore(path.join(pairsDir, 'prompts.arrow'));
    expect(p.pools.get('sb')!.test).toEqual(['sb test question 0', 'sb test question 1', 'sb test question 2', 'sb test question 3']);
    const w = readLossWeights(path.join(pairsDir, 'loss-weights.arrow'));
    expect([...w.keys()]).toEqual(['sa', 'sb', 'sc']);
    const sampler = await PairSampler.open(path.join(pairsDir, 'checkpoints.arrow'), path.join(pairsDir, 'prompts.arrow'), { promptsPerPair: 4, exclude: ['sc'] });
    try {
      const pair = await sampler.pair(0);
      expect(['sa', 'sb']).toContain(pair.set);
      expect(pair.prompts.every((t) => t.startsWith(`${pair.set} train question`))).toBe(true);
    } finally {
      await sampler.close();
    }
  });

  it('fails naming the snapshot whose sha256 does not match its manifest', async () => {
    const bad = path.join(tmp, 'zoo-tampered');
    fs.cpSync(zooDir, bad, { recursive: true });
    const f = path.join(bad, 'sb', 'snapshots', 'step-0002', 'adapter_model.safetensors');
    const b = fs.readFileSync(f); b[b.length - 2] = b[b.length - 2]! ^ 0xff; fs.writeFileSync(f, b);
    await expect(buildPairs({ zooFile: path.join(bad, 'zoo.json'), outDir: path.join(tmp, 'p2') })).rejects.toThrow(/snapshot step 2 .*sb.*has sha256/);
    expect(fs.existsSync(path.join(tmp, 'p2', 'checkpoints.arrow'))).toBe(false);
  });

  it('fails naming a snapshot whose shapes do not match the zoo, and leaves no checkpoints.arrow', async () => {
    const bad = path.join(tmp, 'zoo-shapes');
    fs.cpSync(zooDir, bad, { recursive: true });
    const dir = path.join(bad, 'sc', 'snapshots', 'step-0003');
    const a = readPeftAdapter(dir);
    const cut: LoraAdapter = { config: { ...a.config, targetModules: ['q_proj'] }, tensors: new Map([...a.tensors].filter(([k]) => k.includes('q_proj'))) };
    writePeftAdapter(dir, cut);
    const mf = path.join(bad, 'sc', 'manifest.json');
    const m = JSON.parse(fs.readFileSync(mf, 'utf8'));
    m.snapshots[2].sha256 = sha256File(path.join(dir, 'adapter_model.safetensors'));
    fs.writeFileSync(mf, JSON.stringify(m));
    const out = path.join(tmp, 'p3');
    await expect(buildPairs({ zooFile: path.join(bad, 'zoo.json'), outDir: out })).rejects.toThrow(/snapshot .*sc\/snapshots\/step-0003 does not fit the zoo's LoRA structure/);
    expect(fs.existsSync(path.join(out, 'checkpoints.arrow'))).toBe(false);
    expect(fs.readdirSync(out).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('refuses an incomplete set', async () => {
    const bad = path.join(tmp, 'zoo-partial');
    fs.cpSync(zooDir, bad, { recursive: true });
    const mf = path.join(bad, 'sa', 'manifest.json');
    const m = JSON.parse(fs.readFileSync(mf, 'utf8'));
    m.status = 'collecting'; m.snapshots.pop();
    fs.writeFileSync(mf, JSON.stringify(m));
    await expect(buildPairs({ setDirs: [path.join(bad, 'sa')], outDir: path.join(tmp, 'p4') })).rejects.toThrow(/collection is not complete \(collecting, 2 of 3 snapshots\)/);
  });
});
