// @dnd/dataset side of `pnpm bench dataset`: collectSet on SmolLM2-135M-Instruct (LoRA r 8 on all 7 modules,
// batch 8, sequence 128, AdamW), 1 warm-up step then S snapshot steps on ARC-Easy; records seconds per snapshot
// (step + trainer state + PEFT snapshot + manifest) and the exact batches, which dataset_ref.py replays.
// Usage: node tools/bench/run-ts.cjs tools/bench/dataset-collect.ts MODEL_DIR OUT_JSON BATCHES_JSON SNAPSHOTS
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { initBackend } from '@dnd/core';
import { createLoraTrainer, loadCausalLM, type CausalLM, type LoraTrainerConfig, type TrainBatch } from '@dnd/lm';
import { collectSet, type CollectProgress } from '@dnd/dataset';

(async () => {
  const [modelDir, outFile, batchesFile, snapsArg] = process.argv.slice(2);
  const S = Number(snapsArg ?? 3);
  const backend = await initBackend();
  const model = await loadCausalLM(modelDir!);
  const batches: TrainBatch[] = [];
  const stepSeconds: number[] = [];
  const tokens: number[] = [];
  const createTrainer = (m: CausalLM, c: LoraTrainerConfig) => {
    const t = createLoraTrainer(m, c);
    const step = t.step.bind(t);
    t.step = async (b, maxLen) => {
      batches.push(b);
      const t0 = process.hrtime.bigint();
      const r = await step(b, maxLen);
      stepSeconds.push(Number(process.hrtime.bigint() - t0) / 1e9);
      tokens.push(r.tokens);
      return r;
    };
    return t;
  };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dnd-bench-zoo-'));
  const snapAt: number[] = [];
  const onProgress = (p: CollectProgress) => { if (p.phase === 'snapshot' || p.done === 1) snapAt.push(Number(process.hrtime.bigint()) / 1e9); };
  try {
    await collectSet('ARC-Easy', path.join(dir, 'ARC-Easy'), { warmupSteps: 1, snapshotSteps: S, batchSize: 8, maxSeqLen: 128, rank: 8, loraAlpha: 16 }, { model, createTrainer, onProgress });
  } finally {
    model.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  // Seconds per snapshot: between consecutive progress reports of the snapshot phase (the first measured
  // from the end of the warm-up step, which includes writing the warm-up adapter and state).
  const perSnapshot = snapAt.slice(1).map((t, i) => t - snapAt[i]!);
  fs.writeFileSync(batchesFile!, JSON.stringify(batches));
  fs.writeFileSync(outFile!, JSON.stringify({ impl: '@dnd/dataset', backend: backend.name, perSnapshot, stepSeconds, tokens, peakRssGiB: process.resourceUsage().maxRSS / 2 ** 20 /* KiB -> GiB: the process's peak */ }));
  console.log(`@dnd/dataset (${backend.name}): seconds per snapshot ${perSnapshot.map((s) => s.toFixed(2)).join(', ')}; train steps ${stepSeconds.map((s) => s.toFixed(2)).join(', ')}`);
})().catch((e) => { console.error(e); process.exit(1); });
