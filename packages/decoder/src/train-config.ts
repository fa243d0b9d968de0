// TrainConfig for the decoder (method §5.4, §10.8: AdamW lr 3e-5, wd 0.1, clip 1.0, 1-step warm-up
// then cosine to 0; noise 1e-4 / 1e-5), its validation and the learning-rate schedule.
// Not the optimiser (adamw.ts) and not the loop (trainer.ts).
import { checkNumber } from '@dnd/core';

export interface TrainConfig {
  /** Optimiser steps in the run; the cosine reaches 0 at this step. */
  totalSteps: number;
  /** Peak learning rate. */
  lr: number;
  /** Decoupled weight decay (torch.optim.AdamW). */
  weightDecay: number;
  /** Adam's (beta1, beta2). */
  betas: [number, number];
  /** Adam's epsilon (added to sqrt(v-hat)). */
  eps: number;
  /** Linear warm-up steps before the cosine. */
  warmupSteps: number;
  /** Global gradient-norm clip (torch.nn.utils.clip_grad_norm_); 0 = off. */
  maxGradNorm: number;
  /** Std of the Gaussian noise added to the condition each step. */
  noiseCondition: number;
  /** Std of the Gaussian noise added to the target each step. */
  noiseTarget: number;
  /** Seeds the initialisation and the per-step noise. */
  seed: number;
  /** Save a checkpoint every this many steps (and at the end); 0 = only at the end. */
  checkpointEvery: number;
  /** How many step checkpoints to keep on disk (the newest). */
  keepCheckpoints: number;
}

export const DEFAULT_TRAIN_CONFIG: TrainConfig = {
  totalSteps: 1000, // the method's CPU-demo range is 300-2000; the paper trains 1000-5000
  lr: 3e-5, // the paper's and code's lr
  weightDecay: 0.1, // the paper's and code's
  betas: [0.9, 0.999], // torch.optim.AdamW's defaults (the code uses bitsandbytes AdamW8bit with the same)
  eps: 1e-8, // torch.optim.AdamW's default
  warmupSteps: 1, // the code's WarmupScheduler: one linear warm-up step
  maxGradNorm: 1.0, // the paper's and code's
  noiseCondition: 1e-4, // the code's noise_enhance on the condition
  noiseTarget: 1e-5, // the code's noise_enhance * 0.1 on the target
  seed: 999, // the code's seed
  checkpointEvery: 100, // the code saves every 100 steps (overwritten)
  keepCheckpoints: 2, // the newest and one before it: a crash mid-write never leaves us without a good one
};

/** Throws naming the field and the value unless `cfg` is usable. */
export function validateTrainConfig(cfg: TrainConfig, where = 'TrainConfig'): void {
  checkNumber(where, 'totalSteps', cfg.totalSteps, { min: 1, integer: true });
  checkNumber(where, 'lr', cfg.lr, { min: 0 });
  checkNumber(where, 'weightDecay', cfg.weightDecay, { min: 0 });
  if (!Array.isArray(cfg.betas) || cfg.betas.length !== 2) throw new Error(`${where}.betas must be [beta1, beta2], got ${JSON.stringify(cfg.betas)}`);
  checkNumber(where, 'betas[0]', cfg.betas[0], { min: 0, max: 0.999999 });
  checkNumber(where, 'betas[1]', cfg.betas[1], { min: 0, max: 0.999999 });
  checkNumber(where, 'eps', cfg.eps, { min: 0 });
  checkNumber(where, 'warmupSteps', cfg.warmupSteps, { min: 0, integer: true });
  checkNumber(where, 'maxGradNorm', cfg.maxGradNorm, { min: 0 });
  checkNumber(where, 'noiseCondition', cfg.noiseCondition, { min: 0 });
  checkNumber(where, 'noiseTarget', cfg.noiseTarget, { min: 0 });
  checkNumber(where, 'seed', cfg.seed, { integer: true });
  checkNumber(where, 'checkpointEvery', cfg.checkpointEvery, { min: 0, integer: true });
  checkNumber(where, 'keepCheckpoints', cfg.keepCheckpoints, { min: 1, integer: true });
}

/**
 * The learning rate of optimiser step `step` (1-based): linear warm-up base*step/W for step <= W, then
 * cosine base*0.5*(1+cos(pi*(step-W)/(T-W))), reaching 0 at step T. With W = 1 the first step uses the
 * full rate (unlike schedulers whose step 0 has lr 0).
 * @example lrAt(DEFAULT_TRAIN_CONFIG, 1) // 3e-5
 */
export function lrAt(cfg: Pick<TrainConfig, 'lr' | 'warmupSteps' | 'totalSteps'>, step: number): number {
  const W = cfg.warmupSteps;
  if (step <= W) return (cfg.lr * step) / W;
  const span = Math.max(1, cfg.totalSteps - W);
  return cfg.lr * 0.5 * (1 + Math.cos((Math.PI * Math.min(step - W, span)) / span));
}
