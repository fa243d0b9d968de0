// Collection bookkeeping with a pure-JS fake LM: complete runs, crash-and-resume without rewriting a
// snapshot, adoption of a snapshot renamed in just before a crash, tampering and config-change errors.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { readPeftAdapter } from '@dnd/core';
import type { CausalLM } from '@dnd/lm';
import { collectSet, verifyZooSet, readZooManifest, formatProgress, progressBar, resolveCollectConfig, type CollectProgress, type CollectConfig } from './index';
import { FakeLM, createFakeTrainer } from '../test/fake-lm';

const cfg: Partial<CollectConfig> = { rank: 2, loraAlpha: 4, warmupSteps: 2, snapshotSteps: 4, batchSize: 3, maxSeqLen: 16, lr: 1e-2, warmupLr: 1e-2 };
let tmp: string;
let setFile: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dnd-collect-'));
  setFile = path.join(tmp, 'tiny', 'train.json');
  fs.mkdirSync(path.dirname(setFile));
  fs.writeFileSync(setFile, JSON.stringify(Array.from({ length: 12 }, (_, i) => ({ instruction: `What is ${i}+1?`, input: '', output: `the answer is ${i + 1}`, answer: String(i + 1) }))));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const deps = (extra: object = {}) => ({ model: new FakeLM() as unknown as CausalLM, createTrainer: createFakeTrainer, baseModelDigest: 'fake-base', ...extra });
const weights = (dir: string, s: number) => path.join(dir, 'snapshots', `step-000${s}`, 'adapter_model.safetensors');

describe('collectSet', () => {
  let fullDir: string;
  beforeAll(async () => {
    fullDir = path.join(tmp, 'full');
    await collectSet(setFile, fullDir, cfg, deps());
  });

  it('writes a complete set: manifest with config, seeds, digest, per-snapshot sha256 and loss curve', () => {
    const m = verifyZooSet(fullDir, { requireComplete: true });
    expect(m.set).toBe('tiny');
    expect(m.status).toBe('complete');
    expect(m.config).toEqual(resolveCollectConfig(cfg));
    expect(m.baseModel.digest).toBe('fake-base');
    expect(m.seeds).toEqual({ lora: 42, batches: 42, split: 0 });
    expect(m.snapshots.map((s) => s.step)).toEqual([1, 2, 3, 4]);
    expect(m.lossCurve.map((p) => `${p.phase}${p.step}`)).toEqual(['warmup1', 'warmup2', 'snapshot3', 'snapshot4', 'snapshot5', 'snapshot6']);
    expect(m.taskSet.sources.train.kind).toBe('derived'); // a train.json alone is split by seed
    const a = readPeftAdapter(path.join(fullDir, 'snapshots', 'step-0003'));
    expect(a.config.r).toBe(2);
    expect(a.tensors.size).toBe(2 * 7 * 2);
    // consecutive snapshots differ (the run moves)
    expect(fs.readFileSync(weights(fullDir, 3)).equals(fs.readFileSync(weights(fullDir, 4)))).toBe(false);
  });

  it('is a no-op on a complete set', async () => {
    const r = await collectSet(setFile, fullDir, cfg, deps());
    expect(r.written).toBe(0);
  });

  it('resumes after a crash from the last complete snapshot, never rewriting one, and matches an uninterrupted run', async () => {
    const dir = path.join(tmp, 'crash');
    const crash = (p: CollectProgress) => { if (p.phase === 'snapshot' && p.done === 2 + 2) throw new Error('simulated crash'); };
    await expect(collectSet(setFile, dir, cfg, deps({ onProgress: crash }))).rejects.toThrow('simulated crash');
    expect(readZooManifest(dir)!.snapshots).toHaveLength(2);
    const before = [1, 2].map((s) => fs.statSync(weights(dir, s)));
    const seen: number[] = [];
    const r = await collectSet(setFile, dir, cfg, deps({ onProgress: (p: CollectProgress) => seen.push(p.done) }));
    expect(r.resumed).toBe(true);
    expect(r.written).toBe(2);
    expect(seen).toEqual([5, 6]); // only steps after the last snapshot ran
    [1, 2].forEach((s, i) => {
      const st = fs.statSync(weights(dir, s));
      expect(st.ino).toBe(before[i]!.ino);
      expect(st.mtimeMs).toBe(before[i]!.mtimeMs);
    });
    for (const s of [1, 2, 3, 4]) expect(fs.readFileSync(weights(dir, s)).equals(fs.readFileSync(weights(fullDir, s)))).toBe(true);
    expect(verifyZooSet(dir).lossCurve).toEqual(readZooManifest(fullDir)!.lossCurve);
  });

  it('stops cleanly on an abort signal and continues later', async () => {
    const dir = path.join(tmp, 'abort');
    const ac = new AbortController();
    const r1 = await collectSet(setFile, dir, cfg, deps({ signal: ac.signal, onProgress: (p: CollectProgress) => { if (p.done === 3) ac.abort(); } }));
    expect(r1.written).toBe(1);
    expect(r1.manifest.status).toBe('collecting');
    const r2 = await collectSet(setFile, dir, cfg, deps());
    expect(r2.written).toBe(3);
    expect(fs.readFileSync(weights(dir, 4)).equals(fs.readFileSync(weights(fullDir, 4)))).toBe(true);
  });

  it('adopts a snapshot renamed into place just before a crash instead of redoing it', async () => {
    const dir = path.join(tmp, 'adopt');
    await expect(collectSet(setFile, dir, cfg, deps({ onProgress: (p: CollectProgress) => { if (p.done === 4) throw new Error('crash'); } }))).rejects.toThrow('crash');
    // Simulate the crash window between the snapshot rename and the manifest update.
    const mf = path.join(dir, 'manifest.json');
    const m = JSON.parse(fs.readFileSync(mf, 'utf8'));
    m.snapshots.pop(); m.lossCurve.pop();
    fs.writeFileSync(mf, JSON.stringify(m));
    const ino = fs.statSync(weights(dir, 2)).ino;
    const r = await collectSet(setFile, dir, cfg, deps());
    expect(r.written).toBe(2);
    expect(fs.statSync(weights(dir, 2)).ino).toBe(ino);
    expect(verifyZooSet(dir).snapshots[1]!.sha256).toBe(readZooManifest(fullDir)!.snapshots[1]!.sha256);
  });

  it('fails clearly when a snapshot no longer matches its manifest sha256', async () => {
    const dir = path.join(tmp, 'tamper');
    fs.cpSync(fullDir, dir, { recursive: true });
    const f = weights(dir, 2);
    const b = fs.readFileSync(f); b[b.length - 1] = b[b.length - 1]! ^ 1; fs.writeFileSync(f, b);
    expect(() => verifyZooSet(dir)).toThrow(/snapshot step 2 .* has sha256 [0-9a-f]{64}, the manifest records [0-9a-f]{64}/);
    await expect(collectSet(setFile, dir, cfg, deps())).rejects.toThrow(/snapshot step 2/);
  });

  it('refuses to continue a folder made with another config or base model', async () => {
    await expect(collectSet(setFile, fullDir, { ...cfg, lr: 0.5 }, deps())).rejects.toThrow(/made with a different config/);
    await expect(collectSet(setFile, fullDir, cfg, deps({ baseModelDigest: 'other' }))).rejects.toThrow(/on base model fake-base, not other/);
  });

  it('validates the config naming field and value', async () => {
    await expect(collectSet(setFile, path.join(tmp, 'x'), { ...cfg, batchSize: 0 }, deps())).rejects.toThrow('CollectConfig.batchSize must be an integer >= 1, got 0');
    await expect(collectSet(setFile, path.join(tmp, 'x'), { ...cfg, targetModules: ['qq_proj'] }, deps())).rejects.toThrow(/unknown module "qq_proj"/);
  });
});

it('formats a progress line with loss, tokens/s and ETA', () => {
  expect(formatProgress({ set: 'piqa', phase: 'warmup', done: 5, total: 10, loss: 1.23456, tokensPerSec: 812.4, stepSeconds: 1, etaSec: 65 }, 10))
    .toBe('piqa [#####.....] 5/10 warmup loss 1.2346 812 tok/s ETA 1m05s');
});

it('progressBar redraws one line on a TTY and prints every 10% otherwise', () => {
  const mk = (isTTY: boolean) => { const out: string[] = []; return { out, stream: { isTTY, write: (s: string) => out.push(s) } as unknown as NodeJS.WriteStream }; };
  const p = (done: number) => ({ set: 's', phase: 'snapshot' as const, done, total: 20, loss: 1, tokensPerSec: 1, stepSeconds: 1, etaSec: 1 });
  const tty = mk(true);
  const bar = progressBar(tty.stream);
  for (let d = 1; d <= 20; d++) bar(p(d));
  expect(tty.out).toHaveLength(20);
  expect(tty.out.every((s) => s.startsWith('\r'))).toBe(true);
  expect(tty.out[19]!.endsWith('\n')).toBe(true);
  const log = mk(false);
  const bar2 = progressBar(log.stream);
  for (let d = 1; d <= 20; d++) bar2(p(d));
  expect(log.out).toHaveLength(11); // deciles 0..10
});
