// The collection step: collectSet over every named task set into <zooDir>/<set>/, then zoo.json listing
// the sets and their manifest digests; returns artifact references, never tensors. Resumable: re-running
// continues each set after its last complete snapshot. Not the per-set loop (collect.ts).
import * as path from 'path';
import { writeFileAtomic, type ArtifactRef } from '@dnd/core';
import { collectSet, type CollectDeps } from './collect';
import { resolveCollectConfig, type CollectConfig } from './collect-config';
import { fileRef } from './build-pairs';
import { resolveTaskSet } from './task-set';

export const COLLECT_ZOO_STEP_VERSION = '1';

export interface CollectZooInput {
  /** Task-set references (aliases or paths). */
  sets: string[];
  /** The zoo folder; each set goes to <zooDir>/<set name>/. */
  zooDir: string;
}

export interface CollectZooOutput {
  /** zoo.json: sets, their folders and manifest digests, config, base-model digest. */
  zoo: ArtifactRef;
  sets: Array<{ set: string; dir: string; manifest: ArtifactRef; written: number }>;
}

/**
 * Collects every set's checkpoints (in order) and writes zoo.json.
 * @example await collectZoo({ sets: ['ARC-Easy', 'boolq'], zooDir: 'runs/zoo' }, { snapshotSteps: 50 }, { model, createTrainer: createLoraTrainer });
 */
export async function collectZoo(input: CollectZooInput, preset: Partial<CollectConfig>, deps: CollectDeps): Promise<CollectZooOutput> {
  const cfg = resolveCollectConfig(preset);
  if (input.sets.length === 0) throw new Error('collectZoo: no task sets given');
  const names = input.sets.map((s) => resolveTaskSet(s).name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw new Error(`collectZoo: two references resolve to the set name "${dup}"`);
  const out: CollectZooOutput['sets'] = [];
  for (const [i, ref] of input.sets.entries()) {
    const dir = path.join(input.zooDir, names[i]!);
    const r = await collectSet(ref, dir, cfg, deps);
    if (r.manifest.status !== 'complete') {
      throw new Error(`collectZoo: collection of ${r.set} stopped at ${r.manifest.snapshots.length} of ${cfg.snapshotSteps} snapshots (aborted); re-run to resume`);
    }
    out.push({ set: r.set, dir, manifest: fileRef(path.join(dir, 'manifest.json'), 'application/json'), written: r.written });
  }
  const zooFile = path.join(input.zooDir, 'zoo.json');
  writeFileAtomic(zooFile, `${JSON.stringify({
    step: 'collect-zoo', stepVersion: COLLECT_ZOO_STEP_VERSION, config: cfg,
    sets: out.map((s) => ({ set: s.set, dir: path.relative(input.zooDir, s.dir), manifestSha256: s.manifest.sha256 })),
  }, null, 2)}\n`);
  return { zoo: fileRef(zooFile, 'application/json'), sets: out };
}
