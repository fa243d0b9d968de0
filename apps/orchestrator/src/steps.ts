// THE one place where the pipeline's step functions are chosen: the @dnd/dataset, @dnd/decoder and
// @dnd/evaluator steps once they exist, the demo steps until then. Not the contract (step-functions.ts).
import type { StepFunctions } from './step-functions';
import { createDemoSteps } from './demo-steps';

/**
 * The step functions every worker and `dnd run` use. To wire the real packages, replace the demo entries:
 *   collectSet     <- @dnd/dataset   (collect one set's LoRA snapshots; ctx.checkpoint per snapshot)
 *   buildPairs     <- @dnd/dataset   (Arrow prompt-checkpoint pairs)
 *   trainGenerator <- @dnd/decoder   (decoder training; ctx.checkpoint per saved checkpoint)
 *   evaluate       <- @dnd/evaluator (report.json / report.md into outDir)
 * with their DEFAULT_*_CONFIG under `defaults`, validate*Config under `validate`, and a version each.
 */
export function createStepFunctions(): StepFunctions {
  return createDemoSteps();
}
