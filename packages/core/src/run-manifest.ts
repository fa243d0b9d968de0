// The run manifest: everything needed to reproduce or audit a run (package versions, config, seeds,
// backends, artifact references, Temporal ids), written atomically as `manifest.json` and read back checked.
// Not the artifact store (artifacts.ts) and not the run's config.json (the orchestrator's session).
import * as fs from 'fs';
import * as path from 'path';
import type { ArtifactRef } from './artifacts';
import { writeFileAtomic } from './atomic-write';
import { BadInputError } from './bad-input';

/** Everything needed to reproduce or audit a run; written as `manifest.json` in the run directory. */
export interface RunManifest {
  /** Schema version of this file. */
  manifestVersion: 1;
  runId: string;
  createdAt: string;
  /** `@dnd/*` package name -> version (and anything else worth pinning, e.g. the Temporal SDK). */
  packages: Record<string, string>;
  /** The resolved config (defaults + preset + overrides) and the preset name it came from. */
  preset: string | null;
  config: unknown;
  /** Every seed the run used, by purpose. */
  seeds: Record<string, number>;
  /** The tensor backend per worker role, e.g. {cpu: 'tensorflow', gpu: 'tensorflow-gpu'}. */
  backend: Record<string, string>;
  /** Named artifacts the run produced or reused. */
  artifacts: Record<string, ArtifactRef>;
  /** Where it ran: Temporal address, namespace, and every workflow id of the run (parent first). */
  temporal: { address: string; namespace: string; workflowIds: string[]; uiUrl?: string };
  /** Event-loop delay of the worker that wrote the manifest, since it started (ms): a blocked loop starves heartbeats. */
  eventLoop?: { p50Ms: number; p99Ms: number; maxMs: number; worker: string; since: string };
}

/**
 * Writes `<dir>/manifest.json` atomically after checking the fields; returns the file path.
 * @example writeRunManifest('runs/r1', { manifestVersion: 1, runId: 'r1', ... })
 */
export function writeRunManifest(dir: string, manifest: RunManifest): string {
  if (manifest.manifestVersion !== 1) throw new Error(`writeRunManifest: manifestVersion must be 1, got ${JSON.stringify(manifest.manifestVersion)}`);
  // Not the path-name rule: a leave-one-out fold's id is `<run>/heldout-<set>` (a workflow id).
  if (typeof manifest.runId !== 'string' || !manifest.runId) throw new Error('writeRunManifest: runId must be non-empty');
  for (const [name, ref] of Object.entries(manifest.artifacts)) {
    if (!ref || typeof ref.uri !== 'string' || !/^[0-9a-f]{64}$/.test(ref.sha256)) {
      throw new Error(`writeRunManifest: artifacts.${name} is not an ArtifactRef: ${JSON.stringify(ref)}`);
    }
  }
  const file = path.join(dir, 'manifest.json');
  writeFileAtomic(file, JSON.stringify(manifest, null, 2) + '\n');
  return file;
}

/** Reads a manifest written by writeRunManifest. */
export function readRunManifest(file: string): RunManifest {
  let m: RunManifest;
  try {
    m = JSON.parse(fs.readFileSync(file, 'utf8')) as RunManifest;
  } catch (e) {
    throw new BadInputError(`${file} is corrupt: ${(e as Error).message}`);
  }
  if (m.manifestVersion !== 1) throw new Error(`readRunManifest(${file}): unsupported manifestVersion ${JSON.stringify(m.manifestVersion)}`);
  return m;
}
