// nightlyEvaluation: evaluates the generator an alias points at (the latest trained) on the configured
// sets; a Temporal Schedule starts it (`dnd schedule nightly --cron ...`). Deterministic only.
import { executeChild, workflowInfo } from '@temporalio/workflow';
import type { NightlyInput, StepResult } from '../types';
import { quickActivities, trackProgress } from './common';
import { evaluate } from './step-workflows';

/** Resolves `generatorAlias`, then runs the evaluate child workflow on `config.sets`. */
export async function nightlyEvaluation(input: NightlyInput): Promise<StepResult> {
  const p = trackProgress('resolving generator');
  const generator = await quickActivities().resolveAlias(input.generatorAlias);
  p.stage = 'evaluating';
  const id = `${workflowInfo().workflowId}/evaluate`;
  p.children.push(id);
  const r = await executeChild(evaluate, { workflowId: id, args: [{ generator, sets: input.config.sets, config: input.config }] });
  p.stage = 'done';
  return r;
}
