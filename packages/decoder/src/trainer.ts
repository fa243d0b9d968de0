// Training the decoder on (condition, token-grid) batches (method §5.3-5.4): weighted MSE with per-token
// weights, Gaussian noise on condition and target, AdamW + clip + warm-up/cosine, checkpoint and resume,
// progress. Batches come from the caller (the dataset package makes them); this file never reads data.
//
// Dimensions: B batch, N prompts, L text length, C encoder dim, Nw tokens, (R, Cw) = (r+2, w+2).
import * as tf from '@tensorflow/tfjs';
import { assertShape, type TensorData, AdamW, formatDuration } from '@dnd/core';
import { addGaussianNoise } from './gaussian-noise';
import { loadCheckpoint, saveCheckpoint, latestCheckpoint, CHECKPOINT_FORMAT, CHECKPOINT_VERSION } from './checkpoint';
import { checkChainMatchesTokens, validateDecoderConfig, type DecoderConfig } from './decoder-config';
import { HyperConvDecoder } from './hyperconv';
import { lrAt, validateTrainConfig, type TrainConfig } from './train-config';

/**
 * Bump when training gives other parameters for the same batches, config and seed (part of the
 * orchestrator's cache key). 2: training noise from gaussian-noise.ts instead of tf.randomNormal.
 */
export const TRAIN_VERSION = 2;

/** One training batch, as plain data. */
export interface DecoderBatch {
  condition: TensorData; // [B, N, L, C]
  target: TensorData; // [B, Nw, R, Cw]
}

/** Where batches come from; a function receives the step to resume from (0 on a fresh run). */
export type BatchSource =
  | Iterable<DecoderBatch>
  | AsyncIterable<DecoderBatch>
  | ((startStep: number) => Iterable<DecoderBatch> | AsyncIterable<DecoderBatch>);

/** Reported after every step. */
export interface TrainProgress {
  step: number;
  totalSteps: number;
  loss: number;
  lr: number;
  gradNorm: number;
  /** Steps per second over this call so far. */
  stepsPerSec: number;
  etaSeconds: number;
  elapsedSeconds: number;
}

/** Thrown when the loss stops being finite: training stops and the last good checkpoint is kept. */
export class NonFiniteLossError extends Error {
  constructor(readonly step: number, readonly loss: number, readonly lastCheckpoint: string | null) {
    super(`decoder training: the loss is ${loss} at step ${step}; stopped without applying that update. `
      + (lastCheckpoint ? `The last good checkpoint is ${lastCheckpoint}.` : 'No checkpoint was written in this run.'));
    this.name = 'NonFiniteLossError';
  }
}

/** The per-step machinery (model + optimiser + weights); trainDecoder drives it. */
export class DecoderTrainer {
  readonly optimizer: AdamW;
  private readonly weights: tf.Tensor4D; // [1, Nw, 1, 1]

  constructor(readonly decoder: HyperConvDecoder, readonly train: TrainConfig, readonly lossWeights: Float32Array) {
    validateTrainConfig(train);
    const last = decoder.config.features[decoder.config.features.length - 1]!;
    if (lossWeights.length !== last[0]) throw new Error(`DecoderTrainer: lossWeights has ${lossWeights.length} entries but the chain ends at Nw=${last[0]}`);
    for (let i = 0; i < lossWeights.length; i++) if (!Number.isFinite(lossWeights[i]!)) throw new Error(`DecoderTrainer: lossWeights[${i}] is ${lossWeights[i]}`);
    this.weights = tf.tensor4d(lossWeights, [1, lossWeights.length, 1, 1]);
    this.optimizer = new AdamW(decoder.variables, { weightDecay: train.weightDecay, betas: train.betas, eps: train.eps, maxGradNorm: train.maxGradNorm });
  }

  /** Optimiser steps taken so far. */
  get step(): number {
    return this.optimizer.step;
  }

  /**
   * One step on `batch`. Returns the loss (before the update) and the pre-clip gradient norm. A
   * non-finite loss throws NonFiniteLossError before anything is updated.
   */
  trainStep(batch: DecoderBatch, lastCheckpoint: string | null = null): { loss: number; gradNorm: number; lr: number } {
    const f = this.decoder.config.features;
    const first = f[0]!, last = f[f.length - 1]!;
    assertShape(batch.condition, [-1, ...first], 'trainStep: condition');
    assertShape(batch.target, [batch.condition.shape[0]!, ...last], 'trainStep: target');
    const step = this.optimizer.step + 1;
    const seed = (Math.imul(this.train.seed, 1000003) + step * 2) >>> 1;
    // the noise is added in JS (gaussian-noise.ts): tf.randomNormal generates in JS too, ~3x slower
    const condData = this.train.noiseCondition > 0 ? addGaussianNoise(batch.condition.data, this.train.noiseCondition, seed) : batch.condition.data;
    const tgtData = this.train.noiseTarget > 0 ? addGaussianNoise(batch.target.data, this.train.noiseTarget, seed + 1) : batch.target.data;
    const { value, grads } = tf.tidy(() => {
      const cond = tf.tensor4d(condData, batch.condition.shape as [number, number, number, number]);
      const tgt = tf.tensor4d(tgtData, batch.target.shape as [number, number, number, number]);
      return tf.variableGrads(() => tf.mean(tf.mul(tf.squaredDifference(this.decoder.forward(cond, { conditionGrad: false }), tgt), this.weights)) as tf.Scalar, [...this.decoder.variables.values()]);
    });
    try {
      const loss = value.dataSync()[0]!;
      if (!Number.isFinite(loss)) throw new NonFiniteLossError(step, loss, lastCheckpoint);
      const lr = lrAt(this.train, step);
      const gradNorm = this.optimizer.apply(grads, lr);
      return { loss, gradNorm, lr };
    } finally {
      value.dispose();
      tf.dispose(grads);
    }
  }

  /**
   * Writes a checkpoint of the current step under `dir` (weights, AdamW moments and step, in PyTorch layouts;
   * checkpoint.ts) and keeps the newest `keep`. Returns its directory.
   */
  saveCheckpoint(dir: string, loss: number, { meta = {}, keep = this.train.keepCheckpoints }: { meta?: Record<string, unknown>; keep?: number } = {}): string {
    const dec = this.decoder;
    const params = dec.stateDict();
    const { m, v } = this.optimizer.moments();
    const expAvg = new Map<string, TensorData>();
    const expAvgSq = new Map<string, TensorData>();
    for (const [name, p] of params) {
      expAvg.set(name, { data: dec.toTorchLayout(name, m.get(name)!.data), shape: p.shape });
      expAvgSq.set(name, { data: dec.toTorchLayout(name, v.get(name)!.data), shape: p.shape });
    }
    return saveCheckpoint(dir, {
      state: { format: CHECKPOINT_FORMAT, version: CHECKPOINT_VERSION, step: this.step, decoder: dec.config, train: this.train, loss, meta },
      params, expAvg, expAvgSq, lossWeights: this.lossWeights,
    }, keep);
  }

  /** Frees the optimiser state and the weights tensor (not the decoder). */
  dispose(): void {
    this.optimizer.dispose();
    this.weights.dispose();
  }
}

export interface TrainDecoderOptions {
  decoder: DecoderConfig;
  train: TrainConfig;
  /** Per-token loss weights [Nw] (tokenLossWeights / meanLossWeights from @dnd/core). */
  lossWeights: Float32Array;
  batches: BatchSource;
  /** Where checkpoints go; without it nothing is written and nothing resumes. */
  checkpointDir?: string;
  /** Resume from checkpointDir's latest checkpoint when there is one (default true). */
  resume?: boolean;
  /** Stop after this many steps in this call (the schedule still spans train.totalSteps). */
  maxSteps?: number;
  onProgress?: (p: TrainProgress) => void;
  /** Recorded in every checkpoint's state.json (token layout, adapter config, data digests...). */
  meta?: Record<string, unknown>;
}

export interface TrainDecoderResult {
  /** The trained generator; the caller disposes it. */
  generator: HyperConvDecoder;
  step: number;
  loss: number | null;
  /** The last checkpoint written (null without checkpointDir). */
  checkpoint: string | null;
  resumedFrom: number;
}

/**
 * Trains (or resumes training) the decoder on the caller's batches.
 * @example
 * const { generator } = await trainDecoder({ decoder: cfg, train: { ...DEFAULT_TRAIN_CONFIG, totalSteps: 300 },
 *   lossWeights, batches: (start) => pairs.batches(start), checkpointDir: 'runs/dec', onProgress: (p) => console.log(formatProgress(p)) });
 */
export async function trainDecoder(opts: TrainDecoderOptions): Promise<TrainDecoderResult> {
  validateDecoderConfig(opts.decoder);
  validateTrainConfig(opts.train);
  checkChainMatchesTokens(opts.decoder, [opts.lossWeights.length, ...opts.decoder.features[opts.decoder.features.length - 1]!.slice(1)], 'trainDecoder');
  let generator: HyperConvDecoder;
  let trainer: DecoderTrainer;
  let lastCheckpoint: string | null = null;
  const resumeDir = opts.checkpointDir && opts.resume !== false ? latestCheckpoint(opts.checkpointDir) : null;
  if (resumeDir) {
    const ck = loadCheckpoint(resumeDir);
    if (JSON.stringify(ck.state.decoder) !== JSON.stringify(opts.decoder)) {
      throw new Error(`trainDecoder: ${resumeDir} was trained with decoder ${JSON.stringify(ck.state.decoder)}, not ${JSON.stringify(opts.decoder)}`);
    }
    generator = HyperConvDecoder.fromStateDict(opts.decoder, ck.params);
    trainer = new DecoderTrainer(generator, opts.train, opts.lossWeights);
    const m = new Map<string, TensorData>(), v = new Map<string, TensorData>();
    for (const [name, p] of generator.variables) {
      const a = ck.expAvg.get(name), b = ck.expAvgSq.get(name);
      if (!a || !b) throw new Error(`trainDecoder: ${resumeDir} lacks the optimiser state of "${name}"`);
      m.set(name, { data: generator.internalLayout(name, a.data), shape: [...p.shape] });
      v.set(name, { data: generator.internalLayout(name, b.data), shape: [...p.shape] });
    }
    trainer.optimizer.loadMoments(ck.state.step, m, v);
    lastCheckpoint = resumeDir;
  } else {
    generator = HyperConvDecoder.create(opts.decoder, opts.train.seed);
    trainer = new DecoderTrainer(generator, opts.train, opts.lossWeights);
  }
  const startStep = trainer.step;
  const endStep = Math.min(opts.train.totalSteps, opts.maxSteps !== undefined ? startStep + opts.maxSteps : Infinity);
  const source = typeof opts.batches === 'function' ? opts.batches(startStep) : opts.batches;
  const t0 = Date.now();
  let loss: number | null = null;
  try {
    if (trainer.step < endStep) {
      for await (const batch of source as AsyncIterable<DecoderBatch>) {
        const r = trainer.trainStep(batch, lastCheckpoint);
        loss = r.loss;
        const step = trainer.step;
        const elapsed = (Date.now() - t0) / 1000;
        const sps = (step - startStep) / Math.max(elapsed, 1e-9);
        if (opts.checkpointDir && (step === endStep || (opts.train.checkpointEvery > 0 && step % opts.train.checkpointEvery === 0))) {
          lastCheckpoint = trainer.saveCheckpoint(opts.checkpointDir, r.loss, { meta: opts.meta, keep: opts.train.keepCheckpoints });
        }
        opts.onProgress?.({ step, totalSteps: opts.train.totalSteps, loss: r.loss, lr: r.lr, gradNorm: r.gradNorm, stepsPerSec: sps, etaSeconds: (opts.train.totalSteps - step) / Math.max(sps, 1e-9), elapsedSeconds: elapsed });
        if (step >= endStep) break;
      }
    }
  } catch (e) {
    trainer.dispose();
    generator.dispose();
    throw e;
  }
  trainer.dispose();
  return { generator, step: trainer.step, loss, checkpoint: lastCheckpoint, resumedFrom: startStep };
}

/**
 * One progress-bar line: `[=====>    ] 120/1000 loss 0.1234 lr 2.9e-5 1.52 it/s ETA 9m38s`.
 * @example onProgress: (p) => process.stderr.write(`\r${formatProgress(p)}`)
 */
export function formatProgress(p: TrainProgress, width = 24): string {
  const done = Math.min(width, Math.round((p.step / p.totalSteps) * width));
  const bar = `${'='.repeat(Math.max(0, done - 1))}${done > 0 ? '>' : ''}${' '.repeat(width - done)}`;
  return `[${bar}] ${p.step}/${p.totalSteps} loss ${p.loss.toPrecision(4)} lr ${p.lr.toExponential(1)} ${p.stepsPerSec.toFixed(2)} it/s ETA ${formatDuration(p.etaSeconds)}`;
}
