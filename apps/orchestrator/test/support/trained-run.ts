// A finished pipeline run on tiny real parts, made by calling the real steps (src/real-steps/) in order
// without Temporal: @dnd/lm's tiny Llama collects 3 snapshots per set on two 12-item sets, pairs, a 2-layer
// decoder trained for 4 steps on the tiny BERT's conditions, and the evaluate step's generated LoRAs and
// report; stored in a LocalArtifactStore with the run directory (config.json, manifest.json) and the
// latest-generator alias as `dnd run` leaves them. Test support only (what dnd export-generator reads).
import * as fs from 'fs';
import * as path from 'path';
import { fileURLToPath } from 'url';
import { artifactKey, LocalArtifactStore, mergeConfig, writeRunManifest, type ArtifactRef } from '@dnd/core';
import { tinyBertFixtureDir } from '@dnd/encoder';
import { LATEST_GENERATOR_ALIAS } from '../../src/activities';
import { createRealSteps, REAL_STEP_DEFAULTS } from '../../src/real-steps';
import { saveRun } from '../../src/session';
import type { StepContext } from '../../src/step-contract';
import type { RunConfig } from '../../src/types';
import { DATA_DIR, testConfig } from './env';
import { TINY_LLAMA } from './tiny-generator';

export interface TrainedRun {
  runId: string;
  runsDir: string;
  artifactsDir: string;
  seed: number;
  generator: ArtifactRef;
  report: ArtifactRef;
  setDirs: Record<string, string>;
}

function ctxFor(workDir: string): StepContext {
  fs.mkdirSync(workDir, { recursive: true });
  return {
    resume: { done: 0, last: null }, workDir, signal: new AbortController().signal,
    checkpoint: async () => { throw new Error('the real steps keep their own checkpoints'); },
    progress: () => undefined, heartbeat: () => undefined, log: () => undefined,
    resolve: async (ref) => fileURLToPath(ref.uri),
  };
}

/** Runs collect -> pairs -> train -> evaluate under `root` and records the run `runId`. */
export async function makeTrainedRun(root: string, runId = 'tiny-run'): Promise<TrainedRun> {
  const setDirs: Record<string, string> = {};
  for (const set of ['boolq', 'openbookqa']) {
    setDirs[set] = path.join(root, 'data', set);
    fs.mkdirSync(setDirs[set]!, { recursive: true });
    for (const split of ['train', 'test']) {
      const items = JSON.parse(fs.readFileSync(path.join(DATA_DIR, set, `${split}.json`), 'utf8')) as unknown[];
      fs.writeFileSync(path.join(setDirs[set]!, `${split}.json`), JSON.stringify(items.slice(0, 12)));
    }
  }
  const config: RunConfig = testConfig(path.join(root, 'artifacts'), 'export');
  config.dataDir = path.join(root, 'data');
  config.runsDir = path.join(root, 'runs');
  config.sets = ['boolq', 'openbookqa'];
  config.heldOut = ['openbookqa'];
  config.steps = mergeConfig(REAL_STEP_DEFAULTS, {
    collectSet: { model: TINY_LLAMA, rank: 2, loraAlpha: 4, targetModules: ['q_proj', 'v_proj'], warmupSteps: 2, snapshotSteps: 3, warmupLr: 1e-2, lr: 1e-3, batchSize: 2, maxSeqLen: 48 },
    trainGenerator: { encoder: tinyBertFixtureDir(), promptsPerPair: 4, textLength: 8, poolPerSet: 8, layers: 2, batchSize: 2, train: { totalSteps: 4, lr: 1e-3, checkpointEvery: 2 } },
    evaluate: { samples: 1, evaluator: { scorer: 'loglik', maxItemsPerSet: 4, crossMatrix: false } },
  }, 'steps') as unknown as RunConfig['steps'];
  const steps = createRealSteps();
  const store = new LocalArtifactStore(config.artifactsDir);
  const cfg = config.steps as unknown as Record<string, Record<string, unknown>>;
  const put = async (step: string, deps: string[], fn: (dir: string) => Promise<unknown>) =>
    store.putDir(artifactKey(step, 'test', cfg[step], deps), `application/vnd.dnd.${step}+dir`, async (dir) => { await fn(dir); });
  try {
    const zoo: Array<{ set: string; output: ArtifactRef; snapshots: ArtifactRef[] }> = [];
    for (const set of config.sets) {
      const rec = await put('collectSet', [set], (dir) => steps.collectSet({ set, dir: setDirs[set]!, config: cfg['collectSet']!, seed: config.seed }, dir, ctxFor(path.join(root, 'work', set))));
      zoo.push({ set, output: rec.ref, snapshots: [] });
    }
    const pairs = await put('buildPairs', zoo.map((z) => z.output.sha256), (dir) => steps.buildPairs({ zoo, dataDir: config.dataDir, config: cfg['buildPairs']!, seed: config.seed }, dir, ctxFor(path.join(root, 'work', 'pairs'))));
    const generator = await put('trainGenerator', [pairs.ref.sha256], (dir) => steps.trainGenerator({ pairs: pairs.ref, heldOut: config.heldOut, config: cfg['trainGenerator']!, seed: config.seed }, dir, ctxFor(path.join(root, 'work', 'train'))));
    await store.setAlias(LATEST_GENERATOR_ALIAS, generator);
    const report = await put('evaluate', [generator.ref.sha256], (dir) => steps.evaluate({ generator: generator.ref, sets: ['openbookqa'], setDirs, config: cfg['evaluate']!, seed: config.seed }, dir, ctxFor(path.join(root, 'work', 'evaluate'))));
    const runDir = path.join(config.runsDir, runId);
    fs.mkdirSync(runDir, { recursive: true });
    saveRun(runDir, { runId, preset: null, config, workflow: 'dndPipeline' });
    const artifacts: Record<string, ArtifactRef> = { pairs: pairs.ref, generator: generator.ref, report: report.ref };
    for (const z of zoo) artifacts[`zoo/${z.set}`] = z.output;
    writeRunManifest(runDir, {
      manifestVersion: 1, runId, createdAt: new Date().toISOString(), packages: {}, preset: null, config, seeds: { all: config.seed },
      backend: {}, artifacts, temporal: { address: 'none', namespace: 'default', workflowIds: [] },
    });
    return { runId, runsDir: config.runsDir, artifactsDir: config.artifactsDir, seed: config.seed, generator: generator.ref, report: report.ref, setDirs };
  } finally {
    steps.release();
  }
}
