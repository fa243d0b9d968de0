// The per-set zoo manifest (manifest.json): config, seeds, base-model digest, task-set provenance, the
// snapshots with their sha256, and the loss curve; plus verification of a set folder against it.
// Not the collection loop (collect.ts).
import * as fs from 'fs';
import * as path from 'path';
import { sha256File, writeFileAtomic } from '@dnd/core';
import type { CollectConfig } from './collect-config';
import type { SplitSource } from './task-set';

export const ZOO_MANIFEST_VERSION = 1;
export const ZOO_MANIFEST_FILE = 'manifest.json';
/** File inside each snapshot folder whose sha256 the manifest records. */
export const SNAPSHOT_WEIGHTS_FILE = 'adapter_model.safetensors';

export interface ZooSnapshot {
  /** Step of the continued run, 1..S. */
  step: number;
  /** Folder relative to the set folder, e.g. "snapshots/step-0001" (a PEFT adapter). */
  path: string;
  /** sha256 of <path>/adapter_model.safetensors. */
  sha256: string;
  loss: number;
  tokens: number;
}

export interface LossPoint {
  /** Optimizer step counted from the start of the warm-up (1..W+S). */
  step: number;
  phase: 'warmup' | 'snapshot';
  loss: number;
  tokens: number;
}

export interface ZooSetManifest {
  version: number;
  set: string;
  status: 'warmup' | 'collecting' | 'complete';
  config: CollectConfig;
  seeds: { lora: number; batches: number; split: number };
  baseModel: { source: string; digest: string };
  taskSet: { root: string; sources: { train: SplitSource; test: SplitSource }; trainSize: number; testSize: number };
  /** How examples were formatted for the fine-tune (config.promptTemplate, spelled out). */
  template: string;
  warmup: { steps: number; done: boolean; sha256: string | null };
  snapshots: ZooSnapshot[];
  lossCurve: LossPoint[];
  updatedAt: string;
}

export function readZooManifest(setDir: string): ZooSetManifest | null {
  const file = path.join(setDir, ZOO_MANIFEST_FILE);
  if (!fs.existsSync(file)) return null;
  let m: ZooSetManifest;
  try {
    m = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: not valid JSON (${(e as Error).message})`);
  }
  if (m.version !== ZOO_MANIFEST_VERSION) throw new Error(`${file}: manifest version ${m.version} is not supported (expected ${ZOO_MANIFEST_VERSION})`);
  return m;
}

export function writeZooManifest(setDir: string, m: ZooSetManifest): void {
  writeFileAtomic(path.join(setDir, ZOO_MANIFEST_FILE), `${JSON.stringify({ ...m, updatedAt: new Date().toISOString() }, null, 2)}\n`);
}

/**
 * Checks every listed snapshot exists and matches its recorded sha256; throws naming the first that does not.
 * @example verifyZooSet('zoo/piqa'); // -> the manifest
 */
export function verifyZooSet(setDir: string, opts: { requireComplete?: boolean } = {}): ZooSetManifest {
  const m = readZooManifest(setDir);
  if (!m) throw new Error(`${setDir}: no ${ZOO_MANIFEST_FILE} (not a collected zoo set)`);
  if (opts.requireComplete && m.status !== 'complete') {
    throw new Error(`${setDir}: collection is not complete (${m.status}, ${m.snapshots.length} of ${m.config.snapshotSteps} snapshots); re-run collection to resume`);
  }
  for (const s of m.snapshots) {
    const f = path.join(setDir, s.path, SNAPSHOT_WEIGHTS_FILE);
    if (!fs.existsSync(f)) throw new Error(`${setDir}: snapshot step ${s.step} is listed in the manifest but ${f} is missing`);
    const got = sha256File(f);
    if (got !== s.sha256) throw new Error(`${setDir}: snapshot step ${s.step} (${f}) has sha256 ${got}, the manifest records ${s.sha256}: the file changed after collection`);
  }
  return m;
}
