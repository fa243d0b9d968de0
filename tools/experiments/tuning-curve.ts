// The LoRA-tuning side of "generation time vs tuning time to the same accuracy" (paper: 12,000x): per set,
// fine-tune a LoRA on the set's own labelled train split with the zoo's recipe, keep a PEFT snapshot after
// every step, and score chosen steps on the exact items the run's report scored. An experiment driver, not a test.
//
// Usage: nice node tools/bench/run-ts.cjs tools/experiments/tuning-curve.ts '<json>'
//   json: { "preset": "commonsense-smollm2", "sets": ["boolq", ...], "steps": [1, 2, 4, 8, 16, 30],
//           "workDir": "runs/tuning-curve", "out": "runs/tuning-curve/curve.json" }
// Recipe: the preset's collectSet settings with warmupSteps 0 and every step at the warm-up learning rate
// (the zoo's own first steps: same seeded batches, same lr), snapshotSteps = max(steps). Scoring: the preset's
// evaluator config (same subsample seed and size), the set's test split as the run loads it.
import * as fs from 'fs';
import * as path from 'path';
import { initBackend, readPeftAdapter } from '@dnd/core';
import { createLoraTrainer, loadCausalLM } from '@dnd/lm';
import { collectSet, loadTaskSet, sharedDir, type CollectConfig } from '@dnd/dataset';
import { hostCausalLM, itemFromInstruction, resolveEvaluatorConfig, runEvaluation } from '@dnd/evaluator';

interface Args { preset: string; sets: string[]; steps: number[]; workDir: string; out: string }

(async () => {
  const a = JSON.parse(process.argv[2] ?? '{}') as Args;
  const preset = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'apps', 'orchestrator', 'presets', `${a.preset}.json`), 'utf8'));
  const collect = preset.steps.collectSet as Record<string, unknown>;
  const evalCfg = resolveEvaluatorConfig(preset.steps.evaluate.evaluator);
  const maxStep = Math.max(...a.steps);
  const backend = await initBackend();
  const modelDir = path.join(process.env['DND_CACHE'] ?? path.join(process.env['HOME'] ?? '/root', '.cache', 'dnd'), 'models', String(collect['model']));
  const model = await loadCausalLM(modelDir);
  const { model: _model, ...rest } = collect;
  const cfg = { ...rest, warmupSteps: 0, snapshotSteps: maxStep, lr: Number(collect['warmupLr']), seed: Number(preset.seed) } as Partial<CollectConfig>;
  const out: Record<string, unknown>[] = [];
  for (const set of a.sets) {
    const setDir = path.join(sharedDir(), 'data', 'commonsense', set);
    const zooDir = path.resolve(a.workDir, set);
    const stepSeconds: number[] = [];
    await collectSet(setDir, zooDir, cfg, {
      model, createTrainer: createLoraTrainer,
      onProgress: (p) => { stepSeconds.push(p.stepSeconds); process.stderr.write(`[tune] ${set} ${p.done}/${p.total} loss ${p.loss.toFixed(3)} ${p.stepSeconds.toFixed(2)} s\n`); },
    });
    const ts = await loadTaskSet(setDir, { splitSeed: Number(collect['splitSeed'] ?? 0), trainFraction: Number(collect['trainFraction'] ?? 0.5) });
    const items = ts.test.map((r, i) => itemFromInstruction(r, set, i, 'test'));
    const snaps = fs.readdirSync(path.join(zooDir, 'snapshots')).sort();
    // Named as trained on another set so the evaluator scores each on `set` like any training LoRA.
    const trainingLoras = a.steps.map((s) => ({ name: `step-${s}`, trainedOn: `own-${s}`, adapter: readPeftAdapter(path.join(zooDir, 'snapshots', snaps[s - 1]!)) }));
    const { results } = await runEvaluation({ sets: [{ name: set, items }], heldOut: [set], trainingLoras, generated: [] }, evalCfg, hostCausalLM(model, modelDir));
    const h = results.heldOut[0]!;
    const row = {
      set, n: h.n, base: h.base, stepSecondsMedian: [...stepSeconds].sort((x, y) => x - y)[Math.floor(stepSeconds.length / 2)],
      curve: h.training.map((t, i) => ({ step: a.steps[i], acc: t.acc })),
    };
    process.stderr.write(`${JSON.stringify(row)}\n`);
    out.push(row);
  }
  fs.mkdirSync(path.dirname(path.resolve(a.out)), { recursive: true });
  fs.writeFileSync(a.out, `${JSON.stringify({ backend: backend.name, preset: a.preset, recipe: cfg, evaluator: evalCfg, sets: out }, null, 2)}\n`);
  model.dispose();
})().catch((e) => { console.error(e); process.exit(1); });
