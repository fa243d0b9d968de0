// Shared set-up for the tests that run against a real Temporal dev server: the provisioned CLI
// binary, one workflow bundle, a small fast config, and child-process workers. Test support only.
import { spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, bundleWorkflowCode } from '@temporalio/worker';
import { sharedDir } from '@dnd/dataset';
import { defaultRunConfig } from '../../src/config';
import { createDemoSteps } from '../../src/demo-steps';
import { temporalBinary } from '../../src/dev-server';
import type { RunConfig } from '../../src/types';

export const ORCH_ROOT = path.resolve(__dirname, '..', '..');
export const DATA_DIR = process.env['DND_DATA_DIR'] ?? path.join(sharedDir(), 'data', 'commonsense');

/** A dev server from the provisioned CLI (DND_TEMPORAL_BIN or infra/temporal.sh), no UI. */
export function startLocalEnv(): Promise<TestWorkflowEnvironment> {
  try {
    Runtime.install({ logger: new DefaultLogger('WARN') });
  } catch { /* already installed in this process */ }
  return TestWorkflowEnvironment.createLocal({
    server: { executable: { type: 'existing-path', path: temporalBinary() }, ui: false, extraArgs: ['--log-level', 'error'] },
  });
}

/** Bundles src/workflows once and writes it to a file child workers can load. */
export async function bundleWorkflows(dir: string): Promise<{ code: string; codePath: string }> {
  const { code } = await bundleWorkflowCode({ workflowsPath: require.resolve('../../src/workflows'), logger: new DefaultLogger('ERROR') });
  const codePath = path.join(dir, 'workflow-bundle.js');
  fs.writeFileSync(codePath, code);
  return { code, codePath };
}

export const tmpDir = (name: string): string => fs.mkdtempSync(path.join(os.tmpdir(), `dnd-orch-${name}-`));

/** Two small sets, fast timeouts (2 s heartbeat), quick retries; `queue` isolates a test's workers. */
export function testConfig(artifactsDir: string, queue: string, steps: Partial<RunConfig['steps']> = {}): RunConfig {
  const c = defaultRunConfig(createDemoSteps());
  c.sets = ['boolq', 'openbookqa'];
  c.heldOut = ['openbookqa'];
  c.collectHeldOut = true; // the tests below count both sets' units
  c.dataDir = DATA_DIR;
  c.artifactsDir = artifactsDir;
  c.runsDir = path.join(artifactsDir, '..', 'runs');
  c.temporal = {
    ...c.temporal, cpuQueue: `${queue}-cpu`, gpuQueue: `${queue}-gpu`, heartbeatTimeoutSec: 2, startToCloseTimeoutSec: 120,
    gpuScheduleToStartSec: 10, gpuPresenceWindowSec: 30, retry: { initialIntervalSec: 0.2, backoffCoefficient: 1.5, maximumIntervalSec: 1, maximumAttempts: 30 },
  };
  c.steps = { ...c.steps, ...steps };
  return c;
}

/** A worker in a child process (test/support/worker-child.ts); resolves once it polls. */
export async function spawnWorker(env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['-r', path.join(__dirname, 'register.cjs'), path.join(__dirname, 'worker-child.ts')], {
    cwd: ORCH_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d) => { err += String(d); });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d) => { if (String(d).includes('ready')) resolve(); });
    child.once('exit', (code) => reject(new Error(`worker child exited with ${code} before ready: ${err.slice(-2000)}`)));
  });
  return child;
}

/** SIGKILLs a child and waits until it is gone. */
export async function killHard(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await gone;
}

/** Polls `pred` every 50 ms until true (fails after `ms`). */
export async function waitFor(what: string, pred: () => boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
