// The orchestrator against a real Temporal dev server (the provisioned CLI): the pipeline end to end on
// the demo steps, worker processes SIGKILLed mid-collection and mid-training, GPU-queue routing, and the
// nightly Schedule. Set DND_WRITE_HISTORY=1 to refresh the replay fixtures from the end-to-end run.
import * as fs from 'fs';
import * as path from 'path';
import type { ChildProcess } from 'child_process';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { artifactKey, LocalArtifactStore, readRunManifest, writeSafetensors } from '@dnd/core';
import { createNightlySchedule, describeStatus, followRun, RunEta, runPlan, startLeaveOneOut, startPipeline } from '../src/client';
import { addSets } from '../src/config';
import { createDemoSteps } from '../src/demo-steps';
import { createDndWorker } from '../src/worker';
import type { PipelineResult } from '../src/types';
import { bundleWorkflows, DATA_DIR, killHard, spawnWorker, startLocalEnv, testConfig, tmpDir, waitFor } from './support/env';

let env: TestWorkflowEnvironment;
let bundle: { code: string; codePath: string };
const work = tmpDir('temporal');

beforeAll(async () => {
  [env, bundle] = await Promise.all([startLocalEnv(), bundleWorkflows(work)]);
});
afterAll(async () => {
  await env?.teardown();
});

const pipelineInput = (runId: string, config: ReturnType<typeof testConfig>) => ({
  runId, preset: null, config, runDir: path.join(config.runsDir, runId), address: env.address,
});

describe('dndPipeline on a real server', () => {
  it('runs end to end, writes report and manifest, and a re-run computes nothing', async () => {
    const root = tmpDir('e2e');
    const config = testConfig(path.join(root, 'artifacts'), 'e2e');
    const units: string[] = [];
    const store = new LocalArtifactStore(config.artifactsDir);
    const worker = await createDndWorker({
      connection: env.nativeConnection, role: 'cpu', taskQueue: config.temporal.cpuQueue, store,
      steps: createDemoSteps({ onUnit: (u, phase) => units.push(`${phase} ${u}`) }), workflowBundle: { code: bundle.code },
    });
    const [first, second] = await worker.runUntil(async () => {
      const h1 = await startPipeline(env.client, pipelineInput('e2e-1', config));
      const r1 = (await h1.result()) as PipelineResult;
      if (process.env['DND_WRITE_HISTORY'] === '1') {
        const fixtures = path.join(__dirname, 'fixtures');
        for (const id of ['e2e-1', 'e2e-1/zoo', 'e2e-1/zoo/boolq', 'e2e-1/train']) {
          const history = await env.client.workflow.getHandle(id).fetchHistory();
          fs.writeFileSync(path.join(fixtures, `history-${id.replace(/\//g, '_')}.json`), JSON.stringify(JSON.parse(historyToJSON(history)), null, 1) + '\n');
        }
      }
      expect(await h1.query('progress')).toEqual({ stage: 'done', children: ['e2e-1/zoo', 'e2e-1/pairs', 'e2e-1/train', 'e2e-1/evaluate'], finished: ['zoo', 'pairs', 'train', 'evaluate'] });
      const h2 = await startPipeline(env.client, pipelineInput('e2e-2', config));
      return [r1, (await h2.result()) as PipelineResult];
    });

    // First run: every step computed, on the CPU queue (no GPU worker), units in order, once each.
    expect(first.zoo.map((z) => z.set)).toEqual(['boolq', 'openbookqa']);
    for (const s of [...first.zoo.map((z) => z.result), first.pairs, first.generator, first.report]) {
      expect(s.cached).toBe(false);
      expect(s.queue).toBe(config.temporal.cpuQueue);
    }
    expect(first.zoo[0]!.result.meta['checkpoints']).toHaveLength(3);
    expect(units.filter((u) => u.startsWith('start'))).toHaveLength(2 * 3 + 2 + 1); // snapshots, epochs, one scoring batch
    const reportDir = await store.resolve(first.report.ref);
    const report = JSON.parse(fs.readFileSync(path.join(reportDir, 'report.json'), 'utf8'));
    expect(report.rows.map((r: { set: string }) => r.set)).toEqual(['openbookqa']);
    expect(first.report.meta['sets']).toBe(1);

    const manifest = readRunManifest(first.manifestPath);
    expect(manifest.runId).toBe('e2e-1');
    expect(manifest.temporal.workflowIds).toEqual(['e2e-1', 'e2e-1/zoo', 'e2e-1/zoo/boolq', 'e2e-1/zoo/openbookqa', 'e2e-1/pairs', 'e2e-1/train', 'e2e-1/evaluate']);
    expect(manifest.artifacts['report']).toEqual(first.report.ref);
    expect(manifest.artifacts['zoo/boolq']).toEqual(first.zoo[0]!.result.ref);
    expect(manifest.packages['@dnd/core']).toMatch(/^\d+\.\d+\.\d+/);
    expect(manifest.config).toEqual(config);
    // The worker's event-loop delay since it started, as a blocked loop would starve heartbeats.
    expect(manifest.eventLoop).toMatchObject({ p50Ms: expect.any(Number), p99Ms: expect.any(Number), maxMs: expect.any(Number), worker: expect.stringMatching(/^dnd-cpu@/) });
    expect(manifest.eventLoop!.maxMs).toBeGreaterThanOrEqual(manifest.eventLoop!.p99Ms);

    // Second run, same config: every output comes from the store, same references, no unit computed.
    expect(units.filter((u) => u.startsWith('start'))).toHaveLength(9);
    for (const s of [...second.zoo.map((z) => z.result), second.pairs, second.generator, second.report]) expect(s.cached).toBe(true);
    expect(second.report.ref).toEqual(first.report.ref);
    expect(await store.getAlias('latest-generator')).toMatchObject({ ref: first.generator.ref });
  });
});

describe('bad input', () => {
  it('fails the run at once (no retries) with the cause, through the child workflows', async () => {
    const root = tmpDir('bad');
    const config = testConfig(path.join(root, 'artifacts'), 'bad');
    config.sets = ['boolq', 'no-such-set'];
    config.heldOut = ['boolq'];
    const worker = await createDndWorker({
      connection: env.nativeConnection, role: 'cpu', taskQueue: config.temporal.cpuQueue, store: new LocalArtifactStore(config.artifactsDir),
      steps: createDemoSteps(), workflowBundle: { code: bundle.code },
    });
    const err = await worker.runUntil(async () => (await startPipeline(env.client, pipelineInput('bad-1', config))).result().catch((e: Error) => e));
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const chain: string[] = [];
    for (let c: any = err; c; c = c.cause) chain.push(`${c.name}: ${c.message}`);
    expect(chain.join('\n')).toMatch(/ApplicationFailure: task set "no-such-set" not found/);
    const desc = await env.client.workflow.getHandle('bad-1/zoo/no-such-set').describe();
    expect(desc.status.name).toBe('FAILED');
    expect(desc.raw.pendingActivities ?? []).toHaveLength(0);
    const history = await env.client.workflow.getHandle('bad-1/zoo/no-such-set').fetchHistory();
    const started = history.events!.filter((e) => e.activityTaskStartedEventAttributes);
    expect(started.map((e) => e.activityTaskStartedEventAttributes!.attempt)).toEqual([1, 1]); // pickQueue, collectSet: one attempt each
  });
});

describe('leaveOneOut', () => {
  it('collects the zoo once and runs one pipeline per held-out set on it, a set given by path included, with overall progress', async () => {
    const root = tmpDir('loo');
    fs.cpSync(path.join(DATA_DIR, 'boolq'), path.join(root, 'extra', 'boolq2'), { recursive: true }); // a set outside dataDir (`--set`)
    const config = addSets(testConfig(path.join(root, 'artifacts'), 'loo'), [`boolq2=${path.join(root, 'extra', 'boolq2')}`]);
    const units: string[] = [];
    const worker = await createDndWorker({
      connection: env.nativeConnection, role: 'cpu', taskQueue: config.temporal.cpuQueue, store: new LocalArtifactStore(config.artifactsDir),
      steps: createDemoSteps({ onUnit: (u, phase) => { if (phase === 'start') units.push(u); } }), workflowBundle: { code: bundle.code },
    });
    const plan = runPlan('leaveOneOut', 'loo-1', config);
    const texts: string[] = [];
    const results = await worker.runUntil(async () => followRun(env.client, await startLeaveOneOut(env.client, pipelineInput('loo-1', config)), (p) => texts.push(p.text), 100, plan) as unknown as Promise<PipelineResult[]>);
    expect(results.map((r) => r.runId)).toEqual(['loo-1/heldout-boolq', 'loo-1/heldout-openbookqa', 'loo-1/heldout-boolq2']);
    expect(units.filter((u) => u.startsWith('collectSet'))).toHaveLength(3 * 3);
    expect(units.filter((u) => u.startsWith('collectSet:boolq2'))).toHaveLength(3);
    expect(units.filter((u) => u.startsWith('trainGenerator'))).toHaveLength(3 * 2);
    expect(results[0]!.zoo).toEqual(results[1]!.zoo);
    expect(results[0]!.zoo.map((z) => z.set)).toEqual(['boolq', 'openbookqa', 'boolq2']);
    expect(results[0]!.generator.key).not.toBe(results[1]!.generator.key);
    const reports = await Promise.all(results.map(async (r) => JSON.parse(fs.readFileSync(path.join(await new LocalArtifactStore(config.artifactsDir).resolve(r.report.ref), 'report.json'), 'utf8'))));
    expect(reports.map((rep) => rep.rows.map((x: { set: string }) => x.set))).toEqual([['boolq'], ['openbookqa'], ['boolq2']]);
    expect(readRunManifest(results[1]!.manifestPath).temporal.workflowIds[0]).toBe('loo-1/heldout-openbookqa');
    // Overall progress heads every progress text; the plan's ids are the run's step workflows: all 12 are found completed.
    expect(texts.length).toBeGreaterThan(0);
    for (const t of texts) expect(t).toMatch(/^overall \d+% \(\d+\/12 steps\) · \d+m elapsed/);
    const end = await new RunEta(plan).update(describeStatus(env.client), []);
    expect(end).toMatchObject({ fraction: 1, stagesDone: 12, stages: 12 });
  });
});

describe('worker processes killed mid-step', () => {
  const children: ChildProcess[] = [];
  afterAll(async () => {
    for (const c of children) await killHard(c);
  });

  it('SIGKILL during collection and during training: the run completes, no finished unit is recomputed or stored twice', async () => {
    const root = tmpDir('kill');
    const config = testConfig(path.join(root, 'artifacts'), 'kill', {
      collectSet: { ...createDemoSteps().defaults.collectSet, snapshots: 4, unitDelayMs: 600 },
      trainGenerator: { ...createDemoSteps().defaults.trainGenerator, epochs: 3, unitDelayMs: 600 },
    });
    const unitLog = path.join(root, 'units.log');
    fs.writeFileSync(unitLog, '');
    const childEnv = { DND_TEST_ADDRESS: env.address, DND_TEST_QUEUE: config.temporal.cpuQueue, DND_TEST_STORE: config.artifactsDir, DND_TEST_BUNDLE: bundle.codePath, DND_TEST_UNIT_LOG: unitLog };
    const lines = (): Array<{ pid: string; phase: string; unit: string }> => fs.readFileSync(unitLog, 'utf8').trim().split('\n').filter(Boolean)
      .map((l) => { const [pid, phase, unit] = l.split(' '); return { pid: pid!, phase: phase!, unit: unit! }; });
    const doneUnits = (): Set<string> => new Set(lines().filter((l) => l.phase === 'done').map((l) => l.unit));

    const spawnOne = async (): Promise<ChildProcess> => {
      const c = await spawnWorker(childEnv);
      children.push(c);
      return c;
    };
    let worker = await spawnOne();
    const handle = await startPipeline(env.client, pipelineInput('kill-1', config));

    // Kill 1: both sets have a finished snapshot and are computing the next one.
    await waitFor('collection under way', () => ['boolq', 'openbookqa'].every((s) => lines().some((l) => l.phase === 'start' && l.unit === `collectSet:${s}:1`)));
    await killHard(worker);
    const doneAtKill1 = doneUnits();
    const linesAtKill1 = lines().length;
    expect([...doneAtKill1].filter((u) => u.startsWith('collectSet'))).not.toHaveLength(0);
    worker = await spawnOne();

    // Kill 2: one training checkpoint stored, the next one computing.
    await waitFor('training under way', () => lines().some((l) => l.phase === 'start' && l.unit === 'trainGenerator:1'));
    await killHard(worker);
    const doneAtKill2 = doneUnits();
    const linesAtKill2 = lines().length;
    expect(doneAtKill2.has('trainGenerator:0')).toBe(true);
    worker = await spawnOne();

    const result = (await handle.result()) as PipelineResult;
    const all = lines();
    const startsAfter = (u: string, from: number): number => all.slice(from).filter((l) => l.phase === 'start' && l.unit === u).length;
    // A unit finished before a kill is never started again after it (the one in flight at a kill is, once).
    for (const [done, from] of [[doneAtKill1, linesAtKill1], [doneAtKill2, linesAtKill2]] as const) {
      for (const u of done) expect([u, startsAfter(u, from)]).toEqual([u, 0]);
    }
    for (const u of new Set(all.map((l) => l.unit))) expect(startsAfter(u, 0)).toBeLessThanOrEqual(2);
    // Every unit finished exactly once; three worker processes took part.
    const expected = ['boolq', 'openbookqa'].flatMap((s) => [0, 1, 2, 3].map((i) => `collectSet:${s}:${i}`)).concat(['trainGenerator:0', 'trainGenerator:1', 'trainGenerator:2']);
    for (const u of expected) expect([u, all.filter((l) => l.phase === 'done' && l.unit === u).length]).toEqual([u, 1]);
    expect(new Set(all.map((l) => l.pid)).size).toBe(3);
    // The store committed each key once (the journal is append-only), and the outputs list every unit.
    const journal = fs.readFileSync(path.join(config.artifactsDir, 'journal.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).key as string);
    expect(new Set(journal).size).toBe(journal.length);
    expect(journal).toHaveLength(8 + 3 + 1 + 2 + 1 + 1 + 1 + 1); // snapshots, train checkpoints, a scoring batch, 2 zoo sets, pairs, generator, report, run manifest
    for (const z of result.zoo) expect(new Set((z.result.meta['checkpoints'] as Array<{ sha256: string }>).map((r) => r.sha256)).size).toBe(4);
    expect(result.generator.meta['checkpoints']).toHaveLength(3);
  });
});

describe('GPU queue routing', () => {
  it('runs collection and training on the GPU queue while a GPU worker polls it, the rest on the CPU queue', async () => {
    const root = tmpDir('gpu');
    const config = testConfig(path.join(root, 'artifacts'), 'gpu');
    const store = new LocalArtifactStore(config.artifactsDir);
    const ranOn: string[] = [];
    const mk = (role: 'cpu' | 'gpu') => createDndWorker({
      connection: env.nativeConnection, role, taskQueue: role === 'cpu' ? config.temporal.cpuQueue : config.temporal.gpuQueue, store,
      steps: createDemoSteps({ onUnit: (u, phase) => { if (phase === 'start') ranOn.push(`${role} ${u.split(':')[0]}`); } }), workflowBundle: { code: bundle.code },
    });
    const [cpu, gpu] = await Promise.all([mk('cpu'), mk('gpu')]);
    const result = await gpu.runUntil(cpu.runUntil(async () => (await startPipeline(env.client, pipelineInput('gpu-1', config))).result() as Promise<PipelineResult>));
    for (const z of result.zoo) expect(z.result.queue).toBe(config.temporal.gpuQueue);
    expect(result.generator.queue).toBe(config.temporal.gpuQueue);
    expect(result.pairs.queue).toBe(config.temporal.cpuQueue);
    expect(result.report.queue).toBe(config.temporal.cpuQueue);
    expect(new Set(ranOn)).toEqual(new Set(['gpu collectSet', 'gpu trainGenerator', 'cpu evaluate']));
  });

  it('falls back to the CPU queue when the GPU worker that was seen is gone', async () => {
    const root = tmpDir('gpu-gone');
    const config = testConfig(path.join(root, 'artifacts'), 'gpugone');
    config.temporal.gpuScheduleToStartSec = 2;
    const store = new LocalArtifactStore(config.artifactsDir);
    const steps = createDemoSteps();
    const gpu = await createDndWorker({ connection: env.nativeConnection, role: 'gpu', taskQueue: config.temporal.gpuQueue, store, steps });
    await gpu.runUntil(new Promise((r) => setTimeout(r, 300))); // polls once, then leaves: its poller entry stays fresh
    const cpu = await createDndWorker({ connection: env.nativeConnection, role: 'cpu', taskQueue: config.temporal.cpuQueue, store, steps, workflowBundle: { code: bundle.code } });
    const result = await cpu.runUntil(async () => (await startPipeline(env.client, pipelineInput('gpu-gone-1', config))).result() as Promise<PipelineResult>);
    expect(result.generator.queue).toBe(config.temporal.cpuQueue);
    for (const z of result.zoo) expect(z.result.queue).toBe(config.temporal.cpuQueue);
  });
});

describe('nightly schedule', () => {
  it('creates a Schedule whose action starts nightlyEvaluation on the latest generator, and the action runs', async () => {
    const root = tmpDir('nightly');
    const config = testConfig(path.join(root, 'artifacts'), 'nightly');
    const store = new LocalArtifactStore(config.artifactsDir);
    const gen = await store.putDir(artifactKey('test-generator', '1', {}, []), 'application/vnd.dnd.generator+dir', async (dir) => {
      writeSafetensors(path.join(dir, 'generator.safetensors'), { mean: { dtype: 'F32', shape: [1, 2], data: new Float32Array([3, 4]) } });
    });
    await store.setAlias('latest-generator', gen);

    const id = await createNightlySchedule(env.client, { scheduleId: 'dnd-nightly-test', cron: '0 3 * * *', config });
    const handle = env.client.schedule.getHandle(id);
    const desc = await handle.describe();
    expect(desc.action).toMatchObject({ type: 'startWorkflow', workflowType: 'nightlyEvaluation', taskQueue: config.temporal.cpuQueue });
    expect((desc.action as { args: unknown[] }).args).toEqual([{ config, generatorAlias: 'latest-generator' }]);
    expect(desc.spec.calendars?.[0]).toMatchObject({ hour: [{ start: 3, end: 3, step: 1 }], minute: [{ start: 0, end: 0, step: 1 }] });

    const worker = await createDndWorker({ connection: env.nativeConnection, role: 'cpu', taskQueue: config.temporal.cpuQueue, store, steps: createDemoSteps(), workflowBundle: { code: bundle.code } });
    const report = await worker.runUntil(async () => {
      await handle.trigger();
      let runId: string | undefined;
      for (let i = 0; i < 100 && !runId; i++) {
        runId = (await handle.describe()).info.recentActions[0]?.action.workflow.workflowId;
        if (!runId) await new Promise((r) => setTimeout(r, 100));
      }
      expect(runId).toMatch(/^dnd-nightly-test-run/);
      return env.client.workflow.getHandle(runId!).result();
    });
    expect(report.step).toBe('evaluate');
    expect(report.meta['generatorNorm']).toBeCloseTo(5, 5);
    await handle.delete();
  });
});
