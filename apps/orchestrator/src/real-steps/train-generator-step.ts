// The trainGenerator step adapter: draws training batches from @dnd/dataset's PairSampler (prompt pools
// encoded once by the frozen @dnd/encoder) and runs @dnd/decoder's trainDecoder, with checkpoints in
// ctx.workDir so a retry resumes. Its typed config and defaults. Not the sampler and not the training loop.
//
// Dimensions: N prompts per pair, L text length, C encoder dim, Nw tokens, (R, Cw) = (r+2, w+2).
import * as fs from 'fs';
import * as path from 'path';
import { BadInputError, checkNumber, checkOneOf, mergeConfig, writeFileAtomic } from '@dnd/core';
import { PairSampler, readZooManifest, trainingLossWeights } from '@dnd/dataset';
import {
  DEFAULT_TRAIN_CONFIG, decoderParamCount, formatProgress, interpolatedChain, latestCheckpoint, trainDecoder,
  validateDecoderConfig, validateTrainConfig,
} from '@dnd/decoder';
import { loadTextEncoder } from '@dnd/encoder';
import { resolveModelDir } from '../assets';
import type { StepFunction, TrainGeneratorInput } from '../step-contract';
import { GENERATOR_INFO_FILE, ZOO_REFS_FILE, type GeneratorInfo } from './generator-info';
import { cancelled, readJson, type RealStepEnv } from './step-env';
import type { TrainGeneratorStepConfig } from '../config-schema';

/** Its type is the config schema's (src/config-schema.ts: the one source of types, ranges and defaults). */
export type { TrainGeneratorStepConfig };

const { seed: _seed, ...TRAIN_NO_SEED } = DEFAULT_TRAIN_CONFIG;

export const DEFAULT_TRAIN_GENERATOR_STEP_CONFIG: TrainGeneratorStepConfig = {
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
};

/** The step config merged onto its defaults and validated, naming the field. */
export function trainConfigOf(cfg: Record<string, unknown>): TrainGeneratorStepConfig {
  const c = mergeConfig(DEFAULT_TRAIN_GENERATOR_STEP_CONFIG, cfg, 'trainGenerator');
  const w = 'trainGenerator';
  if (typeof c.encoder !== 'string' || !c.encoder) throw new BadInputError(`${w}.encoder must be a directory or a model name, got ${JSON.stringify(c.encoder)}`);
  for (const f of ['promptsPerPair', 'textLength', 'layers', 'kernelSize', 'batchSize'] as const) checkNumber(w, f, c[f], { integer: true, min: 1 });
  checkNumber(w, 'poolPerSet', c.poolPerSet, { integer: true, min: 0 });
  if (c.poolPerSet > 0 && c.poolPerSet < c.promptsPerPair) throw new BadInputError(`${w}.poolPerSet (${c.poolPerSet}) must be 0 or >= promptsPerPair (${c.promptsPerPair})`);
  checkOneOf(w, 'lossWeights', c.lossWeights, ['method', 'uniform']);
  if (!Array.isArray(c.features)) throw new BadInputError(`${w}.features must be a list of [N, H, W], got ${JSON.stringify(c.features)}`);
  if (c.features.length) validateDecoderConfig({ features: c.features, kernelSize: c.kernelSize }, `${w}.features`);
  validateTrainConfig({ ...c.train, seed: 0 }, `${w}.train`);
  return c;
}

/** The trainGenerator step function over `env`. */
export function trainGeneratorStep(env: RealStepEnv): StepFunction<TrainGeneratorInput> {
  return async (input, outDir, ctx) => {
    const cfg = trainConfigOf(input.config);
    const pairsDir = await ctx.resolve(input.pairs);
    const zoo = readJson<{ sets: GeneratorInfo['zoo'] }>(path.join(pairsDir, ZOO_REFS_FILE), 'trainGenerator').sets;
    const encoderDir = resolveModelDir(cfg.encoder, 'trainGenerator.encoder');
    const first = readZooManifest(await ctx.resolve(zoo[0]!.output));
    if (!first) throw new BadInputError(`trainGenerator: the zoo output of ${zoo[0]!.set} has no manifest.json`);
    const N = cfg.promptsPerPair, L = cfg.textLength;
    // The decoder's training batches come from @dnd/dataset's PairSampler, and from nowhere else.
    const sampler = await PairSampler.open(path.join(pairsDir, 'checkpoints.arrow'), path.join(pairsDir, 'prompts.arrow'), {
      promptsPerPair: N, seed: input.seed, split: 'train', exclude: input.heldOut, poolPerSet: cfg.poolPerSet,
    });
    try {
      const trainSets = sampler.sets;
      const [Nw, R, Cw] = sampler.tokenShape;
      const lossWeights = cfg.lossWeights === 'uniform' ? new Float32Array(Nw).fill(1) : trainingLossWeights(path.join(pairsDir, 'loss-weights.arrow'), trainSets);
      return await env.withBackend(async (t0) => {
        const encoder = await loadTextEncoder(encoderDir);
        try {
          const features = cfg.features.length ? cfg.features : interpolatedChain([N, L, encoder.dim], [Nw, R, Cw], cfg.layers);
          const decoder = { features, kernelSize: cfg.kernelSize };
          const every = Math.max(1, Math.ceil(cfg.train.totalSteps / 200));
          const trainingLoss: Array<{ step: number; loss: number }> = [];
          const trained = await trainDecoder({
            decoder, train: { ...cfg.train, seed: input.seed }, lossWeights,
            batches: (start) => sampler.trainingBatches(encoder, {
              batchSize: cfg.batchSize, textLength: L,
              tick: (note) => { cancelled(ctx, 'trainGenerator'); if (note.startsWith('encoding')) ctx.heartbeat(note); },
            }, start),
            checkpointDir: path.join(ctx.workDir, 'decoder'),
            onProgress: (p) => {
              if (p.step % every === 0 || p.step === p.totalSteps) trainingLoss.push({ step: p.step, loss: p.loss });
              ctx.progress(p.step, p.totalSteps, formatProgress(p));
            },
            meta: { trainSets, heldOut: input.heldOut, tokenShape: sampler.tokenShape, encoderDigest: encoder.digest },
          });
          trained.generator.dispose();
          const ckpt = trained.checkpoint ?? latestCheckpoint(path.join(ctx.workDir, 'decoder'));
          if (!ckpt) throw new Error('trainGenerator: training wrote no checkpoint');
          fs.cpSync(ckpt, path.join(outDir, 'generator'), { recursive: true });
          const info: GeneratorInfo = {
            encoder: encoderDir, encoderDigest: encoder.digest, promptsPerPair: N, textLength: L, tokenShape: sampler.tokenShape, trainSets,
            heldOut: input.heldOut, zoo, baseModel: { source: first.baseModel.source, digest: first.baseModel.digest },
            split: { skipBad: first.config.skipBad, splitSeed: first.config.splitSeed, trainFraction: first.config.trainFraction },
            trainingLoss,
          };
          writeFileAtomic(path.join(outDir, GENERATOR_INFO_FILE), `${JSON.stringify(info, null, 2)}\n`);
          return { steps: trained.step, resumedFrom: trained.resumedFrom, loss: trained.loss, params: decoderParamCount(decoder), features, trainSets, seconds: (Date.now() - t0) / 1000 };
        } finally {
          encoder.dispose();
        }
      });
    } finally {
      await sampler.close();
    }
  };
}
