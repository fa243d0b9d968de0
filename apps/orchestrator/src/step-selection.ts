// THE one place where the pipeline's step functions are chosen: the real @dnd/* steps (real-steps.ts),
// or the demo steps (demo-steps.ts, no model) when DND_STEPS=demo. Not the contract (step-contract.ts).
import type { StepFunctions } from './step-contract';
import { createDemoSteps } from './demo-steps';

/**
 * The step functions every worker, step process and `dnd run` use:
 *   collectSet     <- @dnd/dataset collectSet + @dnd/lm createLoraTrainer (resumable in ctx.workDir)
 *   buildPairs     <- @dnd/dataset buildPairs (Arrow prompts, checkpoints, loss weights)
 *   trainGenerator <- @dnd/encoder conditions + @dnd/decoder trainDecoder (checkpoints in ctx.workDir)
 *   evaluate       <- @dnd/decoder generateLora per evaluated set, then @dnd/evaluator evaluate
 * `DND_STEPS=demo` selects the demo steps (tiny placeholders, no model: for testing the Temporal machinery).
 * The real steps are loaded only when chosen: they pull in TensorFlow.js and every model package.
 */
export function createStepFunctions(): StepFunctions {
  const which = process.env['DND_STEPS'] ?? 'real';
  if (which === 'demo') return createDemoSteps();
  if (which !== 'real') throw new Error(`DND_STEPS must be "real" or "demo", got ${JSON.stringify(which)}`);
  const { createRealSteps } = require('./real-steps') as typeof import('./real-steps');
  return createRealSteps();
}
