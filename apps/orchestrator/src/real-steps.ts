// The real pipeline steps: @dnd/dataset collection (with @dnd/lm's LoRA trainer) and Arrow pairs,
// @dnd/decoder training on frozen @dnd/encoder conditions, prompt-to-LoRA generation and @dnd/evaluator
// scoring, each honouring the StepFunctions contract (outDir, resumable workDir, heartbeats, cancellation).
// Not the Temporal plumbing (activities/) and not the method's maths (the packages).
//
// Dimensions: N prompts per pair, L text length, C encoder dim, Nw tokens, (R, Cw) = (r+2, w+2).
import * as fs from 'fs';
import * as path from 'path';
import { checkNumber, checkOneOf, initBackend, mergeConfig, writeFileAtomic, type ArtifactRef } from '@dnd/core';
import {
  BUILD_PAIRS_STEP_VERSION, COLLECT_ZOO_STEP_VERSION, CheckpointStore, DEFAULT_BUILD_PAIRS_CONFIG, DEFAULT_COLLECT_CONFIG,
  buildPairs, collectSet, conditioningPrompt, loadTaskSet, readPromptStore, readZooManifest, resolveCollectConfig, seededRandom,
  trainingLossWeights, validateBuildPairsConfig, type CollectConfig, type ZooSetManifest,
} from '@dnd/dataset';
import {
  CHECKPOINT_VERSION, DEFAULT_TRAIN_CONFIG, TRAIN_VERSION, decoderParamCount, formatProgress, generateLora, interpolatedChain, latestCheckpoint,
  loadGenerator, loraTemplateFromAdapter, trainDecoder, validateDecoderConfig, validateTrainConfig, type Feature, type TrainConfig,
} from '@dnd/decoder';
import { loadTextEncoder } from '@dnd/encoder';
import { DEFAULT_EVALUATOR_CONFIG, EVALUATE_STEP_VERSION, evaluate, hostCausalLM, itemFromInstruction, resolveEvaluatorConfig, type EvalModel, type EvaluateSetInput, type EvaluationResults, type EvaluatorConfig } from '@dnd/evaluator';
import { createLoraTrainer, loadCausalLM, type CausalLM } from '@dnd/lm';
import { resolveModelDir } from './assets';
import { decoderBatches, encodePool, type EncodedPool } from './pair-batches';
import { BadInputError, type StepContext, type StepFunctions } from './step-functions';

/** collectSet's config: the base model plus @dnd/dataset's CollectConfig (its seed is the run seed). */
export interface CollectStepConfig extends Omit<CollectConfig, 'seed'> {
  /** Base LM: a HF directory, or a name under $DND_CACHE/models. */
  model: string;
}

/** trainGenerator's config: encoder, pair shapes, decoder chain and @dnd/decoder's TrainConfig (seed = run seed). */
export interface TrainGeneratorStepConfig {
  /** Frozen text encoder: a BERT directory, or a name under $DND_CACHE/models. */
  encoder: string;
  /** N prompts per condition. */
  promptsPerPair: number;
  /** L encoder positions per prompt. */
  textLength: number;
  /** Prompts per training set encoded once and sampled from (0 = the whole train pool). */
  poolPerSet: number;
  /** Decoder layers of the interpolated chain from [N, L, C] to the token grid (when `features` is empty). */
  layers: number;
  kernelSize: number;
  /** An explicit (N, H, W) chain; empty = interpolatedChain over `layers`. */
  features: Feature[];
  /** Pairs per optimizer step (B). */
  batchSize: number;
  /** 'method': §4.4 per-token weights averaged over the training sets; 'uniform': all 1. */
  lossWeights: 'method' | 'uniform';
  train: Omit<TrainConfig, 'seed'>;
}

/** evaluate's config: generation (K LoRAs per set from N prompts) and @dnd/evaluator's config. */
export interface EvaluateStepConfig {
  /** K generated LoRAs per evaluated set, each from a fresh seeded sample of N prompts. */
  samples: number;
  /** Which pool's unlabeled instructions condition generation: 'test' = the scored items (the paper's
   *  transductive setting, labelled as such in generation.json), 'train' = the set's train pool. */
  promptSplit: 'test' | 'train';
  evaluator: EvaluatorConfig;
}

const { seed: _collectSeed, ...COLLECT_NO_SEED } = DEFAULT_COLLECT_CONFIG;
const { seed: _trainSeed, ...TRAIN_NO_SEED } = DEFAULT_TRAIN_CONFIG;

/** Defaults of the real steps (a preset overrides fields; unknown fields are errors). */
export const REAL_STEP_DEFAULTS: { collectSet: CollectStepConfig; buildPairs: typeof DEFAULT_BUILD_PAIRS_CONFIG; trainGenerator: TrainGeneratorStepConfig; evaluate: EvaluateStepConfig } = {
  collectSet: {
    model: 'smollm2-135m-instruct', // the project's real base LM (infra/assets-smollm2.sh)
    ...COLLECT_NO_SEED, // @dnd/dataset's defaults: the paper's common-sense collection (r 8, 75 + 50 steps)
  },
  buildPairs: { ...DEFAULT_BUILD_PAIRS_CONFIG }, // token width chosen from the LoRA shapes
  trainGenerator: {
    encoder: 'all-MiniLM-L6-v2', // the paper's stated encoder (384-d), provisioned by the bootstrap
    promptsPerPair: 16, // the method's CPU range 8-32 (paper: 128)
    textLength: 64, // CPU range 32-128 (paper: 384)
    poolPerSet: 256, // encoded once per set; pairs re-sample N of them every step
    layers: 3, // CPU range 3-5 layers (paper: 8)
    kernelSize: 3, // CPU range 3-5 (paper: 9)
    features: [], // derived from [N, L, C] and the token grid
    batchSize: 4, // CPU range 4-16 (paper: 64)
    lossWeights: 'method', // §4.4 as the reference
    train: { ...TRAIN_NO_SEED }, // @dnd/decoder's defaults (lr 3e-5, wd 0.1, cosine), checkpoints for resume
  },
  evaluate: {
    samples: 3, // K generated LoRAs per set (paper: 10)
    promptSplit: 'test', // the paper's setting (transductive); 'train' avoids conditioning on scored items
    evaluator: { ...DEFAULT_EVALUATOR_CONFIG, generative: { ...DEFAULT_EVALUATOR_CONFIG.generative, template: '{prompt}\n' } }, // template = collection's promptTemplate
  },
};

/** Bumped with the package step versions they wrap: old cache entries stop matching. */
export const REAL_STEP_VERSIONS = {
  collectSet: `real-1/dataset-${COLLECT_ZOO_STEP_VERSION}`,
  buildPairs: `real-1/dataset-${BUILD_PAIRS_STEP_VERSION}`,
  trainGenerator: `real-1/decoder-${CHECKPOINT_VERSION}.${TRAIN_VERSION}`,
  evaluate: `real-1/evaluator-${EVALUATE_STEP_VERSION}`,
};

/** File in the buildPairs output naming the zoo outputs it was built from. */
const ZOO_REFS_FILE = 'zoo-refs.json';
/** File in the trainGenerator output that evaluate reads (encoder, shapes, zoo, base model). */
const GENERATOR_INFO_FILE = 'generator.json';

/** What trainGenerator records for generation and evaluation. */
interface GeneratorInfo {
  encoder: string;
  encoderDigest: string;
  promptsPerPair: number;
  textLength: number;
  tokenShape: [number, number, number];
  trainSets: string[];
  heldOut: string[];
  zoo: Array<{ set: string; output: ArtifactRef }>;
  baseModel: { source: string; digest: string };
  split: { skipBad: boolean; splitSeed: number; trainFraction: number };
}

function collectConfigOf(cfg: Record<string, unknown>, seed: number): { model: string; collect: CollectConfig } {
  const { model, ...rest } = cfg as unknown as CollectStepConfig;
  return { model, collect: resolveCollectConfig({ ...rest, seed }) };
}

function trainConfigOf(cfg: Record<string, unknown>): TrainGeneratorStepConfig {
  const c = mergeConfig(REAL_STEP_DEFAULTS.trainGenerator, cfg, 'trainGenerator');
  const w = 'trainGenerator';
  if (typeof c.encoder !== 'string' || !c.encoder) throw new Error(`${w}.encoder must be a directory or a model name, got ${JSON.stringify(c.encoder)}`);
  for (const f of ['promptsPerPair', 'textLength', 'layers', 'kernelSize', 'batchSize'] as const) checkNumber(w, f, c[f], { integer: true, min: 1 });
  checkNumber(w, 'poolPerSet', c.poolPerSet, { integer: true, min: 0 });
  if (c.poolPerSet > 0 && c.poolPerSet < c.promptsPerPair) throw new Error(`${w}.poolPerSet (${c.poolPerSet}) must be 0 or >= promptsPerPair (${c.promptsPerPair})`);
  checkOneOf(w, 'lossWeights', c.lossWeights, ['method', 'uniform']);
  if (!Array.isArray(c.features)) throw new Error(`${w}.features must be a list of [N, H, W], got ${JSON.stringify(c.features)}`);
  if (c.features.length) validateDecoderConfig({ features: c.features, kernelSize: c.kernelSize }, `${w}.features`);
  validateTrainConfig({ ...c.train, seed: 0 }, `${w}.train`);
  return c;
}

function evaluateConfigOf(cfg: Record<string, unknown>): EvaluateStepConfig {
  const c = mergeConfig(REAL_STEP_DEFAULTS.evaluate, cfg, 'evaluate');
  checkNumber('evaluate', 'samples', c.samples, { integer: true, min: 1 });
  checkOneOf('evaluate', 'promptSplit', c.promptSplit, ['test', 'train']);
  c.evaluator = resolveEvaluatorConfig(c.evaluator);
  return c;
}

/** Moves every entry of `from` into `to` (same file system: renames; else copies). */
function moveContents(from: string, to: string): void {
  fs.mkdirSync(to, { recursive: true });
  for (const f of fs.readdirSync(from)) {
    const [a, b] = [path.join(from, f), path.join(to, f)];
    try {
      fs.renameSync(a, b);
    } catch {
      fs.cpSync(a, b, { recursive: true });
    }
  }
}

function readJson<T>(file: string, what: string): T {
  if (!fs.existsSync(file)) throw new BadInputError(`${what}: ${file} not found (an output of other steps than the real ones?)`);
  return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
}

/**
 * Lets the event loop run timers and I/O for a moment. Model work awaits only microtasks between its
 * synchronous kernels, which would starve the gRPC traffic of an in-process Temporal worker (workflow
 * tasks time out, `dnd run` shows no progress); the steps call this between units of work (~10 ms each).
 */
const yieldToEventLoop = (): Promise<void> => new Promise((r) => setTimeout(r, 10));

/** @dnd/lm's trainer whose every step first yields to the event loop. */
const yieldingTrainer: typeof createLoraTrainer = (model, config) => {
  const t = createLoraTrainer(model, config);
  return {
    get config() { return t.config; },
    step: async (batch, maxLen) => { await yieldToEventLoop(); return t.step(batch, maxLen); },
    exportState: () => t.exportState(),
    importState: (st) => t.importState(st),
    dispose: () => t.dispose(),
  };
};

/** An evaluator model whose every scoring or generation call first yields to the event loop. */
function yieldingEvalModel(m: EvalModel): EvalModel {
  return {
    baseModelNameOrPath: m.baseModelNameOrPath,
    useAdapter: (a) => m.useAdapter(a),
    scoreContinuations: async (items, o) => { await yieldToEventLoop(); return m.scoreContinuations(items, o); },
    ...(m.scoreContinuationsMulti ? { scoreContinuationsMulti: async (as: Parameters<NonNullable<EvalModel['scoreContinuationsMulti']>>[0], items: Parameters<EvalModel['scoreContinuations']>[0], o?: Record<string, unknown>) => { await yieldToEventLoop(); return m.scoreContinuationsMulti!(as, items, o); } } : {}),
    generate: async (prompts, o) => { await yieldToEventLoop(); return m.generate(prompts, o); },
  };
}

function cancelled(ctx: StepContext, what: string): void {
  if (ctx.signal.aborted) throw new Error(`${what}: cancelled`);
}

/** Options of the real steps. */
export interface RealStepOptions {
  /** Loads a base LM (default @dnd/lm loadCausalLM); tests may count loads. */
  loadModel?: (dir: string) => Promise<CausalLM>;
}

/** The real steps, plus `release()` which frees the base model they keep loaded between steps. */
export type RealSteps = StepFunctions & { release(): void };

/**
 * The real step functions. One base LM stays loaded per worker process between steps (collection of
 * several sets and evaluation reuse it), and model/encoder work runs one step at a time per process
 * (2 cores, and a second SmolLM2 training would double the memory); a waiting step keeps heartbeating.
 * @example createDndWorker({ ..., steps: createRealSteps() })
 */
export function createRealSteps(opts: RealStepOptions = {}): RealSteps {
  const load = opts.loadModel ?? loadCausalLM;
  let cached: { dir: string; model: Promise<CausalLM> } | null = null;
  let lock: Promise<void> = Promise.resolve();

  const modelFor = (dir: string): Promise<CausalLM> => {
    if (cached?.dir !== dir) {
      if (cached) void cached.model.then((m) => m.dispose(), () => undefined);
      cached = { dir, model: load(dir) };
      cached.model.catch(() => { cached = null; });
    }
    return cached.model;
  };

  /** Runs `fn` when no other model step of this process runs, passing it the time it got the turn (its compute
   *  time starts there, not at the activity's start); heartbeats while waiting. */
  const exclusive = async <T>(ctx: StepContext, fn: (t0: number) => Promise<T>): Promise<T> => {
    const prev = lock;
    let release!: () => void;
    lock = new Promise<void>((r) => { release = r; });
    const timer = setInterval(() => ctx.heartbeat('waiting for another model step of this worker'), 2000);
    try {
      await prev;
    } finally {
      clearInterval(timer);
    }
    try {
      await initBackend();
      return await fn(Date.now());
    } finally {
      release();
    }
  };

  return {
    defaults: structuredClone(REAL_STEP_DEFAULTS) as unknown as StepFunctions['defaults'],
    versions: { ...REAL_STEP_VERSIONS },
    validate: {
      collectSet: (cfg) => { const { model } = collectConfigOf(cfg, 0); if (typeof model !== 'string' || !model) throw new Error(`collectSet.model must be a directory or a model name, got ${JSON.stringify(model)}`); },
      buildPairs: (cfg) => validateBuildPairsConfig(mergeConfig(DEFAULT_BUILD_PAIRS_CONFIG, cfg, 'buildPairs')),
      trainGenerator: (cfg) => { trainConfigOf(cfg); },
      evaluate: (cfg) => { evaluateConfigOf(cfg); },
    },
    release() {
      if (cached) void cached.model.then((m) => m.dispose(), () => undefined);
      cached = null;
    },

    async collectSet(input, outDir, ctx) {
      const { model: ref, collect } = collectConfigOf(input.config, input.seed);
      const dir = resolveModelDir(ref, 'collectSet.model');
      const setDir = path.join(ctx.workDir, 'set');
      let seconds = 0;
      const r = await exclusive(ctx, async (t0) => {
        const model = await modelFor(dir);
        try {
          return await collectSet(input.dir, setDir, collect, {
            model, createTrainer: yieldingTrainer, signal: ctx.signal,
            onProgress: (p) => ctx.progress(p.done, p.total, `${p.set} ${p.phase} loss ${p.loss.toFixed(4)} ${p.stepSeconds.toFixed(1)} s/step ETA ${Math.round(p.etaSec)} s`),
          });
        } finally {
          model.detachLora();
          seconds = (Date.now() - t0) / 1000;
        }
      });
      const m = r.manifest;
      if (m.status !== 'complete') throw new Error(`collectSet(${input.set}): stopped after ${m.snapshots.length} of ${collect.snapshotSteps} snapshots (cancelled); a retry resumes from ${setDir}`);
      moveContents(setDir, outDir);
      ctx.log(`${m.set}: ${m.snapshots.length} snapshots (${r.written} written now${r.resumed ? ', resumed' : ''})`);
      return { set: m.set, snapshots: m.snapshots.length, written: r.written, resumed: r.resumed, lastLoss: m.snapshots[m.snapshots.length - 1]?.loss ?? null, baseModel: dir, seconds };
    },

    async buildPairs(input, outDir, ctx) {
      const cfg = mergeConfig(DEFAULT_BUILD_PAIRS_CONFIG, input.config, 'buildPairs');
      const setDirs: string[] = [];
      for (const z of input.zoo) setDirs.push(await ctx.resolve(z.output));
      ctx.heartbeat('building pairs');
      const out = await buildPairs({ setDirs, outDir }, cfg);
      writeFileAtomic(path.join(outDir, ZOO_REFS_FILE), `${JSON.stringify({ sets: input.zoo.map((z) => ({ set: z.set, output: z.output })) }, null, 2)}\n`);
      return { sets: out.sets, tokenShape: out.tokenShape };
    },

    async trainGenerator(input, outDir, ctx) {
      const cfg = trainConfigOf(input.config);
      const pairsDir = await ctx.resolve(input.pairs);
      const zoo = readJson<{ sets: GeneratorInfo['zoo'] }>(path.join(pairsDir, ZOO_REFS_FILE), 'trainGenerator').sets;
      const encoderDir = resolveModelDir(cfg.encoder, 'trainGenerator.encoder');
      const first = readZooManifest(await ctx.resolve(zoo[0]!.output));
      if (!first) throw new BadInputError(`trainGenerator: the zoo output of ${zoo[0]!.set} has no manifest.json`);
      const store = await CheckpointStore.open(path.join(pairsDir, 'checkpoints.arrow'));
      try {
        const trainSets = store.sets.filter((s) => !input.heldOut.includes(s));
        if (trainSets.length === 0) throw new BadInputError(`trainGenerator: no training set left in the pairs (${store.sets.join(', ')}) after holding out ${input.heldOut.join(', ')}`);
        const [Nw, R, Cw] = store.tokenShape;
        const N = cfg.promptsPerPair, L = cfg.textLength;
        const lossWeights = cfg.lossWeights === 'uniform' ? new Float32Array(Nw).fill(1) : trainingLossWeights(path.join(pairsDir, 'loss-weights.arrow'), trainSets);
        return await exclusive(ctx, async (t0) => {
          const encoder = await loadTextEncoder(encoderDir);
          try {
            const prompts = readPromptStore(path.join(pairsDir, 'prompts.arrow'));
            const pools = new Map<string, EncodedPool>();
            for (const s of trainSets) {
              const pool = prompts.pools.get(s)?.train ?? [];
              if (pool.length < N) throw new BadInputError(`trainGenerator: set "${s}" has ${pool.length} train prompts, fewer than promptsPerPair = ${N}`);
              pools.set(s, await encodePool(encoder, pool, { max: cfg.poolPerSet, textLength: L, seed: input.seed, set: s, tick: () => { cancelled(ctx, 'trainGenerator'); ctx.heartbeat(`encoding ${s} prompts`); } }));
            }
            const features = cfg.features.length ? cfg.features : interpolatedChain([N, L, encoder.dim], [Nw, R, Cw], cfg.layers);
            const decoder = { features, kernelSize: cfg.kernelSize };
            const trained = await trainDecoder({
              decoder, train: { ...cfg.train, seed: input.seed }, lossWeights,
              batches: (start) => decoderBatches({ store, pools, batchSize: cfg.batchSize, promptsPerPair: N, textLength: L, dim: encoder.dim, seed: input.seed, tick: () => cancelled(ctx, 'trainGenerator') }, start),
              checkpointDir: path.join(ctx.workDir, 'decoder'),
              onProgress: (p) => ctx.progress(p.step, p.totalSteps, formatProgress(p)),
              meta: { trainSets, heldOut: input.heldOut, tokenShape: store.tokenShape, encoderDigest: encoder.digest },
            });
            trained.generator.dispose();
            const ckpt = trained.checkpoint ?? latestCheckpoint(path.join(ctx.workDir, 'decoder'));
            if (!ckpt) throw new Error('trainGenerator: training wrote no checkpoint');
            fs.cpSync(ckpt, path.join(outDir, 'generator'), { recursive: true });
            const info: GeneratorInfo = {
              encoder: encoderDir, encoderDigest: encoder.digest, promptsPerPair: N, textLength: L, tokenShape: store.tokenShape, trainSets,
              heldOut: input.heldOut, zoo, baseModel: { source: first.baseModel.source, digest: first.baseModel.digest },
              split: { skipBad: first.config.skipBad, splitSeed: first.config.splitSeed, trainFraction: first.config.trainFraction },
            };
            writeFileAtomic(path.join(outDir, GENERATOR_INFO_FILE), `${JSON.stringify(info, null, 2)}\n`);
            return { steps: trained.step, resumedFrom: trained.resumedFrom, loss: trained.loss, params: decoderParamCount(decoder), features, trainSets, seconds: (Date.now() - t0) / 1000 };
          } finally {
            encoder.dispose();
          }
        });
      } finally {
        await store.close();
      }
    },

    async evaluate(input, outDir, ctx) {
      const cfg = evaluateConfigOf(input.config);
      const genDir = await ctx.resolve(input.generator);
      const info = readJson<GeneratorInfo>(path.join(genDir, GENERATOR_INFO_FILE), 'evaluate');
      const zoo: Array<{ set: string; dir: string; m: ZooSetManifest }> = [];
      for (const z of info.zoo) {
        const dir = await ctx.resolve(z.output);
        const m = readZooManifest(dir);
        if (!m || m.snapshots.length === 0) throw new BadInputError(`evaluate: the zoo output of ${z.set} (${dir}) has no snapshots`);
        zoo.push({ set: z.set, dir, m });
      }
      const lastSnapshot = (z: (typeof zoo)[number]) => path.join(z.dir, z.m.snapshots[z.m.snapshots.length - 1]!.path);
      const template = loraTemplateFromAdapter(lastSnapshot(zoo[0]!), info.tokenShape[2] - 2);
      const baseDir = info.baseModel.source;
      if (!fs.existsSync(baseDir)) throw new BadInputError(`evaluate: the base model ${baseDir} the zoo was collected on is gone`);
      const N = info.promptsPerPair;

      return exclusive(ctx, async (t0) => {
        // 1. Generation: K LoRAs per set, each from N unlabeled instructions (never outputs or answers).
        const sets: EvaluateSetInput[] = [];
        const generated: Array<{ heldOut: string; sample: number; dir: string; numPrompts: number }> = [];
        const seconds: number[] = [];
        const { generator } = loadGenerator(path.join(genDir, 'generator'));
        const encoder = await loadTextEncoder(info.encoder);
        try {
          if (encoder.digest !== info.encoderDigest) throw new BadInputError(`evaluate: the encoder at ${info.encoder} changed since the generator was trained (digest ${encoder.digest}, trained with ${info.encoderDigest})`);
          for (const h of input.sets) {
            const ts = await loadTaskSet(input.setDirs[h]!, info.split);
            let items;
            try {
              items = ts.test.map((r, i) => itemFromInstruction(r, h, i, 'test'));
            } catch (e) {
              throw new BadInputError(`evaluate: set "${h}" cannot be scored: ${(e as Error).message}`);
            }
            sets.push({ name: h, items });
            const texts = ts[cfg.promptSplit].map(conditioningPrompt);
            if (texts.length < N) throw new BadInputError(`evaluate: set "${h}" has ${texts.length} ${cfg.promptSplit} prompts, the generator takes N = ${N}`);
            for (let k = 0; k < cfg.samples; k++) {
              cancelled(ctx, 'evaluate');
              await yieldToEventLoop();
              const idx = seededRandom(input.seed, 'generate', h, k).sample(texts.length, N);
              const r = await generateLora(idx.map((i) => texts[i]!), generator, {
                encoder, ...template, maxLength: info.textLength, outDir: path.join(outDir, 'generated', `${h}-${k}`),
                extra: { heldOut: h, sample: String(k), promptSplit: cfg.promptSplit },
              });
              generated.push({ heldOut: h, sample: k, dir: r.dir, numPrompts: N });
              seconds.push(r.seconds);
              ctx.heartbeat(`generated ${h}#${k} in ${r.seconds.toFixed(2)} s`);
            }
          }
        } finally {
          generator.dispose();
          encoder.dispose();
        }

        // 2. Scoring: base, every training LoRA (its last snapshot), their average, the generated LoRAs.
        const model = await modelFor(baseDir);
        const out = await evaluate({
          baseModel: { dir: baseDir, nameOrPath: baseDir }, sets, heldOut: input.sets,
          trainingLoras: zoo.map((z) => ({ name: `${z.set}@${z.m.snapshots.length}`, trainedOn: z.set, dir: lastSnapshot(z) })), generated,
          runInfo: { 'tensor backend': (await initBackend()).name },
        }, cfg.evaluator, {
          outDir, loadModel: async (_dir, name) => yieldingEvalModel(hostCausalLM(model, name)), releaseModel: () => model.detachLora(),
          progress: (p) => ctx.progress(p.done, p.total, `scored ${p.last}`),
        });
        writeFileAtomic(path.join(outDir, 'generation.json'), `${JSON.stringify({
          promptSplit: cfg.promptSplit,
          setting: cfg.promptSplit === 'test' ? 'transductive: unlabeled instructions of the scored test items condition the generator (the paper\'s protocol)' : 'inductive: train-pool instructions condition the generator',
          promptsPerLora: N, samples: cfg.samples, secondsPerLora: seconds, encoder: info.encoder, trainSets: info.trainSets,
        }, null, 2)}\n`);
        const results = JSON.parse(fs.readFileSync(path.join(outDir, 'results.json'), 'utf8')) as EvaluationResults;
        const meanSeconds = seconds.reduce((a, b) => a + b, 0) / Math.max(1, seconds.length);
        return {
          sets: input.sets, generated: generated.length, generationSecondsMean: meanSeconds, html: out.html.uri, seconds: (Date.now() - t0) / 1000,
          heldOut: results.heldOut.map((h) => ({ set: h.set, n: h.n, base: h.base.value, loraMean: h.loraMean?.value ?? null, generated: h.generated?.value ?? null })),
        };
      });
    },
  };
}
