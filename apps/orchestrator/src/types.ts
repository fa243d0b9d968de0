// Plain-JSON shapes that cross the Temporal boundary (workflow inputs/results, activity payloads).
// Not behaviour: imported by workflows, so nothing here may touch Node built-ins. References only, never bytes.
import type { ArtifactRef } from '@dnd/core';

/** Progress a long activity heartbeats: units finished, units in all, and the last finished unit. */
export interface Progress {
  done: number;
  total: number;
  last: ArtifactRef | null;
  /** Optional free text from inside a unit (e.g. `step 40/100`). */
  note?: string;
}

/** Timeouts and retries applied to every step activity (all durations in seconds). */
export interface TemporalRunOptions {
  namespace: string;
  cpuQueue: string;
  gpuQueue: string;
  heartbeatTimeoutSec: number;
  startToCloseTimeoutSec: number;
  /** How long a GPU-queue task may wait for a GPU worker before training falls back to the CPU queue. */
  gpuScheduleToStartSec: number;
  /** A GPU worker counts as present when it polled the GPU queue within this many seconds. */
  gpuPresenceWindowSec: number;
  retry: { initialIntervalSec: number; backoffCoefficient: number; maximumIntervalSec: number; maximumAttempts: number };
}

/** The resolved run configuration (defaults + preset + overrides); see config.ts for the why of each field. */
export interface RunConfig {
  /** Task sets of the zoo, by name: a folder under dataDir unless setDirs names another folder for it. */
  sets: string[];
  dataDir: string;
  /** Sets that live elsewhere: name -> folder holding train.json / test.json (`dnd run --set name=path`). Absent in configs older than the field. */
  setDirs?: Record<string, string>;
  /** Sets left out of generator training and evaluated zero-shot. */
  heldOut: string[];
  /** Whether dndPipeline also collects the held-out sets' LoRAs (leaveOneOut always collects every set). */
  collectHeldOut: boolean;
  seed: number;
  steps: { collectSet: Record<string, unknown>; buildPairs: Record<string, unknown>; trainGenerator: Record<string, unknown>; evaluate: Record<string, unknown> };
  temporal: TemporalRunOptions;
  /** Run directories (manifest, dev-server SQLite, logs) live under here. */
  runsDir: string;
  /** The artifact store: a directory (LocalArtifactStore) or a URL (`file:///dir`, `s3://bucket/prefix`, see openArtifactStore). */
  artifactsDir: string;
}

/** What a step activity returns: the output reference and small facts about how it was made. */
export interface StepResult {
  step: string;
  key: string;
  ref: ArtifactRef;
  /** True when the output existed already and nothing was computed. */
  cached: boolean;
  /** The step's small JSON summary (scores, counts), never tensors. */
  meta: Record<string, unknown>;
  /** Tensor backend of the worker that computed it (null when cached or unknown). */
  backend: string | null;
  /** Queue it ran on. */
  queue: string;
}

/** A set's collected snapshots. */
export interface ZooEntry {
  set: string;
  result: StepResult;
}

export interface CollectZooInput {
  runId: string;
  config: RunConfig;
}

export interface PipelineInput {
  runId: string;
  preset: string | null;
  /** When the run started, its commit and config digest (for the report; absent in older histories). */
  runMeta?: { date: string; commit?: string; configDigest: string };
  config: RunConfig;
  /** Reuse a collected zoo (leaveOneOut shares one) instead of collecting. */
  zoo?: ZooEntry[];
  /** Where the manifest goes (a directory the worker can write). */
  runDir: string;
  /** Temporal address as the client saw it, recorded in the manifest. */
  address: string;
}

export interface PipelineResult {
  runId: string;
  zoo: ZooEntry[];
  pairs: StepResult;
  generator: StepResult;
  report: StepResult;
  /** Where the worker that wrote the manifest put it (a path on that worker's host). */
  manifestPath: string;
  /** The same manifest in the artifact store, for hosts that cannot read that path (absent in runs older than the field). */
  manifestRef?: ArtifactRef;
  workflowIds: string[];
}

export interface LeaveOneOutInput {
  runId: string;
  preset: string | null;
  runMeta?: PipelineInput['runMeta'];
  config: RunConfig;
  runDir: string;
  address: string;
}

export interface NightlyInput {
  config: RunConfig;
  /** Alias of the generator to evaluate (set by every trainGenerator). */
  generatorAlias: string;
}

/** What the `progress` query of every dnd workflow answers. */
export interface WorkflowProgress {
  stage: string;
  /** Child workflows started so far (ids), in start order. */
  children: string[];
  /** Steps finished so far, by name. */
  finished: string[];
}

/** Queue choice for a step that can use a GPU. */
export interface QueueChoice {
  queue: string;
  reason: string;
}
