// createActivities(deps): the activities the dnd workflows call, as thin wrappers over the step
// functions (src/step-contract.ts) plus queue choice, aliases and the run manifest.
// Not the steps' logic, and nothing Temporal-specific beyond the activity context.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { artifactKey, digestPath, LocalArtifactStore, sha256Hex, writeRunManifest, type ArtifactRef, type ArtifactStore, type RunManifest } from '@dnd/core';
import { setDirOf } from '../config';
import type { RunMeta, StepFunctions } from '../step-contract';
import type { QueueChoice, RunConfig, StepResult, ZooEntry } from '../types';
import { runStep } from './run-step';
import { StepSlot } from './step-slot';
import { DEFAULT_WORK_SYNC_MS } from './work-sync';
import { packageVersions } from './versions';

/** What the activities are built from: the store, the steps, and facts about this worker. */
export interface ActivityDeps {
  store: ArtifactStore;
  steps: StepFunctions;
  /** The task queue this worker polls (recorded in results). */
  queue: string;
  /** Tensor backend in use by this worker, once known (null when no tensor work ran here). */
  backend?: () => Promise<string | null>;
  /** Parent of StepContext.workDir (default: `<store root>/work` for a LocalArtifactStore, else the OS temp dir). */
  workRoot?: string;
  /**
   * Copy each step's work folder to the store at most this often, so a retry on another host resumes from it
   * (activities/work-sync.ts); null: never. Default: every 30 s for a store other than a LocalArtifactStore
   * (whose work folders live on its own disk), never for a LocalArtifactStore.
   */
  workSyncMs?: number | null;
  /** This worker's event-loop delay so far (ms), recorded in each run manifest it writes. */
  eventLoopDelay?: () => EventLoopDelay;
}

/** Event-loop delay of a worker process since it started, in milliseconds. */
export interface EventLoopDelay {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Who measured it (worker identity) and since when. */
  worker: string;
  since: string;
}

/** Media type of a run manifest in the store. */
export const MANIFEST_MEDIA_TYPE = 'application/vnd.dnd.run-manifest+json';

/** Alias that every trainGenerator output is recorded under; nightlyEvaluation reads it. */
export const LATEST_GENERATOR_ALIAS = 'latest-generator';

function setDigest(config: RunConfig, set: string): string {
  const dir = setDirOf(config, set);
  if (!fs.existsSync(dir)) {
    throw ApplicationFailure.create({ message: `task set "${set}" not found: ${dir} does not exist`, type: 'BadInput', nonRetryable: true });
  }
  return digestPath(dir).sha256;
}

function refsOf(meta: Record<string, unknown>): ArtifactRef[] {
  return Array.isArray(meta['checkpoints']) ? (meta['checkpoints'] as ArtifactRef[]) : [];
}

/**
 * Builds the activity functions for one worker.
 * @example new Worker({ ..., activities: createActivities({ store, steps: createStepFunctions(), queue: 'dnd-cpu' }) })
 */
export function createActivities(deps: ActivityDeps) {
  const { store, steps } = deps;
  const workRoot = deps.workRoot ?? (store instanceof LocalArtifactStore ? path.join(store.root, 'work') : path.join(os.tmpdir(), 'dnd-work'));
  const workSyncMs = deps.workSyncMs !== undefined ? deps.workSyncMs : store instanceof LocalArtifactStore ? null : DEFAULT_WORK_SYNC_MS;
  const env = { store, workRoot, queue: deps.queue, backend: deps.backend ?? (async () => null), slot: new StepSlot(), workSyncMs };
  const check = (name: keyof NonNullable<StepFunctions['validate']>, cfg: Record<string, unknown>) => () => steps.validate?.[name]?.(cfg);

  return {
    /** Collects one set's LoRA snapshots; resumable snapshot by snapshot. */
    async collectSet(args: { set: string; config: RunConfig }): Promise<StepResult> {
      const { set, config } = args;
      const cfg = config.steps.collectSet;
      return runStep(env, {
        step: 'collectSet', version: steps.versions.collectSet, keyConfig: { set, cfg, seed: config.seed },
        inputDigests: [setDigest(config, set)], mediaType: 'application/vnd.dnd.zoo-set+dir', validate: check('collectSet', cfg),
        input: { set, dir: setDirOf(config, set), config: cfg, seed: config.seed },
      }, steps.collectSet);
    },

    /** Builds the prompt-checkpoint pairs from every set's snapshots. */
    async buildPairs(args: { zoo: ZooEntry[]; config: RunConfig }): Promise<StepResult> {
      const { zoo, config } = args;
      if (zoo.length === 0) throw ApplicationFailure.create({ message: 'buildPairs: the zoo is empty', type: 'BadInput', nonRetryable: true });
      const cfg = config.steps.buildPairs;
      const sorted = [...zoo].sort((a, b) => a.set.localeCompare(b.set));
      return runStep(env, {
        step: 'buildPairs', version: steps.versions.buildPairs, keyConfig: { cfg, seed: config.seed, sets: sorted.map((z) => z.set) },
        inputDigests: sorted.map((z) => z.result.ref.sha256), mediaType: 'application/vnd.dnd.pairs+dir', validate: check('buildPairs', cfg),
        input: { zoo: sorted.map((z) => ({ set: z.set, output: z.result.ref, snapshots: refsOf(z.result.meta) })), dataDir: config.dataDir, config: cfg, seed: config.seed },
      }, steps.buildPairs);
    },

    /** Trains the generator on the pairs; resumable checkpoint by checkpoint; records the latest-generator alias. */
    async trainGenerator(args: { pairs: StepResult; config: RunConfig }): Promise<StepResult> {
      const { pairs, config } = args;
      const cfg = config.steps.trainGenerator;
      const heldOut = [...config.heldOut].sort();
      const result = await runStep(env, {
        step: 'trainGenerator', version: steps.versions.trainGenerator, keyConfig: { cfg, seed: config.seed, heldOut },
        inputDigests: [pairs.ref.sha256], mediaType: 'application/vnd.dnd.generator+dir', validate: check('trainGenerator', cfg),
        input: { pairs: pairs.ref, heldOut, config: cfg, seed: config.seed },
      }, steps.trainGenerator);
      const rec = await store.get(result.key);
      if (rec) await store.setAlias(LATEST_GENERATOR_ALIAS, rec);
      return result;
    },

    /** Scores a generator on sets; the output is the report directory. */
    async evaluate(args: { generator: ArtifactRef; sets: string[]; config: RunConfig; run?: RunMeta }): Promise<StepResult> {
      const { generator, sets, config } = args;
      if (sets.length === 0) throw ApplicationFailure.create({ message: 'evaluate: no sets to evaluate', type: 'BadInput', nonRetryable: true });
      const cfg = config.steps.evaluate;
      const sorted = [...sets].sort();
      // The diagnostics' probes come from the training sets' prompts (and score on their test items): then
      // every set of the config is read, and its contents are part of the key.
      const diag = (cfg as { diagnostics?: { promptSwap?: boolean; inDistribution?: boolean } }).diagnostics;
      const read = diag?.promptSwap || diag?.inDistribution ? [...new Set([...sorted, ...config.sets])].sort() : sorted;
      return runStep(env, {
        step: 'evaluate', version: steps.versions.evaluate, keyConfig: { cfg, seed: config.seed, sets: sorted },
        inputDigests: [generator.sha256, ...read.map((s) => setDigest(config, s))], mediaType: 'application/vnd.dnd.report+dir',
        validate: check('evaluate', cfg),
        input: { ...(args.run ? { run: args.run } : {}), generator, sets: sorted, setDirs: Object.fromEntries(read.map((s) => [s, setDirOf(config, s)])), config: cfg, seed: config.seed },
      }, steps.evaluate);
    },

    /** The generator an alias points at, or a non-retryable failure when none was trained yet. */
    async resolveAlias(name: string): Promise<ArtifactRef> {
      const rec = await store.getAlias(name);
      if (!rec) throw ApplicationFailure.create({ message: `no artifact is recorded under alias "${name}" (run a pipeline first)`, type: 'BadInput', nonRetryable: true });
      return rec.ref;
    },

    /**
     * Chooses the GPU queue when a worker polled it within `windowSec`, else the CPU queue. Presence is
     * Temporal's own poller list (DescribeTaskQueue): a GPU worker is present while it long-polls its queue.
     */
    async pickQueue(args: { cpuQueue: string; gpuQueue: string; windowSec: number; namespace: string }): Promise<QueueChoice> {
      const client = Context.current().client;
      const res = await client.workflowService.describeTaskQueue({
        namespace: args.namespace, taskQueue: { name: args.gpuQueue, kind: 1 /* NORMAL */ }, taskQueueType: 2, /* ACTIVITY */
      });
      const now = Date.now();
      const fresh = (res.pollers ?? []).filter((p) => {
        const t = p.lastAccessTime;
        const ms = t ? Number(t.seconds ?? 0) * 1000 + Math.floor((t.nanos ?? 0) / 1e6) : 0;
        return now - ms <= args.windowSec * 1000;
      });
      if (fresh.length > 0) return { queue: args.gpuQueue, reason: `${fresh.length} GPU worker(s) polled ${args.gpuQueue} within ${args.windowSec}s (${fresh.map((p) => p.identity).join(', ')})` };
      return { queue: args.cpuQueue, reason: `no worker polled ${args.gpuQueue} within ${args.windowSec}s` };
    },

    /**
     * Writes `<runDir>/manifest.json` (versions, config, seeds, backends, artifacts, workflow ids) on this worker's
     * host, and the same file into the store, so that a client on another host can place it beside its run.
     */
    async writeManifest(args: Omit<RunManifest, 'manifestVersion' | 'createdAt' | 'packages'> & { runDir: string }): Promise<{ path: string; ref: ArtifactRef }> {
      const { runDir, ...rest } = args;
      const eventLoop = deps.eventLoopDelay?.();
      const manifest: RunManifest = { manifestVersion: 1, createdAt: new Date().toISOString(), packages: packageVersions(), ...rest, ...(eventLoop ? { eventLoop } : {}) };
      let file = path.join(runDir, 'manifest.json');
      try {
        file = writeRunManifest(runDir, manifest);
      } catch (e) {
        // runDir is the client's path: on a worker of another host it may not be writable. The store copy is what counts there.
        if (typeof (e as NodeJS.ErrnoException).code !== 'string') throw e;
        Context.current().log.warn(`writeManifest: not written at ${file} on this host (${(e as Error).message}); the client places the store copy`);
      }
      const text = `${JSON.stringify(manifest, null, 2)}\n`;
      const rec = await store.put(artifactKey('runManifest', '1', { runId: rest.runId }, [sha256Hex(text)]), text, MANIFEST_MEDIA_TYPE, { runId: rest.runId });
      return { path: file, ref: rec.ref };
    },
  };
}

/** The activity functions, for `proxyActivities<DndActivities>` in workflows (import type only). */
export type DndActivities = ReturnType<typeof createActivities>;
