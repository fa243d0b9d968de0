// Collection with the real @dnd/lm trainer on a tiny random Llama (2 layers, d 64, byte tokenizer): a run
// killed after 2 snapshots and resumed matches an uninterrupted run, and no tensors leak.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initBackend, readPeftAdapter } from '@dnd/core';
import { createLoraTrainer, createRandomCausalLM } from '@dnd/lm';
import { collectSet, verifyZooSet, buildPairs, CheckpointStore, type CollectConfig, type CollectProgress } from './index';

const cfg: Partial<CollectConfig> = { rank: 2, loraAlpha: 4, warmupSteps: 2, snapshotSteps: 4, batchSize: 2, maxSeqLen: 48, lr: 1e-3, warmupLr: 1e-2 };
let tmp: string;
let setFile: string;
beforeAll(async () => {
  await initBackend();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dnd-collect-lm-'));
  setFile = path.join(tmp, 'arith', 'train.jsonl');
  fs.mkdirSync(path.dirname(setFile));
  fs.writeFileSync(setFile, Array.from({ length: 16 }, (_, i) => JSON.stringify({ instruction: `${i} plus one is`, input: '', output: ` ${i + 1}`, answer: String(i + 1) })).join('\n'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

it('collects with the tfjs trainer, resumes after a crash without rewriting, and matches an uninterrupted run', async () => {
  const before = tf.memory().numTensors;
  const run = async (dir: string, onProgress?: (p: CollectProgress) => void) => {
    const model = createRandomCausalLM({}, 7);
    try {
      return await collectSet(setFile, dir, cfg, { model, createTrainer: createLoraTrainer, onProgress });
    } finally {
      model.dispose();
    }
  };
  const full = path.join(tmp, 'full');
  const r = await run(full);
  expect(r.manifest.status).toBe('complete');
  const losses = r.manifest.lossCurve.map((p) => p.loss);
  expect(losses.every((l) => Number.isFinite(l) && l > 0)).toBe(true);
  expect(losses[losses.length - 1]).toBeLessThan(losses[0]!); // it trains

  const dir = path.join(tmp, 'crashed');
  await expect(run(dir, (p) => { if (p.done === 4) throw new Error('killed'); })).rejects.toThrow('killed');
  expect(verifyZooSet(dir).snapshots).toHaveLength(2);
  const ino = fs.statSync(path.join(dir, 'snapshots', 'step-0002', 'adapter_model.safetensors')).ino;
  const r2 = await run(dir);
  expect(r2.written).toBe(2);
  expect(fs.statSync(path.join(dir, 'snapshots', 'step-0002', 'adapter_model.safetensors')).ino).toBe(ino);
  for (const s of ['step-0001', 'step-0004']) {
    const a = readPeftAdapter(path.join(full, 'snapshots', s));
    const b = readPeftAdapter(path.join(dir, 'snapshots', s));
    expect([...b.tensors.keys()]).toEqual([...a.tensors.keys()]);
    for (const [k, t] of a.tensors) {
      const u = b.tensors.get(k)!.data;
      let worst = 0;
      for (let i = 0; i < t.data.length; i++) worst = Math.max(worst, Math.abs(u[i]! - t.data[i]!));
      expect(worst).toBeLessThan(1e-5);
    }
  }
  // Snapshot 1 and 4 differ: the continued run moves the weights.
  const s1 = readPeftAdapter(path.join(full, 'snapshots', 'step-0001')).tensors;
  const s4 = readPeftAdapter(path.join(full, 'snapshots', 'step-0004')).tensors;
  const bName = [...s1.keys()].find((k) => k.includes('lora_B'))!;
  expect(Array.from(s4.get(bName)!.data)).not.toEqual(Array.from(s1.get(bName)!.data));
  expect(tf.memory().numTensors).toBe(before);

  // The zoo of a real model tokenizes: 2 layers x 7 modules at d 64 / ffn 128 / kv 32, auto width 32.
  const out = await buildPairs({ setDirs: [full], outDir: path.join(tmp, 'pairs') });
  expect(out.tokenShape[1]).toBe(4);
  const store = await CheckpointStore.open(path.join(tmp, 'pairs', 'checkpoints.arrow'));
  expect(store.rows).toHaveLength(4);
  await store.close();
});
