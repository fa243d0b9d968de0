// The checks `dnd run` makes before it starts a server or a step: the run config and every step config
// validate, and every set of the run loads (collected sets have outputs to train on, evaluated sets have
// answers to score). Bad input then fails in seconds, once, with its own message. Not the steps: they
// check again where they read (a worker may get its input from elsewhere).
import * as fs from 'fs';
import * as path from 'path';
import { BACKEND_ORDER, BadInputError, isBadInput } from '@dnd/core';
import { DEFAULT_COLLECT_CONFIG, loadTaskSet, sharedDir, trainingExample } from '@dnd/dataset';
import { assertScorable, itemFromInstruction } from '@dnd/evaluator';
import { setDirOf, validateRunConfig } from './config';
import type { StepFunctions } from './step-contract';
import type { RunConfig } from './types';

/** What preflight looked at, per set (for the log line of `dnd run`). */
export interface PreflightSet {
  name: string;
  train: number;
  test: number;
  /** Collected into the zoo (needs `output` on train items). */
  collected: boolean;
  /** Evaluated (needs a scorable `answer` on test items). */
  evaluated: boolean;
}

/** Options of preflight. */
export interface PreflightOptions {
  workflow: 'dndPipeline' | 'leaveOneOut';
  /** Check that evaluated sets can be scored (the real evaluator's format); false for the demo steps. */
  scoring?: boolean;
}

// A step's validator names its own field ("collectSet.rank ..." or "CollectConfig.rank ..."); the run
// config path goes before it: "RunConfig.steps.collectSet.rank must be ...".
function stepError(step: string, e: unknown): BadInputError {
  const msg = ((e as Error).message ?? String(e)).replace(/^[A-Z][A-Za-z]*Config\./, `${step}.`);
  return new BadInputError(`RunConfig.steps.${msg.startsWith(`${step}.`) || msg.startsWith(`${step}:`) ? msg : `${step}: ${msg}`}`, { cause: e });
}

/**
 * Validates `config` and every step config, then loads every set of the run; throws BadInputError with
 * the field path or the set and file at the first problem. Writes nothing.
 * @example await preflight(loadRunConfig('quickstart', steps).config, steps, { workflow: 'dndPipeline' })
 */
export async function preflight(config: RunConfig, steps: StepFunctions, opts: PreflightOptions): Promise<PreflightSet[]> {
  validateRunConfig(config);
  const backend = process.env['DND_BACKEND'];
  if (backend && !(BACKEND_ORDER as readonly string[]).includes(backend)) throw new BadInputError(`DND_BACKEND must be one of ${BACKEND_ORDER.join(', ')}, got "${backend}"`);
  for (const [name, validate] of Object.entries(steps.validate ?? {})) {
    try {
      validate?.((config.steps as Record<string, Record<string, unknown>>)[name] ?? {});
    } catch (e) {
      throw stepError(name, e);
    }
  }
  const c = { ...DEFAULT_COLLECT_CONFIG, ...(config.steps.collectSet as Record<string, unknown>) } as typeof DEFAULT_COLLECT_CONFIG;
  const split = { skipBad: c.skipBad, splitSeed: c.splitSeed, trainFraction: c.trainFraction };
  const loo = opts.workflow === 'leaveOneOut';
  // The in-distribution diagnostic scores the training sets too.
  const inDistribution = (config.steps.evaluate as { diagnostics?: { inDistribution?: boolean } }).diagnostics?.inDistribution === true;
  const out: PreflightSet[] = [];
  for (const name of config.sets) {
    const held = config.heldOut.includes(name);
    const collected = loo || !held || config.collectHeldOut;
    const evaluated = loo || held || inDistribution;
    const dir = setDirOf(config, name);
    if (!fs.existsSync(dir)) {
      // The presets' sets come from the shared folder beside the checkout; a clone elsewhere must say where it is.
      const hint = path.resolve(dir).startsWith(sharedDir() + path.sep) && !process.env['DND_SHARED_DIR']
        ? ` (the built-in sets are read from ${sharedDir()}, the shared folder beside the checkout; set DND_SHARED_DIR to the folder holding data/commonsense)` : '';
      throw new BadInputError(`task set "${name}" not found: ${dir} does not exist${hint}`);
    }
    let ts;
    try {
      ts = await loadTaskSet(dir, split);
    } catch (e) {
      if (!isBadInput(e)) throw e;
      throw new BadInputError(`task set "${name}": ${(e as Error).message}`, { cause: e });
    }
    if (collected) {
      const unlabeled = ts.train.filter((it) => trainingExample(it).answer.trim() === '').length;
      if (unlabeled) throw new BadInputError(`task set "${name}": ${unlabeled} of ${ts.train.length} train items have an empty "output"; a LoRA cannot be fine-tuned on them`);
    }
    if (evaluated && opts.scoring !== false) {
      try {
        assertScorable(name, ts.test.map((r, i) => itemFromInstruction(r, name, i, 'test')));
      } catch (e) {
        throw new BadInputError(`${held || loo ? 'held-out' : 'training'} set "${name}" cannot be scored${held || loo ? '' : ' (evaluate.diagnostics.inDistribution scores it)'}: ${(e as Error).message}`, { cause: e });
      }
    }
    out.push({ name, train: ts.train.length, test: ts.test.length, collected, evaluated });
  }
  return out;
}
