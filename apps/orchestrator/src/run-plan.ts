// Which step workflows a run consists of, from its workflow kind and config: the one pure function that the
// workflows follow (which sets to collect and evaluate, the fold and step ids) and that `dnd run`/`dnd status`
// read for progress and the ETA. Deterministic and free of Node built-ins: the workflow sandbox imports it.
import type { RunConfig } from './types';

/** The kind of a step workflow (what its cost scales with). */
export type StepKind = 'collect' | 'pairs' | 'train' | 'evaluate';

/** One step workflow of a run. */
export interface PlannedStep {
  /** Its workflow id. */
  id: string;
  kind: StepKind;
  /** collect: the set it collects. */
  set?: string;
  /** pairs/train/evaluate: the fold's held-out sets; evaluate scores these. */
  heldOut?: string[];
  /** evaluate: the zoo sets whose LoRAs are scored beside the generated ones. */
  zoo?: string[];
}

/** Sets whose LoRAs dndPipeline collects: held-out sets only with collectHeldOut (absent in older configs = true). */
export function pipelineZooSets(config: RunConfig): string[] {
  return config.collectHeldOut === false ? config.sets.filter((s) => !config.heldOut.includes(s)) : config.sets;
}

/** Sets a pipeline evaluates: its held-out sets, or every set when none is held out. */
export function evaluatedSets(config: RunConfig): string[] {
  return config.heldOut.length ? config.heldOut : config.sets;
}

/** Id of leaveOneOut's pipeline for held-out `set`. */
export const foldId = (base: string, set: string): string => `${base}/heldout-${set}`;

/**
 * The step workflows of a run, in the order they start: the zoo's sets, then per fold pairs, train, evaluate.
 * @example plannedSteps('leaveOneOut', 'cs-1', config).filter((s) => s.kind === 'train').map((s) => s.id) // ['cs-1/heldout-arc/train', ...]
 */
export function plannedSteps(workflow: 'dndPipeline' | 'leaveOneOut', runId: string, config: RunConfig): PlannedStep[] {
  const zoo = workflow === 'leaveOneOut' ? config.sets : pipelineZooSets(config);
  const steps: PlannedStep[] = zoo.map((set) => ({ id: `${runId}/zoo/${set}`, kind: 'collect', set }));
  const folds = workflow === 'leaveOneOut' ? config.sets.map((h) => ({ base: foldId(runId, h), heldOut: [h] })) : [{ base: runId, heldOut: evaluatedSets(config) }];
  for (const f of folds) {
    steps.push({ id: `${f.base}/pairs`, kind: 'pairs', heldOut: f.heldOut }, { id: `${f.base}/train`, kind: 'train', heldOut: f.heldOut },
      { id: `${f.base}/evaluate`, kind: 'evaluate', heldOut: f.heldOut, zoo });
  }
  return steps;
}
