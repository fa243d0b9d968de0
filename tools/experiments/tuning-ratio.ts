// Accuracy on a held-out set of that set's OWN LoRA after W and W+s fine-tuning steps (from a collected zoo),
// for the "generation time vs LoRA tuning time to the same accuracy" ratio. An experiment driver.
// Usage: nice node tools/bench/run-ts.cjs tools/experiments/tuning-ratio.ts ZOO_SET_DIR SET N_ITEMS [snapshot...]
import * as path from 'path';
import { initBackend, readPeftAdapter } from '@dnd/core';
import { sharedDir } from '@dnd/dataset';
import { loadCausalLM } from '@dnd/lm';
import { hostCausalLM, readInstructionSet, resolveEvaluatorConfig, runEvaluation } from '@dnd/evaluator';

(async () => {
  const [setDir, set, nItems, ...snaps] = process.argv.slice(2);
  await initBackend();
  const modelDir = path.join(process.env.HOME ?? '/root', '.cache/dnd/models/smollm2-135m-instruct');
  const model = await loadCausalLM(modelDir);
  const cfg = resolveEvaluatorConfig({ scorer: 'generative', maxItemsPerSet: Number(nItems), crossMatrix: false, generative: { maxNewTokens: 10, greedy: true, temperature: 0.95, seed: 0, parse: 'strict', template: '{prompt}\n', batchSize: 8 } });
  const items = readInstructionSet(path.join(sharedDir(), 'data', 'commonsense', set!, 'test.json'), set!, 'test');
  const dirs = [['warmup', path.join(setDir!, 'warmup', 'adapter')], ...snaps.map((s) => [s, path.join(setDir!, 'snapshots', s)])];
  // Named as trained on another set so the evaluator scores them on `set` like any training LoRA.
  const trainingLoras = dirs.map(([name, dir]) => ({ name: name!, trainedOn: `own-${name}`, adapter: readPeftAdapter(dir!) }));
  const t0 = performance.now();
  const { results } = await runEvaluation({ sets: [{ name: set!, items }], heldOut: [set!], trainingLoras, generated: [] }, cfg, hostCausalLM(model, modelDir));
  console.log(JSON.stringify({ set, n: results.heldOut[0]!.n, seconds: (performance.now() - t0) / 1000, own: results.heldOut[0]!.training.map((t) => ({ lora: t.adapter, acc: t.acc })) }));
  model.dispose();
})().catch((e) => { console.error(e); process.exit(1); });
