// The real pipeline steps, one adapter file per step (collect-set-step.ts, build-pairs-step.ts,
// train-generator-step.ts, evaluate-step.ts), each honouring the StepFunctions contract (outDir, resumable
// workDir, heartbeats, cancellation) with a typed config and its defaults. This file assembles them with
// what they share in one step process: the base model cache and the backend. Not the Temporal plumbing
// (activities/) and not the method (the packages).
import { initBackend } from '@dnd/core';
import { BUILD_PAIRS_STEP_VERSION, COLLECT_ZOO_STEP_VERSION } from '@dnd/dataset';
import { CHECKPOINT_VERSION, TRAIN_VERSION } from '@dnd/decoder';
import { EVALUATE_STEP_VERSION } from '@dnd/evaluator';
import { loadCausalLM, type CausalLM } from '@dnd/lm';
import type { StepFunctions } from '../step-contract';
import { buildPairsConfigOf, buildPairsStep, DEFAULT_BUILD_PAIRS_STEP_CONFIG, type BuildPairsStepConfig } from './build-pairs-step';
import { collectConfigOf, collectSetStep, DEFAULT_COLLECT_STEP_CONFIG, type CollectStepConfig } from './collect-set-step';
import { DEFAULT_EVALUATE_STEP_CONFIG, evaluateConfigOf, evaluateStep, type EvaluateStepConfig } from './evaluate-step';
import type { RealStepEnv } from './step-env';
import { DEFAULT_TRAIN_GENERATOR_STEP_CONFIG, trainConfigOf, trainGeneratorStep, type TrainGeneratorStepConfig } from './train-generator-step';

export type { BuildPairsStepConfig, CollectStepConfig, EvaluateStepConfig, TrainGeneratorStepConfig };
export type { GeneratorInfo } from './generator-info';

/** Defaults of the real steps (a preset overrides fields; unknown fields are errors). */
export const REAL_STEP_DEFAULTS: { collectSet: CollectStepConfig; buildPairs: BuildPairsStepConfig; trainGenerator: TrainGeneratorStepConfig; evaluate: EvaluateStepConfig } = {
  collectSet: DEFAULT_COLLECT_STEP_CONFIG,
  buildPairs: DEFAULT_BUILD_PAIRS_STEP_CONFIG,
  trainGenerator: DEFAULT_TRAIN_GENERATOR_STEP_CONFIG,
  evaluate: DEFAULT_EVALUATE_STEP_CONFIG,
};

/** Bumped with the package step versions they wrap: old cache entries stop matching. */
export const REAL_STEP_VERSIONS = {
  collectSet: `real-2/dataset-${COLLECT_ZOO_STEP_VERSION}`, // 2: adapters name their base by folder name, not host path
  buildPairs: `real-1/dataset-${BUILD_PAIRS_STEP_VERSION}`,
  trainGenerator: `real-1/decoder-${CHECKPOINT_VERSION}.${TRAIN_VERSION}`,
  evaluate: `real-1/evaluator-${EVALUATE_STEP_VERSION}`,
};

/** Options of the real steps. */
export interface RealStepOptions {
  /** Loads a base LM (default @dnd/lm loadCausalLM); tests may count loads. */
  loadModel?: (dir: string) => Promise<CausalLM>;
}

/** The real steps, plus `release()` which frees the base model they keep loaded between steps. */
export type RealSteps = StepFunctions & { release(): void };

/**
 * The real step functions. One base LM stays loaded per process between steps (in a worker each step has a
 * process of its own; in-process tests reuse it across steps); the activity layer runs one step at a time.
 * @example createDndWorker({ ..., steps: inChildProcesses(createRealSteps()) })
 */
export function createRealSteps(opts: RealStepOptions = {}): RealSteps {
  const load = opts.loadModel ?? loadCausalLM;
  let cached: { dir: string; model: Promise<CausalLM> } | null = null;
  const env: RealStepEnv = {
    modelFor(dir) {
      if (cached?.dir !== dir) {
        if (cached) void cached.model.then((m) => m.dispose(), () => undefined);
        cached = { dir, model: load(dir) };
        cached.model.catch(() => { cached = null; });
      }
      return cached.model;
    },
    async withBackend(fn) {
      await initBackend();
      return fn(Date.now());
    },
  };
  return {
    defaults: structuredClone(REAL_STEP_DEFAULTS) as unknown as StepFunctions['defaults'],
    versions: { ...REAL_STEP_VERSIONS },
    validate: {
      collectSet: (cfg) => { collectConfigOf(cfg, 0); },
      buildPairs: (cfg) => { buildPairsConfigOf(cfg); },
      trainGenerator: (cfg) => { trainConfigOf(cfg); },
      evaluate: (cfg) => { evaluateConfigOf(cfg); },
    },
    release() {
      if (cached) void cached.model.then((m) => m.dispose(), () => undefined);
      cached = null;
    },
    collectSet: collectSetStep(env),
    buildPairs: buildPairsStep(),
    trainGenerator: trainGeneratorStep(env),
    evaluate: evaluateStep(env),
  };
}
