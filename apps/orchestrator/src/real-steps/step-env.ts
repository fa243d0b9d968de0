// What every real step adapter shares within one step process: the base model cache, the backend, and
// small helpers for reading earlier steps' outputs and honouring cancellation. Not a step.
import * as fs from 'fs';
import { BadInputError } from '@dnd/core';
import type { CausalLM } from '@dnd/lm';
import type { StepContext } from '../step-contract';

/** The services createRealSteps gives each step adapter. */
export interface RealStepEnv {
  /** The base LM of `dir`, loaded once per process (collection of several sets and evaluation reuse it). */
  modelFor(dir: string): Promise<CausalLM>;
  /** Runs `fn` with the tensor backend ready, passing it its start time (a step's compute seconds start there). */
  withBackend<T>(fn: (t0: number) => Promise<T>): Promise<T>;
}

/** Parses an earlier step's JSON output; a missing file is bad input (outputs of other steps than the real ones). */
export function readJson<T>(file: string, what: string): T {
  if (!fs.existsSync(file)) throw new BadInputError(`${what}: ${file} not found (an output of other steps than the real ones?)`);
  return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
}

/** Throws when the step was cancelled (in a step process the parent kills it instead; in-process tests abort). */
export function cancelled(ctx: StepContext, what: string): void {
  if (ctx.signal.aborted) throw new Error(`${what}: cancelled`);
}
