// The contract between the orchestrator and the packages' pipeline steps: what each step function
// takes, what it may call back (checkpoints, heartbeats, cancellation) and where it writes.
// Not an implementation: src/step-selection.ts wires the real @dnd/* functions, src/demo-steps.ts tiny ones.
import type { ArtifactRef } from '@dnd/core';

/** StepContext.cacheDir's name under the work root (work directories are named by step keys: hex, never this). */
export const STEP_CACHE_DIR = '.step-cache';

/**
 * Services a step function gets from the activity that runs it.
 * Checkpoints make long steps resumable: a step that produces units in order (zoo snapshots, training
 * checkpoints) saves each finished unit with `checkpoint`, and on start continues after `resume.done`
 * from the state stored in `resume.last`. Units are stored under keys derived from the step's own key,
 * so a unit that exists is never written twice.
 */
export interface StepContext {
  /** Units [0, done) are finished; `last` is unit done-1 (null when done = 0). Computed from the
   *  last heartbeat of a previous attempt and from the store, whichever is further. */
  readonly resume: { done: number; last: ArtifactRef | null };
  /**
   * Stores unit `index` (0-based, in order) that `write(dir)` puts into an empty directory; heartbeats
   * `{done: index + 1, total, last}`. Returns the stored reference (the existing one when already stored).
   */
  checkpoint(index: number, total: number, write: (dir: string) => Promise<void>): Promise<ArtifactRef>;
  /**
   * A directory kept across attempts and worker restarts (same store), removed once the output is
   * stored: for steps that resume from their own files (e.g. @dnd/dataset collectSet's set folder,
   * @dnd/decoder trainDecoder's checkpointDir). Such a step moves or copies its result into `outDir`.
   */
  readonly workDir: string;
  /**
   * A host-local directory shared by every step this worker runs and kept after them: for caches that make a
   * step faster (the evaluate step's scoring calls, reused across the folds of a leave-one-out run), never for
   * anything a step needs (another host has its own, and it may be emptied at any time). Absent: no cache.
   */
  readonly cacheDir?: string;
  /**
   * Heartbeats progress `{done, total, last}` for steps that keep their own checkpoints (no store unit). Call it
   * between units, where workDir is consistent: a step run in its own process (as `dnd run` and `dnd worker`
   * run them) may copy workDir to the store there (`workSyncMs`).
   */
  progress(done: number, total: number, note?: string): void;
  /**
   * Set when the store is not on a disk every host shares (S3): workDir is then copied to the store at
   * progress calls, at most this often, so an attempt on another host resumes from it (activities/work-sync.ts).
   */
  readonly workSyncMs?: number;
  /** Uploads a staged copy of workDir (activities/work-sync.ts stageWork) in the background; takes ownership of it. */
  saveWork?(staged: string): void;
  /** A local path with the content of a reference (a file or a directory). */
  resolve(ref: ArtifactRef): Promise<string>;
  /** Liveness inside a long unit: call at least every few seconds (heartbeat timeout is in the config). */
  heartbeat(note?: string): void;
  /** Aborted when Temporal cancels the activity or the worker shuts down: stop at the next safe point. */
  readonly signal: AbortSignal;
  log(message: string): void;
}

/** Input of collectSet: train LoRA on one task set and save its snapshots (method §1). */
export interface CollectSetInput {
  /** Set name. */
  set: string;
  /** The set's folder (train.json / test.json). */
  dir: string;
  /** The step's own config section (merged onto its defaults; validated by the step). */
  config: Record<string, unknown>;
  seed: number;
}

/** Input of buildPairs: zoo snapshots x prompt batches -> the training table (method §2). */
export interface BuildPairsInput {
  /** Each set's collectSet output directory and the snapshot references inside it. */
  zoo: Array<{ set: string; output: ArtifactRef; snapshots: ArtifactRef[] }>;
  dataDir: string;
  config: Record<string, unknown>;
  seed: number;
}

/** Input of trainGenerator: fit the prompt-to-weights decoder on the pairs (method §3-5). */
export interface TrainGeneratorInput {
  pairs: ArtifactRef;
  /** Sets whose pairs must be excluded from training (zero-shot evaluation targets). */
  heldOut: string[];
  config: Record<string, unknown>;
  seed: number;
}

/** What a report says about the run that made it (not part of the step's key: a reused report keeps its own). */
export interface RunMeta {
  runId?: string;
  preset?: string;
  /** When the run started, ISO 8601. */
  date?: string;
  /** The code's git commit, when the command ran from a checkout. */
  commit?: string;
  /** sha256 of the run's canonical config. */
  configDigest?: string;
  /** Wall seconds of the steps before evaluate (the pipeline workflow's clock). */
  stepSeconds?: { step: string; seconds: number }[];
}

/** Input of evaluate: generate LoRA for each set's prompts and score them (method §6). */
export interface EvaluateInput {
  /** The run, for the report's header. */
  run?: RunMeta;
  generator: ArtifactRef;
  sets: string[];
  /** Each evaluated set's folder, by name. */
  setDirs: Record<string, string>;
  config: Record<string, unknown>;
  seed: number;
}

/** A pipeline step: writes its output into `outDir` (empty, later renamed into the store) and returns a
 *  small JSON summary. Throw an Error with `name = 'BadInputError'` for input that can never succeed. */
export type StepFunction<I> = (input: I, outDir: string, ctx: StepContext) => Promise<Record<string, unknown> | void>;

/** The four steps the pipeline runs, with their default configs and versions (part of every cache key). */
export interface StepFunctions {
  collectSet: StepFunction<CollectSetInput>;
  buildPairs: StepFunction<BuildPairsInput>;
  trainGenerator: StepFunction<TrainGeneratorInput>;
  evaluate: StepFunction<EvaluateInput>;
  /** Default config per step; presets override fields of these (unknown fields are an error). */
  defaults: { collectSet: Record<string, unknown>; buildPairs: Record<string, unknown>; trainGenerator: Record<string, unknown>; evaluate: Record<string, unknown> };
  /** Bump a step's version when its output for the same input changes: old cache entries stop matching. */
  versions: { collectSet: string; buildPairs: string; trainGenerator: string; evaluate: string };
  /** Optional config validation per step; a throw becomes a non-retryable failure naming the field. */
  validate?: Partial<Record<StepName, (config: Record<string, unknown>) => void>>;
}

export type StepName = 'collectSet' | 'buildPairs' | 'trainGenerator' | 'evaluate';

/** Input that can never succeed: @dnd/core's one BadInputError (non-retryable; mapped in activities/run-step.ts). */
export { BadInputError } from '@dnd/core';
