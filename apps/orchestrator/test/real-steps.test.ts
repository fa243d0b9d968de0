// The real steps (src/real-steps/) end to end through a real Temporal dev server on tiny real parts:
// @dnd/lm's tiny Llama fixture (HF dir), @dnd/encoder's tiny BERT fixture, two 12-item sets, a 2-layer
// decoder chain. Checks what each step hands the next, the report, that a re-run computes nothing, and that a
// generator training attempt that dies is retried from its last checkpoint.
import * as fs from 'fs';
import * as path from 'path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { LocalArtifactStore, mergeConfig, readPeftAdapter } from '@dnd/core';
import { tinyBertFixtureDir } from '@dnd/encoder';
import type { CausalLM } from '@dnd/lm';
import { loadCausalLM } from '@dnd/lm';
import { startPipeline } from '../src/client';
import { createRealSteps, REAL_STEP_DEFAULTS } from '../src/real-steps';
import type { PipelineResult, RunConfig } from '../src/types';
import { createDndWorker } from '../src/worker';
import { bundleWorkflows, DATA_DIR, startLocalEnv, testConfig, tmpDir } from './support/env';

const TINY_LLAMA = path.resolve(__dirname, '..', '..', '..', 'packages', 'lm', 'test', 'fixtures', 'llama');

let env: TestWorkflowEnvironment;
let bundle: { code: string; codePath: string };
const work = tmpDir('real');

beforeAll(async () => {
  [env, bundle] = await Promise.all([startLocalEnv(), bundleWorkflows(work)]);
});
afterAll(async () => {
  await env?.teardown();
});

/** Two small sets (12 train + 12 test items each) copied from the shared data, in the same format. */
function tinySets(dir: string): string {
  for (const set of ['boolq', 'openbookqa']) {
    fs.mkdirSync(path.join(dir, set), { recursive: true });
    for (const split of ['train', 'test']) {
      const items = JSON.parse(fs.readFileSync(path.join(DATA_DIR, set, `${split}.json`), 'utf8')) as unknown[];
      fs.writeFileSync(path.join(dir, set, `${split}.json`), JSON.stringify(items.slice(0, 12)));
    }
  }
  return dir;
}

function tinyConfig(root: string): RunConfig {
  const c = testConfig(path.join(root, 'artifacts'), 'real');
  c.dataDir = tinySets(path.join(root, 'data'));
  c.temporal.heartbeatTimeoutSec = 30;
  c.temporal.retry.maximumAttempts = 2;
  c.steps = mergeConfig(REAL_STEP_DEFAULTS, {
    collectSet: { model: TINY_LLAMA, rank: 2, loraAlpha: 4, targetModules: ['q_proj', 'v_proj'], warmupSteps: 2, snapshotSteps: 3, warmupLr: 1e-2, lr: 1e-3, batchSize: 2, maxSeqLen: 48 },
    trainGenerator: { encoder: tinyBertFixtureDir(), promptsPerPair: 4, textLength: 8, poolPerSet: 8, layers: 2, batchSize: 2, train: { totalSteps: 4, lr: 1e-3, checkpointEvery: 2 } },
    evaluate: { samples: 2, evaluator: { scorer: 'loglik', maxItemsPerSet: 6, crossMatrix: false } },
  }, 'steps') as unknown as RunConfig['steps'];
  return c;
}

describe('the real steps on a real server', () => {
  const root = tmpDir('real-e2e');

  it('collect -> pairs -> generator -> generated LoRAs -> report, then a cached re-run', async () => {
    const config = tinyConfig(root);
    const store = new LocalArtifactStore(config.artifactsDir);
    const loads: string[] = [];
    const steps = createRealSteps({ loadModel: async (dir): Promise<CausalLM> => { loads.push(dir); return loadCausalLM(dir); } });
    const worker = await createDndWorker({ connection: env.nativeConnection, role: 'cpu', taskQueue: config.temporal.cpuQueue, store, steps, workflowBundle: { code: bundle.code } });
    const input = (runId: string) => ({ runId, preset: null, config, runDir: path.join(config.runsDir, runId), address: env.address });
    const [first, second] = await worker.runUntil(async () => {
      const r1 = (await (await startPipeline(env.client, input('real-1'))).result()) as PipelineResult;
      const r2 = (await (await startPipeline(env.client, input('real-2'))).result()) as PipelineResult;
      return [r1, r2];
    });
    steps.release();

    // Zoo: 3 PEFT snapshots per set, made on the tiny Llama.
    expect(first.zoo.map((z) => [z.set, z.result.meta['snapshots']])).toEqual([['boolq', 3], ['openbookqa', 3]]);
    const zooDir = await store.resolve(first.zoo[0]!.result.ref);
    const snap = readPeftAdapter(path.join(zooDir, 'snapshots', 'step-0003'));
    // The adapter names its base by the folder's name, never a host path (adapters travel; issue 20 item 7).
    expect(snap.config).toMatchObject({ r: 2, targetModules: ['q_proj', 'v_proj'], baseModelNameOrPath: path.basename(TINY_LLAMA) });
    // Pairs over both sets; the generator trained on boolq only (openbookqa held out).
    expect(first.pairs.meta['sets']).toEqual(['boolq', 'openbookqa']);
    expect(first.generator.meta).toMatchObject({ steps: 4, trainSets: ['boolq'] });
    expect(Number.isFinite(first.generator.meta['loss'] as number)).toBe(true);
    // Report: 2 generated LoRAs for openbookqa, scored beside the base model and the boolq LoRA.
    const reportDir = await store.resolve(first.report.ref);
    for (const f of ['results.json', 'report.md', 'report.html', 'predictions.arrow', 'generation.json']) expect(fs.existsSync(path.join(reportDir, f))).toBe(true);
    const generated = readPeftAdapter(path.join(reportDir, 'generated', 'openbookqa-1'));
    expect([...generated.tensors.keys()].sort()).toEqual([...snap.tensors.keys()].sort());
    const results = JSON.parse(fs.readFileSync(path.join(reportDir, 'results.json'), 'utf8'));
    expect(results.heldOut).toHaveLength(1);
    expect(results.heldOut[0]).toMatchObject({ set: 'openbookqa', n: 6, loraMean: { count: 1 }, generated: { k: 2, numPrompts: 4 } });
    expect(first.report.meta['heldOut']).toEqual([expect.objectContaining({ set: 'openbookqa', n: 6 })]);
    // The report's header has the wall time of every step before it, from the pipeline workflow's clock.
    expect(results.runInfo.stepSeconds.map((x: { step: string }) => x.step)).toEqual(['zoo', 'pairs', 'train']);
    expect(results.runInfo.stepSeconds.every((x: { seconds: number }) => x.seconds > 0)).toBe(true);
    expect(fs.readFileSync(path.join(reportDir, 'report.md'), 'utf8')).toMatch(/\| wall time per step \| zoo .*; pairs .*; train .*; total /);
    // One model load served both collections and the evaluation.
    expect(loads).toEqual([TINY_LLAMA]);
    // Same config again: every output from the store.
    for (const s of [...second.zoo.map((z) => z.result), second.pairs, second.generator, second.report]) expect(s.cached).toBe(true);
    expect(second.report.ref).toEqual(first.report.ref);
  });

  it('the diagnostics: probe LoRAs from the training set\'s prompts, scored by prompt swap on the held-out set and in distribution on their own set', async () => {
    const config = tinyConfig(root); // same store: zoo, pairs and generator come from the first test when it ran
    config.steps.evaluate['diagnostics'] = { promptSwap: true, inDistribution: true, samples: 2 };
    const store = new LocalArtifactStore(config.artifactsDir);
    const steps = createRealSteps();
    const worker = await createDndWorker({ connection: env.nativeConnection, role: 'cpu', taskQueue: config.temporal.cpuQueue, store, steps, workflowBundle: { code: bundle.code } });
    const r = await worker.runUntil(async () => (await (await startPipeline(env.client, { runId: 'real-diag', preset: null, config, runDir: path.join(config.runsDir, 'real-diag'), address: env.address })).result()) as PipelineResult);
    steps.release();
    expect(r.report.cached).toBe(false); // the diagnostics are part of the evaluate step's key
    const reportDir = await store.resolve(r.report.ref);
    // Two probes from boolq's prompts (its only training set), PEFT adapters beside the regular generated ones.
    expect(fs.readdirSync(path.join(reportDir, 'probes')).sort()).toEqual(['boolq-0', 'boolq-1']);
    const results = JSON.parse(fs.readFileSync(path.join(reportDir, 'results.json'), 'utf8'));
    // The training set's test items were scored too (in distribution), the held-out set stays the only column.
    expect(results.sets.map((s: { name: string }) => s.name).sort()).toEqual(['boolq', 'openbookqa']);
    expect(results.heldOut.map((h: { set: string }) => h.set)).toEqual(['openbookqa']);
    const [p] = results.protocols;
    expect(p.promptSwap).toEqual([expect.objectContaining({ set: 'openbookqa', rows: [expect.objectContaining({ promptsFrom: 'openbookqa', own: true, k: 2 }), expect.objectContaining({ promptsFrom: 'boolq', own: false, k: 2 })] })]);
    expect(p.inDistribution).toEqual([expect.objectContaining({ set: 'boolq', generated: expect.objectContaining({ k: 2 }) })]);
    expect(p.inDistribution[0].cosine).toBeGreaterThanOrEqual(-1);
    expect(p.inDistribution[0].cosine).toBeLessThanOrEqual(1);
    // Each probe was scored where it belongs (once per protocol): swap probes on openbookqa, in-distribution probes on boolq.
    expect(results.protocols.map((x: { protocol: string }) => x.protocol)).toEqual(['paper', 'knowledge']);
    const probeCells = results.cells.filter((c: { adapter: string; protocol: string }) => c.protocol === 'knowledge' && (c.adapter.startsWith('swap:') || c.adapter.startsWith('indist:')));
    expect(probeCells.map((c: { adapter: string; set: string }) => `${c.adapter}@${c.set}`).sort()).toEqual([
      'indist:boolq#0@boolq', 'indist:boolq#1@boolq', 'swap:boolq->openbookqa#0@openbookqa', 'swap:boolq->openbookqa#1@openbookqa',
    ]);
    const gen = JSON.parse(fs.readFileSync(path.join(reportDir, 'generation.json'), 'utf8'));
    expect(gen.diagnostics).toEqual({ promptSwap: true, inDistribution: true, samples: 2, probeSets: ['boolq'] });
    expect(fs.readFileSync(path.join(reportDir, 'report.md'), 'utf8')).toMatch(/[Pp]rompt swap/);
  });

  it('a generator training attempt that dies after a checkpoint is retried from that checkpoint (ctx.workDir)', async () => {
    const config = tinyConfig(root); // same store: zoo and pairs come from the first test
    (config.steps.trainGenerator['train'] as Record<string, unknown>)['totalSteps'] = 6;
    const store = new LocalArtifactStore(config.artifactsDir);
    const steps = createRealSteps();
    const real = steps.trainGenerator;
    let crashed = false;
    steps.trainGenerator = (input, outDir, ctx) => real(input, outDir, {
      ...ctx, // runStep's context is a plain object: its methods and fields spread as they are
      progress: (done, total, note) => {
        if (!crashed && done === 3) { crashed = true; throw new Error('simulated worker death after step 3'); }
        ctx.progress(done, total, note);
      },
    });
    const worker = await createDndWorker({ connection: env.nativeConnection, role: 'cpu', taskQueue: config.temporal.cpuQueue, store, steps, workflowBundle: { code: bundle.code } });
    const r = await worker.runUntil(async () => (await (await startPipeline(env.client, { runId: 'real-3', preset: null, config, runDir: path.join(config.runsDir, 'real-3'), address: env.address })).result()) as PipelineResult);
    steps.release();
    expect(crashed).toBe(true);
    expect(r.pairs.cached).toBe(true);
    expect(r.generator.cached).toBe(false);
    expect(r.generator.meta).toMatchObject({ steps: 6, resumedFrom: 2 }); // checkpointEvery 2: steps 1-2 were not redone
    expect(fs.existsSync(path.join(config.artifactsDir, 'work', r.generator.key))).toBe(false); // workDir removed after success
  });
});
