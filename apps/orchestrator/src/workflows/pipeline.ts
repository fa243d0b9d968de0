// dndPipeline chains collectZoo -> buildPairs -> trainGenerator -> evaluate as child workflows and writes
// the run manifest; leaveOneOut runs it once per held-out set over one shared zoo. Deterministic only.
import { executeChild, workflowInfo } from '@temporalio/workflow';
import { evaluatedSets, foldId, pipelineZooSets } from '../run-plan';
import type { ArtifactRef } from '@dnd/core';
import type { LeaveOneOutInput, PipelineInput, PipelineResult, StepResult } from '../types';
import { collectZoo } from './collect-zoo';
import { badInput, quickActivities, trackProgress } from './common';
import { buildPairs, evaluate, trainGenerator } from './step-workflows';

/** The whole method on one config: zoo, pairs, generator, report, manifest. Children are `<id>/zoo`, `<id>/pairs`, ... */
export async function dndPipeline(input: PipelineInput): Promise<PipelineResult> {
  const { config } = input;
  const base = workflowInfo().workflowId;
  const evalSets = evaluatedSets(config);
  for (const s of config.heldOut) if (!config.sets.includes(s)) badInput(`dndPipeline: heldOut set "${s}" is not in config.sets`);
  const p = trackProgress('collecting');
  const ids: string[] = [base];
  // Wall time per step for the report's header (workflow time: Date.now() is deterministic here; it includes any
  // wait for a worker). The evaluate step writes the report, so its own time is in the manifest's history only.
  const stepSeconds: { step: string; seconds: number }[] = [];
  const child = <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    p.stage = name;
    ids.push(`${base}/${name}`);
    p.children.push(`${base}/${name}`);
    const t0 = Date.now();
    return fn().then((r) => (p.finished.push(name), stepSeconds.push({ step: name, seconds: (Date.now() - t0) / 1000 }), r));
  };

  // Held-out sets' LoRAs serve no purpose in one pipeline (the generator and the LoRA mean exclude them),
  // so they are collected only when asked (collectHeldOut; absent in configs older than the field = true).
  const zooSets = pipelineZooSets(config);
  const zooConfig = zooSets.length === config.sets.length ? config : { ...config, sets: zooSets };
  const zoo = input.zoo ?? (await child('zoo', () => executeChild(collectZoo, { workflowId: `${base}/zoo`, args: [{ runId: input.runId, config: zooConfig }] })));
  if (!input.zoo) ids.push(...zooSets.map((s) => `${base}/zoo/${s}`));
  const pairs = await child('pairs', () => executeChild(buildPairs, { workflowId: `${base}/pairs`, args: [{ zoo, config }] }));
  const generator = await child('train', () => executeChild(trainGenerator, { workflowId: `${base}/train`, args: [{ pairs, config }] }));
  const report = await child('evaluate', () => executeChild(evaluate, { workflowId: `${base}/evaluate`, args: [{ generator: generator.ref, sets: evalSets, config, run: { runId: input.runId, ...(input.preset ? { preset: input.preset } : {}), ...(input.runMeta ?? {}), stepSeconds: [...stepSeconds] } }] }));

  p.stage = 'manifest';
  const steps: StepResult[] = [...zoo.map((z) => z.result), pairs, generator, report];
  const backend: Record<string, string> = {};
  for (const s of steps) if (s.backend) backend[s.queue] = s.backend;
  const artifacts: Record<string, StepResult['ref']> = { pairs: pairs.ref, generator: generator.ref, report: report.ref };
  for (const z of zoo) artifacts[`zoo/${z.set}`] = z.result.ref;
  const written: { path: string; ref: ArtifactRef } | string = await quickActivities().writeManifest({
    runDir: input.runDir, runId: input.runId, preset: input.preset, config,
    seeds: { collectSet: config.seed, buildPairs: config.seed, trainGenerator: config.seed, evaluate: config.seed },
    backend, artifacts, temporal: { address: input.address, namespace: config.temporal.namespace, workflowIds: ids },
  });
  p.stage = 'done';
  // A string: the result of a worker older than the store copy (a history replayed across the change).
  const manifest = typeof written === 'string' ? { manifestPath: written } : { manifestPath: written.path, manifestRef: written.ref };
  return { runId: input.runId, zoo, pairs, generator, report, ...manifest, workflowIds: ids };
}

/** One pipeline per held-out set (`<id>/heldout-<set>`), all sharing the zoo collected once (`<id>/zoo`). */
export async function leaveOneOut(input: LeaveOneOutInput): Promise<PipelineResult[]> {
  const { config } = input;
  if (config.sets.length < 2) badInput('leaveOneOut: needs at least two sets');
  const base = workflowInfo().workflowId;
  const p = trackProgress('collecting');
  p.children.push(`${base}/zoo`);
  const zoo = await executeChild(collectZoo, { workflowId: `${base}/zoo`, args: [{ runId: input.runId, config }] });
  p.finished.push('zoo');
  p.stage = 'pipelines';
  const results = await Promise.all(config.sets.map((set) => {
    const id = foldId(base, set);
    p.children.push(id);
    return executeChild(dndPipeline, {
      workflowId: id,
      args: [{ runId: foldId(input.runId, set), preset: input.preset, runMeta: input.runMeta, config: { ...config, heldOut: [set] }, zoo, runDir: foldId(input.runDir, set), address: input.address }],
    }).then((r) => (p.finished.push(set), r));
  }));
  p.stage = 'done';
  return results;
}
