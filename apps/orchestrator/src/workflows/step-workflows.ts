// buildPairs, trainGenerator and evaluate as workflows of one activity each, so that the pipeline
// shows them as children and each can run alone (nightlyEvaluation runs evaluate). Deterministic only.
import type { ArtifactRef } from '@dnd/core';
import type { RunMeta } from '../step-contract';
import type { RunConfig, StepResult, ZooEntry } from '../types';
import { onBestQueue, stepActivities, trackProgress } from './common';

/** Zoo snapshots x prompt batches -> the pairs table. */
export async function buildPairs(input: { zoo: ZooEntry[]; config: RunConfig }): Promise<StepResult> {
  const p = trackProgress('building pairs');
  const r = await stepActivities(input.config).buildPairs(input);
  p.stage = 'done';
  return r;
}

/** Trains the generator (GPU queue when a GPU worker is present); resumable per checkpoint. */
export async function trainGenerator(input: { pairs: StepResult; config: RunConfig }): Promise<StepResult> {
  const p = trackProgress('training generator');
  const r = await onBestQueue(input.config, (a) => a.trainGenerator(input));
  p.stage = 'done';
  return r;
}

/** Scores a generator on `sets`; returns the report reference. */
export async function evaluate(input: { generator: ArtifactRef; sets: string[]; config: RunConfig; run?: RunMeta }): Promise<StepResult> {
  const p = trackProgress('evaluating');
  const r = await stepActivities(input.config).evaluate(input);
  p.stage = 'done';
  return r;
}
