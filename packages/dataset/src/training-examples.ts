// The (prompt, answer) pairs a zoo LoRA is fine-tuned on, by CollectConfig.trainOn: the label format
// (the record's `output`, as the paper), the knowledge protocol's form (context "Question: ...\nAnswer:",
// continuation " " + the gold choice text, exactly what the evaluator's knowledge protocol scores), or both.
// Not the batching or the training loop (collect.ts).
import { BadInputError, knowledgeExample } from '@dnd/core';
import type { TaskItem } from './task-file';
import { trainingExample } from './task-set';

/** What a zoo LoRA learns to produce: the label format, the gold choice text after the knowledge context, or both. */
export type CollectTarget = 'label' | 'knowledge' | 'both';
export const COLLECT_TARGETS: readonly CollectTarget[] = ['label', 'knowledge', 'both'];

/**
 * The fine-tuning examples of a set's train pool. `label`: template(instruction) -> output. `knowledge`:
 * "Question: <question>\nAnswer:" -> " <gold choice text>" (for endingN sets the sentence itself -> " <ending>").
 * `both`: the label examples, then the knowledge examples (each record twice). Throws a BadInputError naming
 * the record when one cannot give its example (no output; no answer, or no choices, for the knowledge form).
 * @example trainingExamples(ts.train, 'knowledge', '{prompt}\n', 'ARC-Easy')[0] // { prompt: 'Question: Which ...?\nAnswer:', answer: ' soft' }
 */
export function trainingExamples(items: readonly TaskItem[], trainOn: CollectTarget, promptTemplate: string, set: string): { prompt: string; answer: string }[] {
  const out: { prompt: string; answer: string }[] = [];
  if (trainOn === 'label' || trainOn === 'both') {
    items.forEach((it, i) => {
      if (it.output.trim() === '') throw new BadInputError(`${set}/train[${i}]: empty "output"; a LoRA cannot be fine-tuned on the label format without it`);
      out.push(trainingExample(it, promptTemplate));
    });
  }
  if (trainOn === 'knowledge' || trainOn === 'both') {
    items.forEach((it, i) => {
      const k = knowledgeExample(it, `${set}/train[${i}]`);
      out.push({ prompt: k.context, answer: k.continuation });
    });
  }
  return out;
}
