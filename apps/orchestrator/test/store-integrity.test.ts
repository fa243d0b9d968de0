// Issue 20 item 3 end to end: the real steps on a real Temporal server (tiny Llama and BERT fixtures, two
// 12-item sets). A stored zoo snapshot whose floats were overwritten (top byte 0x7f, as the probe did) is
// not reused by the next run: the entry is quarantined and recomputed (bit-identical snapshots), and the
// report is made from the recomputed zoo.
import * as fs from 'fs';
import * as path from 'path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { LocalArtifactStore, mergeConfig, sha256File } from '@dnd/core';
import { tinyBertFixtureDir } from '@dnd/encoder';
import { startPipeline } from '../src/client';
import { createRealSteps, REAL_STEP_DEFAULTS } from '../src/real-steps';
import type { PipelineResult, RunConfig } from '../src/types';
import { createDndWorker } from '../src/worker';
import { bundleWorkflows, DATA_DIR, startLocalEnv, testConfig, tmpDir } from './support/env';

const TINY_LLAMA = path.resolve(__dirname, '..', '..', '..', 'packages', 'lm', 'test', 'fixtures', 'llama');

let env: TestWorkflowEnvironment;
let bundle: { code: string; codePath: string };
const work = tmpDir('store-integrity');

beforeAll(async () => {
  [env, bundle] = await Promise.all([startLocalEnv(), bundleWorkflows(work)]);
});
afterAll(async () => {
  await env?.teardown();
});

function tinyConfig(root: string): RunConfig {
  const c = testConfig(path.join(root, 'artifacts'), 'integrity');
  c.dataDir = path.join(root, 'data');
  for (const set of ['boolq', 'openbookqa']) {
    fs.mkdirSync(path.join(c.dataDir, set), { recursive: true });
    for (const split of ['train', 'test']) {
      const items = JSON.parse(fs.readFileSync(path.join(DATA_DIR, set, `${split}.json`), 'utf8')) as unknown[];
      fs.writeFileSync(path.join(c.dataDir, set, `${split}.json`), JSON.stringify(items.slice(0, 12)));
    }
  }
  c.temporal.heartbeatTimeoutSec = 30;
  c.temporal.retry.maximumAttempts = 2;
  c.steps = mergeConfig(REAL_STEP_DEFAULTS, {
    collectSet: { model: TINY_LLAMA, rank: 2, loraAlpha: 4, targetModules: ['q_proj', 'v_proj'], warmupSteps: 2, snapshotSteps: 3, warmupLr: 1e-2, lr: 1e-3, batchSize: 2, maxSeqLen: 48 },
    trainGenerator: { encoder: tinyBertFixtureDir(), promptsPerPair: 4, textLength: 8, poolPerSet: 8, layers: 2, batchSize: 2, train: { totalSteps: 2, lr: 1e-3, checkpointEvery: 2 } },
    evaluate: { samples: 1, evaluator: { scorer: 'loglik', maxItemsPerSet: 6, crossMatrix: false } },
  }, 'steps') as unknown as RunConfig['steps'];
  return c;
}

it('a corrupted stored zoo snapshot is not reused: quarantined, recomputed bit-identical, the report made from the recomputed zoo', async () => {
  const config = tinyConfig(tmpDir('store-integrity-run'));
  const store = new LocalArtifactStore(config.artifactsDir);
  const steps = createRealSteps();
  const worker = await createDndWorker({ connection: env.nativeConnection, role: 'cpu', taskQueue: config.temporal.cpuQueue, store, steps, workflowBundle: { code: bundle.code } });
  const run = async (runId: string) => (await (await startPipeline(env.client, { runId, preset: null, config, runDir: path.join(config.runsDir, runId), address: env.address })).result()) as PipelineResult;
  const [first, second] = await worker.runUntil(async () => {
    const r1 = await run('integrity-1');
    const boolq = r1.zoo.find((z) => z.set === 'boolq')!.result;
    fs.cpSync(await store.resolve(boolq.ref), path.join(work, 'zoo-copy'), { recursive: true });
    const file = path.join(await store.resolve(boolq.ref), 'snapshots', 'step-0003', 'adapter_model.safetensors');
    const buf = fs.readFileSync(file);
    for (let i = 8 + Number(buf.readBigUInt64LE(0)) + 3; i < buf.length; i += 4) buf[i] = 0x7f; // every float ~1e38
    fs.writeFileSync(file, buf);
    return [r1, await run('integrity-2')];
  });
  steps.release();

  const key = first.zoo.find((z) => z.set === 'boolq')!.result.key;
  const again = second.zoo.find((z) => z.set === 'boolq')!.result;
  expect(again.cached).toBe(false); // recomputed, not reused
  expect(again.key).toBe(key);
  const quarantined = fs.readdirSync(path.join(config.artifactsDir, 'quarantine'));
  expect(quarantined).toHaveLength(1);
  expect(quarantined[0]!.startsWith(`${key}-`)).toBe(true);
  expect(store.verifyEntry(key)).toEqual({ key, ok: true });
  // Collection is seeded: the recomputed snapshots are the first run's bytes (only manifest.json's
  // updatedAt differs), where the corrupt copy had every float near 1e38.
  const files = (dir: string): Map<string, string> => new Map(fs.readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile() && d.name !== 'manifest.json')
    .map((d) => [path.relative(dir, path.join(d.parentPath, d.name)), sha256File(path.join(d.parentPath, d.name))]));
  const before = files(path.join(work, 'zoo-copy'));
  expect(before.size).toBeGreaterThan(3);
  expect(files(path.join(store.entryDir(key), 'data'))).toEqual(before);
  expect(second.report.cached).toBe(false); // the report was made from the recomputed zoo, not the corrupt one
});
