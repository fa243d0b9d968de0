// collectZoo: one child workflow per task set (collectZooSet), each running the resumable collectSet
// activity on the best queue. Deterministic only: no Node built-ins, activities via import type.
import { executeChild, workflowInfo } from '@temporalio/workflow';
import type { CollectZooInput, RunConfig, StepResult, ZooEntry } from '../types';
import { badInput, onBestQueue, trackProgress } from './common';

/** Collects every configured set's snapshots in parallel child workflows `<id>/<set>`. */
export async function collectZoo(input: CollectZooInput): Promise<ZooEntry[]> {
  const { config } = input;
  if (config.sets.length === 0) badInput('collectZoo: config.sets is empty');
  const p = trackProgress('collecting');
  const base = workflowInfo().workflowId;
  const results = await Promise.all(config.sets.map(async (set) => {
    const id = `${base}/${set}`;
    p.children.push(id);
    const result = await executeChild(collectZooSet, { workflowId: id, args: [{ set, config }] });
    p.finished.push(set);
    return { set, result };
  }));
  p.stage = 'done';
  return results;
}

/** One set of the zoo: the collectSet activity (heartbeats {done, total, last} per snapshot). */
export async function collectZooSet(input: { set: string; config: RunConfig }): Promise<StepResult> {
  const p = trackProgress(`collecting ${input.set}`);
  const r = await onBestQueue(input.config, (a) => a.collectSet({ set: input.set, config: input.config }));
  p.stage = 'done';
  p.finished.push('collectSet');
  return r;
}
