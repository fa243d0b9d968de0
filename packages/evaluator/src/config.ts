// EvaluatorConfig: what the evaluate step may be told (scorer, metric, subsample, generation), its
// defaults with a reason per field, and the validator. Not the evaluation input (sets, adapters).
import { checkNumber, checkOneOf, mergeConfig } from '@dnd/core';
import type { GenerativeOptions } from './scorers';

export interface EvaluatorConfig {
  /** Multiple-choice scoring: log-likelihood (lm-evaluation-harness) or generation with strict parsing (the paper). */
  scorer: 'loglik' | 'generative';
  /** Headline metric for the log-likelihood scorer. */
  metric: 'acc' | 'acc_norm';
  /** Items per set at most (0 = all); a fixed-seed subsample otherwise. */
  maxItemsPerSet: number;
  /** Seed of the subsample (recorded in the report). */
  seed: number;
  /** Continuations per scoreContinuations call; with several adapters per pass, the model splits a pass among them. */
  batchSize: number;
  /** Log-likelihood: adapters scored together on a set per forward pass (per-row LoRA); 1 = one adapter after another. */
  adaptersPerPass: number;
  /** Score every training LoRA on every set (the LoRA-by-set cross matrix), not only on the held-out sets. */
  crossMatrix: boolean;
  generative: GenerativeOptions;
}

/** Defaults; each "why" in a comment. */
export const DEFAULT_EVALUATOR_CONFIG: EvaluatorConfig = {
  scorer: 'loglik', // deterministic and cheap on a CPU; the generative scorer reproduces the paper's protocol
  metric: 'acc', // the harness's plain accuracy; acc_norm is reported beside it
  maxItemsPerSet: 0, // all items: subsampling widens the intervals and must be asked for
  seed: 1234, // any fixed value; it is printed in every report that subsamples
  batchSize: 32, // keeps a batch of logits small on a 2-core machine
  adaptersPerPass: 16, // a held-out set's ~14 adapters + base share passes; a pass keeps batchSize requests in total
  crossMatrix: true, // the heat map needs every LoRA on every set
  generative: {
    maxNewTokens: 16, // "the correct answer is answer1" is 8-10 tokens
    greedy: true, // deterministic; the paper sampled (T 0.95), which adds variance without information
    temperature: 0.95, // used only when greedy is false (the paper's LLaMA-Factory default)
    seed: 0, // sampling seed, when sampling
    parse: 'strict', // an answer outside the set's format counts as wrong
    template: '{prompt}', // the caller sets the chat/instruction template the LoRAs were trained with
    batchSize: 8, // prompts per generate call
  },
};

/** Throws naming the field and the value unless `cfg` is usable. */
export function validateEvaluatorConfig(cfg: EvaluatorConfig, where = 'EvaluatorConfig'): void {
  checkOneOf(where, 'scorer', cfg.scorer, ['loglik', 'generative']);
  checkOneOf(where, 'metric', cfg.metric, ['acc', 'acc_norm']);
  checkNumber(where, 'maxItemsPerSet', cfg.maxItemsPerSet, { min: 0, integer: true });
  checkNumber(where, 'seed', cfg.seed, { min: 0, max: 2 ** 32 - 1, integer: true });
  checkNumber(where, 'batchSize', cfg.batchSize, { min: 1, integer: true });
  checkNumber(where, 'adaptersPerPass', cfg.adaptersPerPass, { min: 1, integer: true });
  if (typeof cfg.crossMatrix !== 'boolean') throw new Error(`${where}.crossMatrix must be a boolean, got ${JSON.stringify(cfg.crossMatrix)}`);
  const g = cfg.generative;
  checkNumber(`${where}.generative`, 'maxNewTokens', g.maxNewTokens, { min: 1, integer: true });
  if (typeof g.greedy !== 'boolean') throw new Error(`${where}.generative.greedy must be a boolean, got ${JSON.stringify(g.greedy)}`);
  checkNumber(`${where}.generative`, 'temperature', g.temperature, { min: 0 });
  checkNumber(`${where}.generative`, 'seed', g.seed, { min: 0, integer: true });
  checkOneOf(`${where}.generative`, 'parse', g.parse, ['strict', 'first-match']);
  if (typeof g.template !== 'string' || !g.template.includes('{prompt}')) throw new Error(`${where}.generative.template must contain "{prompt}", got ${JSON.stringify(g.template)}`);
  checkNumber(`${where}.generative`, 'batchSize', g.batchSize, { min: 1, integer: true });
}

/** Merges a preset onto the defaults and validates. @example resolveEvaluatorConfig({ maxItemsPerSet: 200 }) */
export function resolveEvaluatorConfig(override?: Partial<EvaluatorConfig> | Record<string, unknown>): EvaluatorConfig {
  const cfg = mergeConfig(DEFAULT_EVALUATOR_CONFIG, override, 'EvaluatorConfig');
  validateEvaluatorConfig(cfg);
  return cfg;
}
