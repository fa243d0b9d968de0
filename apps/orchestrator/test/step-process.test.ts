// Steps in child processes on a real Temporal server: heartbeats that never starve under a CPU hog, a child
// SIGKILLed mid-collection, mid-training and mid-evaluation (the attempt fails naming the signal, the retry
// resumes, nothing finished is recomputed), and a cancelled run whose child is gone within 5 s.
import { spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { WorkflowFailedError } from '@temporalio/client';
import { LocalArtifactStore } from '@dnd/core';
import { startPipeline } from '../src/client';
import { createDemoSteps } from '../src/demo-steps';
import { inChildProcesses } from '../src/activities/step-process';
import { createDndWorker } from '../src/worker';
import type { PipelineResult, RunConfig } from '../src/types';
import { bundleWorkflows, startLocalEnv, testConfig, tmpDir, waitFor } from './support/env';

let env: TestWorkflowEnvironment;
let bundle: { code: string; codePath: string };
const work = tmpDir('step-process');
const LOGGED_STEPS = path.join(__dirname, 'support', 'logged-demo-steps.ts');

beforeAll(async () => {
  [env, bundle] = await Promise.all([startLocalEnv(), bundleWorkflows(work)]);
});
afterAll(async () => {
  await env?.teardown();
});

const demo = createDemoSteps().defaults;
const alive = (pid: number): boolean => { try { process.kill(pid, 0); return true; } catch { return false; } };

/** A worker in this process whose steps run in child processes that log their units to `unitLog`. */
async function childWorker(config: RunConfig, unitLog: string, children: Map<number, 'start' | 'exit'>) {
  return createDndWorker({
    connection: env.nativeConnection, role: 'cpu', taskQueue: config.temporal.cpuQueue, store: new LocalArtifactStore(config.artifactsDir),
    steps: inChildProcesses(createDemoSteps(), { module: LOGGED_STEPS, factory: 'createLoggedDemoSteps', env: { DND_TEST_UNIT_LOG: unitLog }, onChild: (pid, e) => children.set(pid, e) }),
    workflowBundle: { code: bundle.code },
  });
}

function unitLines(unitLog: string): Array<{ pid: number; phase: string; unit: string }> {
  return fs.readFileSync(unitLog, 'utf8').trim().split('\n').filter(Boolean).map((l) => {
    const [pid, phase, unit] = l.split(' ');
    return { pid: Number(pid), phase: phase!, unit: unit! };
  });
}

/** Attempts of each activity type as the history records them (attempt > 1 carries the last failure). */
async function attempts(workflowId: string): Promise<Array<{ type: string; attempt: number; lastFailure: string | null }>> {
  const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
  const scheduled = new Map<string, string>();
  const out: Array<{ type: string; attempt: number; lastFailure: string | null }> = [];
  for (const e of history.events ?? []) {
    if (e.activityTaskScheduledEventAttributes) scheduled.set(String(e.eventId), e.activityTaskScheduledEventAttributes.activityType?.name ?? '?');
    const s = e.activityTaskStartedEventAttributes;
    if (s) out.push({ type: scheduled.get(String(s.scheduledEventId)) ?? '?', attempt: s.attempt ?? 1, lastFailure: s.lastFailure?.message ?? null });
  }
  return out;
}

describe('steps in child processes', () => {
  it('with a heartbeat timeout shorter than one unit and a CPU hog on both cores, every unit is computed once and no process is left', async () => {
    const root = tmpDir('hog');
    const config = testConfig(path.join(root, 'artifacts'), 'hog', {
      collectSet: { ...demo.collectSet, snapshots: 1, unitCpuMs: 4500 },
      trainGenerator: { ...demo.trainGenerator, epochs: 1, unitCpuMs: 4500 },
      evaluate: { ...demo.evaluate, units: 1, unitCpuMs: 4500 },
    });
    config.temporal.heartbeatTimeoutSec = 3; // each unit blocks its thread for 4.5 s
    config.temporal.retry.maximumAttempts = 1; // a heartbeat timeout would fail the run
    const unitLog = path.join(root, 'units.log');
    fs.writeFileSync(unitLog, '');
    const hogs: ChildProcess[] = [0, 1].map(() => spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
    const children = new Map<number, 'start' | 'exit'>();
    try {
      const worker = await childWorker(config, unitLog, children);
      const result = await worker.runUntil(async () => (await (await startPipeline(env.client, { runId: 'hog-1', preset: null, config, runDir: path.join(config.runsDir, 'hog-1'), address: env.address })).result()) as PipelineResult);
      expect(result.report.cached).toBe(false);
    } finally {
      for (const h of hogs) h.kill('SIGKILL');
    }
    const starts = unitLines(unitLog).filter((l) => l.phase === 'start').map((l) => l.unit).sort();
    expect(starts).toEqual(['collectSet:boolq:0', 'collectSet:openbookqa:0', 'evaluate:0', 'trainGenerator:0']);
    // One child per step (2 sets, pairs, training, evaluation), each one gone.
    expect(children.size).toBe(5);
    for (const [pid, state] of children) expect([pid, state, alive(pid)]).toEqual([pid, 'exit', false]);
    for (const a of await attempts('hog-1/zoo/boolq')) expect(a.attempt).toBe(1);
  });

  it('SIGKILL of the child mid-collection, mid-training and mid-evaluation: the attempt fails naming the signal, the retry resumes, nothing finished is recomputed', async () => {
    const root = tmpDir('kill-child');
    const config = testConfig(path.join(root, 'artifacts'), 'killchild', {
      collectSet: { ...demo.collectSet, snapshots: 3, unitCpuMs: 400 },
      trainGenerator: { ...demo.trainGenerator, epochs: 3, unitCpuMs: 400 },
      evaluate: { ...demo.evaluate, units: 3, unitCpuMs: 400 },
    });
    config.sets = ['boolq', 'openbookqa'];
    const unitLog = path.join(root, 'units.log');
    fs.writeFileSync(unitLog, '');
    const children = new Map<number, 'start' | 'exit'>();
    const worker = await childWorker(config, unitLog, children);
    const killed: Record<string, { pid: number; done: Set<string>; lines: number }> = {};
    const killWhen = async (name: string, unit: string): Promise<void> => {
      await waitFor(`${unit} under way`, () => unitLines(unitLog).some((l) => l.phase === 'start' && l.unit === unit), 60_000);
      const lines = unitLines(unitLog);
      const pid = lines.filter((l) => l.unit === unit)[0]!.pid;
      killed[name] = { pid, done: new Set(lines.filter((l) => l.phase === 'done').map((l) => l.unit)), lines: lines.length };
      process.kill(pid, 'SIGKILL');
    };
    const result = await worker.runUntil(async () => {
      const handle = await startPipeline(env.client, { runId: 'killchild-1', preset: null, config, runDir: path.join(config.runsDir, 'killchild-1'), address: env.address });
      await killWhen('collect', 'collectSet:boolq:1');
      await killWhen('train', 'trainGenerator:1');
      await killWhen('evaluate', 'evaluate:1');
      return (await handle.result()) as PipelineResult;
    });
    expect(result.generator.meta['checkpoints']).toHaveLength(3);
    const all = unitLines(unitLog);
    for (const { pid, done, lines } of Object.values(killed)) {
      expect(alive(pid)).toBe(false);
      // Units finished before the kill never start again (the one in flight does, once).
      for (const u of done) expect([u, all.slice(lines).filter((l) => l.phase === 'start' && l.unit === u).length]).toEqual([u, 0]);
    }
    for (const u of ['collectSet:boolq:0', 'collectSet:boolq:2', 'trainGenerator:0', 'trainGenerator:2']) expect([u, all.filter((l) => l.phase === 'start' && l.unit === u).length]).toEqual([u, 1]);
    for (const u of ['collectSet:boolq:1', 'trainGenerator:1']) expect([u, all.filter((l) => l.phase === 'start' && l.unit === u).length]).toEqual([u, 2]);
    // Each killed attempt was retried once, and the retry saw the signal in the attempt's failure.
    for (const [wf, type] of [['killchild-1/zoo/boolq', 'collectSet'], ['killchild-1/train', 'trainGenerator'], ['killchild-1/evaluate', 'evaluate']] as const) {
      const a = (await attempts(wf)).filter((x) => x.type === type);
      expect(a.map((x) => x.attempt)).toEqual([2]);
      expect(a[0]!.lastFailure).toMatch(new RegExp(`${type}: the step process \\(pid \\d+\\) was killed by SIGKILL before it finished`));
    }
    for (const [pid, state] of children) expect([pid, state, alive(pid)]).toEqual([pid, 'exit', false]);
  });

  it('cancelling a run stops its running child within 5 s', async () => {
    const root = tmpDir('cancel-child');
    const config = testConfig(path.join(root, 'artifacts'), 'cancelchild', { collectSet: { ...demo.collectSet, snapshots: 50, unitCpuMs: 1000 } });
    config.temporal.heartbeatTimeoutSec = 10;
    const unitLog = path.join(root, 'units.log');
    fs.writeFileSync(unitLog, '');
    const children = new Map<number, 'start' | 'exit'>();
    const exits = new Map<number, number>();
    const worker = await createDndWorker({
      connection: env.nativeConnection, role: 'cpu', taskQueue: config.temporal.cpuQueue, store: new LocalArtifactStore(config.artifactsDir),
      steps: inChildProcesses(createDemoSteps(), { module: LOGGED_STEPS, factory: 'createLoggedDemoSteps', env: { DND_TEST_UNIT_LOG: unitLog }, onChild: (pid, e) => { children.set(pid, e); if (e === 'exit') exits.set(pid, Date.now()); } }),
      workflowBundle: { code: bundle.code },
    });
    await worker.runUntil(async () => {
      const handle = await startPipeline(env.client, { runId: 'cancelchild-1', preset: null, config, runDir: path.join(config.runsDir, 'cancelchild-1'), address: env.address });
      await waitFor('a unit under way', () => unitLines(unitLog).some((l) => l.phase === 'start' && l.unit === 'collectSet:boolq:1'), 60_000);
      const running = [...children].filter(([, s]) => s === 'start').map(([pid]) => pid);
      expect(running).toHaveLength(1);
      const t0 = Date.now();
      await handle.cancel();
      await expect(handle.result()).rejects.toThrow(WorkflowFailedError);
      await waitFor('the child to exit', () => exits.has(running[0]!), 5000);
      expect(exits.get(running[0]!)! - t0).toBeLessThan(5000);
      expect(alive(running[0]!)).toBe(false);
    });
  });
});
