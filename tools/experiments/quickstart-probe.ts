// The whole DnD method end to end through the packages' public APIs, for choosing the `quickstart` preset and
// costing `commonsense-smollm2`: zoo collection -> Arrow pairs -> decoder training -> generation -> evaluation.
// An experiment driver (no Temporal, no artifact store), not the product: `dnd run <preset>` is.
//
// Usage: nice node tools/bench/run-ts.cjs tools/experiments/quickstart-probe.ts SETTINGS.json [OUT_JSON]
// SETTINGS.json overrides DEFAULT_PROBE (below); everything is seeded. The zoo is cached per collect config
// under <workDir>/zoo-<digest>/<set>/ (collection is resumable), so a re-run with other decoder settings skips it.
//
// Dimensions: N prompts per pair, L text length, C encoder dim (384), Nw tokens, (R, Cw) = (r+2, w+2), B batch.
import * as fs from 'fs';
import * as path from 'path';
import { canonicalJson, initBackend, readPeftAdapter, sha256Hex, type LoraAdapter } from '@dnd/core';
import { createLoraTrainer, loadCausalLM } from '@dnd/lm';
import { loadTextEncoder } from '@dnd/encoder';
import { buildPairs, collectZoo, verifyZooSet, conditioningPrompt, loadTaskSet, PairSampler, readPromptStore, seededRandom, trainingLossWeights, type CollectConfig } from '@dnd/dataset';
import { decoderParamCount, generateLora, interpolatedChain, loraTemplateFromAdapter, trainDecoder, type Feature, type TrainConfig } from '@dnd/decoder';
import { hostCausalLM, itemFromInstruction, resolveEvaluatorConfig, runEvaluation, renderMarkdown, type EvaluatorConfig, type TrainingLora, type GeneratedLora } from '@dnd/evaluator';

interface ProbeSettings {
  workDir: string;
  modelDir: string;
  encoderDir: string;
  /** Training sets (zoo) and held-out sets (never collected, never seen by the decoder). */
  trainSets: string[];
  heldOut: string[];
  collect: Partial<CollectConfig>;
  tokenWidth: number;
  /** N prompts per pair, L encoder length, prompts per training set pre-encoded (the pair pool). */
  promptsPerPair: number;
  textLength: number;
  poolPerSet: number;
  decoderLayers: number;
  kernelSize: number;
  /** Explicit chain (overrides decoderLayers). */
  features?: Feature[];
  batchSize: number;
  train: Partial<TrainConfig>;
  lossWeights: 'method' | 'uniform';
  /** Stop after generation and the diagnostics (no LM scoring). */
  skipEval?: boolean;
  /** K generated LoRAs per held-out set, each from N unlabeled prompts of its `evalSplit` (also the scored items). */
  samples: number;
  evalSplit: 'test' | 'train';
  evaluate: Partial<EvaluatorConfig>;
  seed: number;
}

const CACHE = process.env.DND_CACHE ?? path.join(process.env.HOME ?? '/root', '.cache', 'dnd');
const DEFAULT_PROBE: ProbeSettings = {
  workDir: 'runs/probe',
  modelDir: path.join(CACHE, 'models', 'smollm2-135m-instruct'),
  encoderDir: path.join(CACHE, 'models', 'all-MiniLM-L6-v2'),
  trainSets: ['boolq', 'openbookqa', 'piqa', 'social_i_qa'],
  heldOut: ['ARC-Easy'],
  collect: { rank: 4, loraAlpha: 8, targetModules: ['q_proj', 'v_proj'], warmupSteps: 15, snapshotSteps: 10, warmupLr: 1e-3, lr: 1e-4, batchSize: 4, maxSeqLen: 128 },
  tokenWidth: 0,
  promptsPerPair: 16,
  textLength: 64,
  poolPerSet: 256,
  decoderLayers: 3,
  kernelSize: 3,
  batchSize: 4,
  train: { totalSteps: 300, lr: 1e-3, checkpointEvery: 0 },
  lossWeights: 'method',
  samples: 3,
  evalSplit: 'test',
  evaluate: { scorer: 'generative', maxItemsPerSet: 60, crossMatrix: false, generative: { maxNewTokens: 10, greedy: true, temperature: 0.95, seed: 0, parse: 'strict', template: '{prompt}\n', batchSize: 8 } },
  seed: 42,
};

const times: Record<string, number> = {};
async function timed<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  try { return await fn(); } finally {
    times[name] = (performance.now() - t0) / 1000;
    process.stderr.write(`[probe] ${name}: ${times[name]!.toFixed(1)} s\n`);
  }
}

function merge<T>(base: T, over: Partial<T>): T {
  const out = { ...base } as Record<string, unknown>;
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = b && v && typeof b === 'object' && typeof v === 'object' && !Array.isArray(v) ? merge(b, v as never) : v;
  }
  return out as T;
}

(async () => {
  const [settingsFile, outFile] = process.argv.slice(2);
  const s: ProbeSettings = merge(DEFAULT_PROBE, settingsFile ? JSON.parse(fs.readFileSync(settingsFile, 'utf8')) as Partial<ProbeSettings> : {});
  const tAll = performance.now();
  const backend = await initBackend();
  const evalCfg = resolveEvaluatorConfig(s.evaluate);
  const model = await timed('load model', () => loadCausalLM(s.modelDir));
  const collectCfg = { ...s.collect, seed: s.seed };
  const zooDir = path.resolve(s.workDir, `zoo-${sha256Hex(canonicalJson({ m: s.modelDir, c: collectCfg })).slice(0, 12)}`);
  const snapshotSeconds: number[] = [];
  let last = performance.now();
  // A zoo already complete is reused as is (its manifests verify); collectZoo itself would refuse it when
  // CollectConfig gained a field since (the config is compared whole).
  const missing = s.trainSets.filter((n) => { try { return verifyZooSet(path.join(zooDir, n), { requireComplete: true }).status !== 'complete'; } catch { return true; } });
  if (missing.length) await timed('collect', () => collectZoo({ sets: missing, zooDir }, collectCfg, {
    model, createTrainer: createLoraTrainer,
    onProgress: (p) => {
      const now = performance.now();
      if (p.phase === 'snapshot') snapshotSeconds.push((now - last) / 1000);
      last = now;
      if (p.done % 5 === 0) process.stderr.write(`[collect] ${p.set} ${p.phase} ${p.done}/${p.total} loss ${p.loss.toFixed(3)} ${p.stepSeconds.toFixed(1)} s/step\n`);
    },
  }));
  const setDirs = s.trainSets.map((n) => path.join(zooDir, n));
  const pairsDir = path.resolve(s.workDir, `pairs-${sha256Hex(canonicalJson({ zooDir, sets: s.trainSets, w: s.tokenWidth })).slice(0, 12)}`);
  const pairs = await timed('build pairs', () => buildPairs({ setDirs, outDir: pairsDir }, { tokenWidth: s.tokenWidth }));
  const [Nw, R, Cw] = pairs.tokenShape;
  // 'method': §4.4's per-token weights (mean of the training sets'); 'uniform': every token 1 (a deviation, tried).
  const lossWeights = s.lossWeights === 'uniform' ? new Float32Array(Nw).fill(1) : trainingLossWeights(path.join(pairsDir, 'loss-weights.arrow'), s.trainSets);

  // Conditions and targets: @dnd/dataset's PairSampler, the same one `dnd run` trains with.
  const encoder = await loadTextEncoder(s.encoderDir);
  const N = s.promptsPerPair, L = s.textLength, C = encoder.dim;
  const sampler = await PairSampler.open(path.join(pairsDir, 'checkpoints.arrow'), path.join(pairsDir, 'prompts.arrow'), { promptsPerPair: N, seed: s.seed, include: s.trainSets, poolPerSet: s.poolPerSet });
  const batches = (start: number) => sampler.trainingBatches(encoder, { batchSize: s.batchSize, textLength: L }, start);
  const features: Feature[] = s.features ?? interpolatedChain([N, L, C], [Nw, R, Cw], s.decoderLayers);
  const trainCfg = { totalSteps: 300, lr: 3e-5, weightDecay: 0.1, betas: [0.9, 0.999] as [number, number], eps: 1e-8, warmupSteps: 1, maxGradNorm: 1, noiseCondition: 1e-4, noiseTarget: 1e-5, seed: s.seed, checkpointEvery: 0, keepCheckpoints: 1, ...s.train };
  const losses: number[] = [];
  const trained = await timed('train decoder', () => trainDecoder({
    decoder: { features, kernelSize: s.kernelSize }, train: trainCfg, lossWeights, batches,
    onProgress: (p) => { losses.push(p.loss); if (p.step % 50 === 0 || p.step === 1) process.stderr.write(`[decoder] ${p.step}/${p.totalSteps} loss ${p.loss.toPrecision(4)} ${p.stepsPerSec.toFixed(2)} it/s\n`); },
  }));
  await sampler.close();

  // Generation: K LoRAs per held-out set, each from N unlabeled prompts (instructions only).
  const lastSnap = (set: string) => { const d = path.join(zooDir, set, 'snapshots'); return path.join(d, fs.readdirSync(d).filter((f) => f.startsWith('step-')).sort().pop()!); };
  const tpl = loraTemplateFromAdapter(lastSnap(s.trainSets[0]!), pairs.tokenShape[2] - 2);
  const genDir = path.resolve(s.workDir, `gen-${process.pid}`);
  const generated: GeneratedLora[] = [];
  const genSeconds: number[] = [];
  // Held-out items and condition prompts come from the same split (`evalSplit`): 'test' for reported runs (the
  // paper's transductive setting: unlabeled test instructions condition the generator), 'train' for validation.
  const evalSets: { name: string; items: ReturnType<typeof itemFromInstruction>[] }[] = [];
  const condTexts = new Map<string, string[]>();
  for (const h of s.heldOut) {
    const ts = await loadTaskSet(h, { splitSeed: s.collect.splitSeed ?? 0, trainFraction: s.collect.trainFraction ?? 0.5 });
    const recs = ts[s.evalSplit];
    evalSets.push({ name: h, items: recs.map((r, i) => itemFromInstruction(r, h, i, s.evalSplit)) });
    condTexts.set(h, recs.map((r) => conditioningPrompt(r)));
  }
  await timed('generate', async () => {
    for (const h of s.heldOut) {
      const texts = condTexts.get(h)!;
      for (let k = 0; k < s.samples; k++) {
        const idx = seededRandom(s.seed, 'generate', h, k).sample(texts.length, N);
        const r = await generateLora(idx.map((i) => texts[i]!), trained.generator, { encoder, ...tpl, maxLength: L, outDir: path.join(genDir, `${h}-${k}`) });
        genSeconds.push(r.seconds);
        generated.push({ heldOut: h, sample: k, numPrompts: N, adapter: readPeftAdapter(r.dir) });
      }
    }
  });
  // Diagnostics (no LM): each generated LoRA's cosine with each training set's last LoRA, per factor; plus one
  // LoRA generated from each training set's own (train-pool) prompts, which should match that set's LoRA.
  const cosine = (a: LoraAdapter, b: LoraAdapter, kind: string) => {
    let dot = 0, na = 0, nb = 0;
    for (const [k, x] of a.tensors) { if (!k.includes(kind)) continue; const y = b.tensors.get(k)!.data; for (let i = 0; i < x.data.length; i++) { dot += x.data[i]! * y[i]!; na += x.data[i]! ** 2; nb += y[i]! ** 2; } }
    return Number((dot / Math.sqrt(na * nb)).toFixed(3));
  };
  const zooLoras = new Map(s.trainSets.map((set) => [set, readPeftAdapter(lastSnap(set))]));
  const diag: Record<string, unknown>[] = [];
  const selfGen: { from: string; adapter: LoraAdapter }[] = [];
  for (const set of s.trainSets) {
    const all = readPromptStore(path.join(pairsDir, 'prompts.arrow')).pools.get(set)!.train;
    const idx = seededRandom(s.seed, 'self', set).sample(all.length, N);
    const r = await generateLora(idx.map((i) => all[i]!), trained.generator, { encoder, ...tpl, maxLength: L, outDir: path.join(genDir, `self-${set}`) });
    selfGen.push({ from: `self:${set}`, adapter: readPeftAdapter(r.dir) });
  }
  for (const g of [...generated.map((x) => ({ from: `${x.heldOut}#${x.sample}`, adapter: x.adapter })), ...selfGen]) {
    diag.push({ generated: g.from, ...Object.fromEntries([...zooLoras].map(([set, a]) => [set, { A: cosine(g.adapter, a, 'lora_A'), B: cosine(g.adapter, a, 'lora_B') }])) });
  }
  process.stderr.write(`[diag] ${JSON.stringify(diag)}\n`);
  trained.generator.dispose();
  encoder.dispose();
  if (s.skipEval) { model.dispose(); if (outFile) fs.writeFileSync(outFile, `${JSON.stringify({ settings: s, times, diag }, null, 2)}\n`); return; }

  const trainingLoras: TrainingLora[] = s.trainSets.map((set) => ({ name: `${set}-last`, trainedOn: set, adapter: readPeftAdapter(lastSnap(set)) }));
  // Evaluate: the evaluator subsamples each set with its seed (maxItemsPerSet).
  const n = evalCfg.maxItemsPerSet;
  const { results } = await timed('evaluate', () => runEvaluation({ sets: evalSets, heldOut: s.heldOut, trainingLoras, generated }, evalCfg, hostCausalLM(model, s.modelDir)));
  model.dispose();
  const md = renderMarkdown(results);
  const total = (performance.now() - tAll) / 1000;
  const summary = {
    settings: s, backend: backend.name, times, diag, totalSeconds: total,
    perSnapshotSeconds: snapshotSeconds.length ? snapshotSeconds.reduce((a, b) => a + b, 0) / snapshotSeconds.length : null,
    decoder: { features, params: decoderParamCount({ features, kernelSize: s.kernelSize }), lossFirst: losses[0], lossLast10: losses.slice(-10).reduce((a, b) => a + b, 0) / Math.max(1, losses.slice(-10).length), stepSeconds: times['train decoder']! / Math.max(1, losses.length) },
    genSeconds, evalItems: n,
    heldOut: results.heldOut.map((h) => ({
      set: h.set, n: h.n, base: h.base, loraMean: h.loraMean, best: h.bestLora, averaged: h.averagedLora,
      training: h.training.map((t) => ({ on: t.trainedOn, acc: t.acc.value })), generated: h.generated,
    })),
  };
  process.stdout.write(`${md}\n`);
  process.stdout.write(`${JSON.stringify({ times, totalSeconds: total, perSnapshotSeconds: summary.perSnapshotSeconds, decoder: summary.decoder, genSeconds })}\n`);
  if (outFile) fs.writeFileSync(outFile, `${JSON.stringify(summary, null, 2)}\n`);
})().catch((e) => { console.error(e); process.exit(1); });
