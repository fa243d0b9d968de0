// Workers on separate hosts, as far as one machine allows: the `dnd run` client and the workers are separate
// processes, each with its own working directory, DND_CACHE and TMPDIR, sharing only a Temporal dev server and
// a SeaweedFS S3 server (both real, on loopback). One worker polls the GPU queue, one the CPU queue; the GPU
// worker is SIGKILLed mid-collection and a second takes over, which is SIGTERMed mid-training and a third
// finishes. Demo steps (no model). As root, each host also runs in a network namespace of its own that reaches only the
// two servers (test/support/netns.ts); elsewhere the hosts share this machine's network.
import { spawn, type ChildProcess, type SpawnOptions } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import { Client, Connection } from '@temporalio/client';
import { digestPath, readPeftAdapter, readRunManifest, S3ArtifactStore, startSeaweedFs, type ArtifactRef, type SeaweedFsServer } from '@dnd/core';
import { tinyBertFixtureDir } from '@dnd/encoder';
import { startDevServer, type DevServer } from '../src/dev-server';
import type { WorkerHealth } from '../src/commands/worker-command';
import type { PipelineResult } from '../src/types';
import { bundleWorkflows, DATA_DIR, killHard, ORCH_ROOT, tmpDir, waitFor } from './support/env';
import { FleetNetwork } from './support/netns';

jest.setTimeout(300_000);
const REGISTER = path.join(__dirname, 'support', 'register.cjs');
const BUCKET = 'dnd-fleet';
const work = tmpDir('fleet');
let dev: DevServer;
let s3: SeaweedFsServer;
let bundlePath: string;
const children: ChildProcess[] = [];
// Null without root or iproute2: the hosts then share this process's network namespace.
const fleetNet = FleetNetwork.tryCreate();

beforeAll(async () => {
  const [d, s, b] = await Promise.all([
    startDevServer({ dbFile: path.join(work, 'temporal', 'temporal.db'), ui: false, ...(fleetNet ? { ip: '0.0.0.0' as const } : {}) }),
    startSeaweedFs({ dir: path.join(work, 'seaweedfs'), buckets: [BUCKET], ...(fleetNet ? { ip: fleetNet.serviceIp } : {}) }),
    bundleWorkflows(work),
  ]);
  // With namespaces, the hosts reach the dev server at the bridge's address (it listens on every interface).
  [dev, s3, bundlePath] = [fleetNet ? { ...d, address: `${fleetNet.serviceIp}:${d.address.split(':')[1]}` } : d, s, b.codePath];
});
afterAll(async () => {
  for (const c of children) await killHard(c);
  await Promise.all([dev?.stop(), s3?.stop()]);
  fleetNet?.destroy();
});

/** A "host": its own directory, cache and temp dir, network namespace where allowed, and the environment a user would set there. */
function hostEnv(name: string, config: object = FLEET_CONFIG, steps: 'demo' | 'real' = 'demo'): { dir: string; env: NodeJS.ProcessEnv; ip: string; node: (args: string[], o: SpawnOptions) => ChildProcess } {
  const dir = path.join(work, name);
  for (const d of ['cache', 'tmp']) fs.mkdirSync(path.join(dir, d), { recursive: true });
  fs.writeFileSync(path.join(dir, 'fleet.json'), JSON.stringify(config));
  const ns = fleetNet?.host(name);
  return {
    dir,
    ip: ns?.ip ?? '127.0.0.1',
    node: (args, o) => (ns ? spawn(...ns.wrap(process.execPath, args), o) : spawn(process.execPath, args, o)),
    env: {
      ...process.env, DND_STEPS: steps, DND_TEST_STEPS: steps, DND_CACHE: path.join(dir, 'cache'), TMPDIR: path.join(dir, 'tmp'), TEMPORAL_ADDRESS: '',
      AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey, AWS_REGION: 'us-east-1',
    },
  };
}

const FLEET_CONFIG = {
  sets: ['boolq', 'openbookqa'], heldOut: ['openbookqa'], collectHeldOut: true, dataDir: DATA_DIR,
  steps: { collectSet: { snapshots: 4, unitDelayMs: 700 }, trainGenerator: { epochs: 5, unitDelayMs: 2500 } },
  temporal: {
    cpuQueue: 'fleet-cpu', gpuQueue: 'fleet-gpu', heartbeatTimeoutSec: 2, gpuScheduleToStartSec: 60, gpuPresenceWindowSec: 30,
    retry: { initialIntervalSec: 0.2, backoffCoefficient: 1.5, maximumIntervalSec: 1, maximumAttempts: 30 },
  },
};

const storeUrl = (prefix = 'fleet'): string => `s3://${BUCKET}/${prefix}?endpoint=${s3.endpoint}`;

/** `dnd worker` (its command code, demo steps) on a host; resolves once its health file says polling. */
async function startWorker(name: string, queue: 'cpu' | 'gpu', unitLog: string, extra: { healthPort?: number; workSyncSeconds?: number; prefix?: string } = {}, real?: object): Promise<{ child: ChildProcess; health: string; ip: string; out: () => string }> {
  const h = real ? hostEnv(name, real, 'real') : hostEnv(name);
  const health = path.join(h.dir, 'health.json');
  const { prefix, ...flagsExtra } = extra;
  const flags = { queue, config: path.join(h.dir, 'fleet.json'), artifacts: storeUrl(prefix ?? (real ? 'fleet-real' : 'fleet')), concurrency: 4, address: dev.address, healthFile: health, logJson: true, healthHost: h.ip, ...flagsExtra };
  const child = h.node(['-r', REGISTER, path.join(__dirname, 'support', 'fleet-worker-child.ts')], {
    cwd: h.dir, env: { ...h.env, DND_TEST_WORKER_FLAGS: JSON.stringify(flags), DND_TEST_UNIT_LOG: unitLog, DND_TEST_BUNDLE: bundlePath }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let text = '';
  child.stdout!.on('data', (d) => { text += String(d); });
  child.stderr!.on('data', (d) => { text += String(d); });
  await waitFor(`${name} to poll`, () => {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}: ${text.slice(-2000)}`);
    return fs.existsSync(health) && (JSON.parse(fs.readFileSync(health, 'utf8')) as WorkerHealth).status === 'polling';
  }, 120_000);
  return { child, health, ip: h.ip, out: () => text };
}

/** Every ArtifactRef inside a value (results nest them in zoo entries and step results). */
function refsIn(v: unknown, out: ArtifactRef[] = []): ArtifactRef[] {
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (typeof o['uri'] === 'string' && typeof o['sha256'] === 'string') out.push(o as unknown as ArtifactRef);
    else for (const x of Object.values(o)) refsIn(x, out);
  }
  return out;
}

describe('a worker fleet sharing only Temporal and S3', () => {
  // Runs where the machine allows namespaces (root, iproute2); elsewhere the hosts share this machine's network.
  (fleetNet ? it : it.skip)('each host has a network namespace of its own: it reaches the Temporal and S3 servers over the bridge, not this machine\'s loopback', async () => {
    const port = Number(dev.address.split(':')[1]);
    const s3Port = Number(new URL(s3.endpoint).port);
    const probe = (h: ReturnType<typeof hostEnv>, host: string, p: number): Promise<string> => new Promise((resolve) => {
      const c = h.node(['-e', `require('net').connect(${p}, '${host}').on('connect', () => { console.log('open'); process.exit(0); }).on('error', (e) => { console.log(e.code); process.exit(0); })`], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      c.stdout!.on('data', (d) => { out += String(d); });
      c.once('exit', () => resolve(out.trim()));
    });
    const a = hostEnv('netns-probe-a');
    expect(await probe(a, fleetNet!.serviceIp, port)).toBe('open');
    expect(await probe(a, fleetNet!.serviceIp, s3Port)).toBe('open');
    // The dev server listens on every interface of this namespace, its loopback included; the host's loopback is its own.
    expect(await probe(a, '127.0.0.1', port)).toBe('ECONNREFUSED');
    // Another host's address answers (a closed port refuses), as another machine on the same network would.
    expect(await probe(hostEnv('netns-probe-b'), a.ip, 9)).toBe('ECONNREFUSED');
  });

  it('completes with a GPU worker killed mid-collection and another stopped mid-training, each replaced; no finished unit is recomputed; every artifact is in S3 and verifies', async () => {
    const unitLog = path.join(work, 'units.log');
    fs.writeFileSync(unitLog, '');
    const units = (): Array<{ pid: string; queue: string; phase: string; unit: string }> => fs.readFileSync(unitLog, 'utf8').trim().split('\n').filter(Boolean)
      .map((l) => { const [pid, queue, phase, unit] = l.split(' '); return { pid: pid!, queue: queue!, phase: phase!, unit: unit! }; });
    const [gpu1, cpu] = await Promise.all([startWorker('gpu-1', 'gpu', unitLog), startWorker('cpu-1', 'cpu', unitLog)]);

    const client = hostEnv('client');
    const run = client.node(['-r', REGISTER, path.join(ORCH_ROOT, 'src', 'cli.ts'), 'run', 'fleet.json', '--run-id', 'fleet-1', '--no-worker', '--no-ui', '--address', dev.address], {
      cwd: client.dir, env: { ...client.env, DND_ARTIFACTS: storeUrl() }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(run);
    let runOut = '';
    run.stdout!.on('data', (d) => { runOut += String(d); });
    run.stderr!.on('data', (d) => { runOut += String(d); });
    const runExit = new Promise<number | null>((r) => run.once('exit', (code) => r(code)));

    // Mid-step: the GPU worker has finished one collection unit and started the next.
    const pid1 = String(gpu1.child.pid);
    await waitFor('the GPU worker to be inside a collection', () => {
      const mine = units().filter((u) => u.pid === pid1 && u.unit.startsWith('collectSet'));
      return mine.some((u) => u.phase === 'done') && mine[mine.length - 1]!.phase === 'start';
    }, 120_000);
    await killHard(gpu1.child);
    const killedMidway = units().filter((u) => u.pid === pid1 && u.phase === 'start').map((u) => u.unit)
      .filter((unit) => !units().some((u) => u.pid === pid1 && u.phase === 'done' && u.unit === unit));
    expect(killedMidway.length).toBeGreaterThan(0);
    const gpu2 = await startWorker('gpu-2', 'gpu', unitLog);

    // SIGTERM mid-training: the worker stops polling, its step is handed back after the grace time (5 s; the
    // step has >= 10 s left), it exits 0 with a stop in its log, and a third GPU worker finishes the step.
    const pid2 = String(gpu2.child.pid);
    await waitFor('the second GPU worker to be inside training', () => {
      const mine = units().filter((u) => u.pid === pid2 && u.unit.startsWith('trainGenerator'));
      return mine.some((u) => u.phase === 'done') && mine[mine.length - 1]!.phase === 'start';
    }, 120_000);
    const gpu2Exit = new Promise<number | null>((r) => gpu2.child.once('exit', (c) => r(c)));
    gpu2.child.kill('SIGTERM');
    expect(await gpu2Exit).toBe(0);
    expect(fs.existsSync(gpu2.health)).toBe(false);
    expect(gpu2.out().split('\n').filter((l) => l.startsWith('{')).map((l) => (JSON.parse(l) as { event: string }).event))
      .toEqual(expect.arrayContaining(['worker.polling', 'worker.stopping', 'worker.stopped']));
    const healthPort = await new Promise<number>((resolve) => { const srv = net.createServer().listen(0, '127.0.0.1', () => { const p = (srv.address() as net.AddressInfo).port; srv.close(() => resolve(p)); }); });
    const gpu3 = await startWorker('gpu-3', 'gpu', unitLog, { healthPort });
    const health = await fetch(`http://${gpu3.ip}:${healthPort}/`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'polling', taskQueue: 'fleet-gpu', workerState: 'RUNNING', store: storeUrl() });

    const code = await runExit;
    expect({ code, tail: code === 0 ? '' : runOut.slice(-3000) }).toEqual({ code: 0, tail: '' });
    expect(runOut).toMatch(/^report: .*report\.md$/m);

    // Nothing finished was recomputed: every unit is done exactly once, and what the killed worker left
    // half-done was done by its replacement.
    const done = units().filter((u) => u.phase === 'done');
    const counts = new Map<string, number>();
    for (const u of done) counts.set(u.unit, (counts.get(u.unit) ?? 0) + 1);
    expect([...counts.entries()].filter(([, n]) => n > 1)).toEqual([]);
    for (const unit of killedMidway) expect(done.find((u) => u.unit === unit)?.pid).toBe(pid2);
    expect(done.filter((u) => u.pid === String(gpu3.child.pid) && u.unit.startsWith('trainGenerator')).length).toBeGreaterThan(0);
    // Collection and training ran on the GPU queue, the rest on the CPU queue.
    expect(new Set(done.filter((u) => /^(collectSet|trainGenerator)/.test(u.unit)).map((u) => u.queue))).toEqual(new Set(['gpu']));

    // Every artifact the result and the manifest name is in S3 and verifies, read by a host that never wrote it.
    const conn = await Connection.connect({ address: dev.address });
    const result = await new Client({ connection: conn }).workflow.getHandle('fleet-1').result() as PipelineResult;
    await conn.close();
    const manifest = readRunManifest(result.manifestPath);
    const refs = [...refsIn(result), ...Object.values(manifest.artifacts)];
    expect(refs.length).toBeGreaterThan(5);
    const reader = new S3ArtifactStore({ bucket: BUCKET, prefix: 'fleet', endpoint: s3.endpoint, credentials: s3.credentials, cacheDir: path.join(work, 'reader-cache') });
    for (const ref of refs) {
      expect(ref.uri).toMatch(new RegExp(`^s3://${BUCKET}/fleet/`));
      const local = await reader.resolve(ref);
      expect(digestPath(local).sha256).toBe(ref.sha256);
    }
    // The CPU worker read the GPU worker's zoo from S3 into its own cache; no host wrote a local store.
    expect(fs.readdirSync(path.join(work, 'cpu-1', 'cache', 's3-artifacts')).filter((f) => /^[0-9a-f]{64}$/.test(f)).length).toBeGreaterThan(0);
    for (const h of ['client', 'cpu-1', 'gpu-1', 'gpu-2']) expect(fs.existsSync(path.join(work, h, 'runs', 'artifacts'))).toBe(false);

    // SIGTERM: the workers stop cleanly, say so in their JSON logs, and remove their health files.
    for (const w of [cpu, gpu3]) {
      const exit = new Promise<number | null>((r) => w.child.once('exit', (c) => r(c)));
      w.child.kill('SIGTERM');
      expect(await exit).toBe(0);
      expect(fs.existsSync(w.health)).toBe(false);
      const events = w.out().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { event: string });
      expect(events.map((e) => e.event)).toEqual(expect.arrayContaining(['worker.polling', 'worker.stopping', 'worker.stopped']));
    }
  });
});

describe('a worker with a store it cannot use', () => {
  it('fails at start with the cause (missing bucket, refused credentials), logs worker.failed and leaves its health file saying so', async () => {
    for (const [url, creds, cause] of [
      [`s3://no-such-bucket/x?endpoint=${s3.endpoint}`, s3.credentials, /bucket "no-such-bucket" does not exist/],
      [storeUrl(), { ...s3.credentials, secretAccessKey: 'wrong' }, /credentials were refused/],
    ] as const) {
      const h = hostEnv('bad-store');
      const health = path.join(h.dir, 'health.json');
      const flags = { queue: 'cpu', config: path.join(h.dir, 'fleet.json'), artifacts: url, concurrency: 1, address: dev.address, healthFile: health, logJson: true };
      const child = h.node(['-r', REGISTER, path.join(__dirname, 'support', 'fleet-worker-child.ts')], {
        cwd: h.dir, stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...h.env, AWS_ACCESS_KEY_ID: creds.accessKeyId, AWS_SECRET_ACCESS_KEY: creds.secretAccessKey, DND_TEST_WORKER_FLAGS: JSON.stringify(flags), DND_TEST_UNIT_LOG: path.join(h.dir, 'units.log'), DND_TEST_BUNDLE: bundlePath },
      });
      children.push(child);
      let text = '';
      child.stderr!.on('data', (d) => { text += String(d); });
      expect(await new Promise<number | null>((r) => child.once('exit', (c) => r(c)))).toBe(1);
      const failed = text.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { event: string; error?: string }).find((e) => e.event === 'worker.failed');
      expect(failed?.error).toMatch(cause);
      expect((JSON.parse(fs.readFileSync(health, 'utf8')) as WorkerHealth).status).toBe('failed');
    }
  });
});

/** The tiny real parts of test/real-steps.test.ts: @dnd/lm's tiny Llama, @dnd/encoder's tiny BERT, two 12-item sets. */
function tinyRealConfig(): object {
  const data = path.join(work, 'tiny-sets');
  for (const set of ['boolq', 'openbookqa']) {
    fs.mkdirSync(path.join(data, set), { recursive: true });
    for (const split of ['train', 'test']) {
      const items = JSON.parse(fs.readFileSync(path.join(DATA_DIR, set, `${split}.json`), 'utf8')) as unknown[];
      fs.writeFileSync(path.join(data, set, `${split}.json`), JSON.stringify(items.slice(0, 12)));
    }
  }
  return {
    sets: ['boolq', 'openbookqa'], heldOut: ['openbookqa'], collectHeldOut: true, dataDir: data,
    temporal: { cpuQueue: 'fleet-real-cpu', gpuQueue: 'fleet-real-gpu', heartbeatTimeoutSec: 30, gpuScheduleToStartSec: 120, gpuPresenceWindowSec: 60,
      retry: { initialIntervalSec: 0.2, backoffCoefficient: 1.5, maximumIntervalSec: 1, maximumAttempts: 2 } },
    steps: {
      collectSet: { model: path.join(ORCH_ROOT, '..', '..', 'packages', 'lm', 'test', 'fixtures', 'llama'), rank: 2, loraAlpha: 4, targetModules: ['q_proj', 'v_proj'], warmupSteps: 2, snapshotSteps: 3, warmupLr: 1e-2, lr: 1e-3, batchSize: 2, maxSeqLen: 48 },
      trainGenerator: { encoder: tinyBertFixtureDir(), promptsPerPair: 4, textLength: 8, poolPerSet: 8, layers: 2, batchSize: 2, train: { totalSteps: 4, lr: 1e-3, checkpointEvery: 2 } },
      evaluate: { samples: 2, evaluator: { scorer: 'loglik', maxItemsPerSet: 6, crossMatrix: false } },
    },
  };
}

describe('a worker fleet on the tiny real steps', () => {
  it('client, GPU and CPU workers in separate processes complete the real pipeline; the zoo, generator and report are in S3 and verify', async () => {
    const config = tinyRealConfig();
    const unitLog = path.join(work, 'units-real.log');
    const [gpu, cpu] = await Promise.all([startWorker('real-gpu', 'gpu', unitLog, {}, config), startWorker('real-cpu', 'cpu', unitLog, {}, config)]);
    const client = hostEnv('real-client', config, 'real');
    const run = client.node(['-r', REGISTER, path.join(ORCH_ROOT, 'src', 'cli.ts'), 'run', 'fleet.json', '--run-id', 'fleet-real-1', '--no-worker', '--no-ui', '--address', dev.address], {
      cwd: client.dir, env: { ...client.env, DND_ARTIFACTS: storeUrl('fleet-real') }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(run);
    let runOut = '';
    run.stdout!.on('data', (d) => { runOut += String(d); });
    run.stderr!.on('data', (d) => { runOut += String(d); });
    const code = await new Promise<number | null>((r) => run.once('exit', (c) => r(c)));
    expect({ code, tail: code === 0 ? '' : `${runOut.slice(-3000)}\n--- gpu:\n${gpu.out().slice(-2000)}\n--- cpu:\n${cpu.out().slice(-2000)}` }).toEqual({ code: 0, tail: '' });
    expect(runOut).toMatch(/^report: .*report\.md$/m);

    const conn = await Connection.connect({ address: dev.address });
    const result = await new Client({ connection: conn }).workflow.getHandle('fleet-real-1').result() as PipelineResult;
    await conn.close();
    const reader = new S3ArtifactStore({ bucket: BUCKET, prefix: 'fleet-real', endpoint: s3.endpoint, credentials: s3.credentials, cacheDir: path.join(work, 'real-reader-cache') });
    const refs = [...refsIn(result), ...Object.values(readRunManifest(result.manifestPath).artifacts)];
    // The manifest is in S3 too (a client on another host places that copy beside its run), equal to the worker's file.
    expect(fs.readFileSync(await reader.resolve(result.manifestRef!), 'utf8')).toBe(fs.readFileSync(result.manifestPath, 'utf8'));
    expect(runOut).toContain(`manifest: ${path.join(client.dir, 'runs', 'fleet-real-1', 'manifest.json')}`);
    for (const ref of refs) {
      expect(ref.uri).toMatch(new RegExp(`^s3://${BUCKET}/fleet-real/`));
      expect(digestPath(await reader.resolve(ref)).sha256).toBe(ref.sha256);
    }
    // The zoo a GPU-queue worker made loads as PEFT adapters from the S3 copy; the report holds generated LoRAs.
    const zooDir = await reader.resolve(result.zoo[0]!.result.ref);
    expect(readPeftAdapter(path.join(zooDir, 'snapshots', 'step-0003')).config).toMatchObject({ r: 2, targetModules: ['q_proj', 'v_proj'] });
    const reportDir = await reader.resolve(result.report.ref);
    expect(readPeftAdapter(path.join(reportDir, 'generated', 'openbookqa-1')).tensors.size).toBeGreaterThan(0);
    // What a run occupies (infra/README.md "What scales with what"), written only when asked for.
    if (process.env['DND_FOOTPRINT_OUT']) {
      const objects = await reader.listObjects();
      const c2 = await Connection.connect({ address: dev.address });
      const wf = new Client({ connection: c2 }).workflow;
      const histories = [];
      for (const id of result.workflowIds) {
        const info = (await wf.getHandle(id).describe()).raw.workflowExecutionInfo;
        histories.push({ id, events: Number(info?.historyLength ?? 0), bytes: Number(info?.historySizeBytes ?? 0) });
      }
      await c2.close();
      fs.writeFileSync(process.env['DND_FOOTPRINT_OUT'], JSON.stringify({
        s3: { objects: objects.length, bytes: objects.reduce((a, o) => a + o.bytes, 0) },
        refs: { count: new Set(refs.map((r) => r.uri)).size, bytes: [...new Map(refs.map((r) => [r.uri, r.bytes])).values()].reduce((a, b) => a + b, 0) },
        history: { workflows: histories.length, events: histories.reduce((a, h) => a + h.events, 0), bytes: histories.reduce((a, h) => a + h.bytes, 0), perWorkflow: histories },
      }, null, 2));
    }
    for (const w of [gpu, cpu]) {
      const exit = new Promise<number | null>((r) => w.child.once('exit', (c) => r(c)));
      w.child.kill('SIGTERM');
      expect(await exit).toBe(0);
    }
  });
});

describe('a step that resumes from its own files, on a fleet', () => {
  it('a GPU worker SIGKILLed mid-collection on the real steps: its replacement on another host restores the work folder from S3 and does not write the snapshots made before the kill again', async () => {
    const base = tinyRealConfig() as { steps: { collectSet: Record<string, unknown> }; temporal: Record<string, unknown> };
    const config = {
      ...base, sets: ['boolq'], heldOut: [], collectHeldOut: true,
      steps: { ...base.steps, collectSet: { ...base.steps.collectSet, snapshotSteps: 200 } },
      temporal: { ...base.temporal, cpuQueue: 'resume-cpu', gpuQueue: 'resume-gpu', heartbeatTimeoutSec: 5 },
    };
    const unitLog = path.join(work, 'units-resume.log');
    const prefix = 'fleet-resume';
    // workSyncSeconds 0: a copy at every progress report, so the kill finds several snapshots in S3.
    const [gpu1, cpu] = await Promise.all([startWorker('resume-gpu-1', 'gpu', unitLog, { prefix, workSyncSeconds: 0 }, config), startWorker('resume-cpu', 'cpu', unitLog, { prefix }, config)]);
    const client = hostEnv('resume-client', config, 'real');
    const run = client.node(['-r', REGISTER, path.join(ORCH_ROOT, 'src', 'cli.ts'), 'run', 'fleet.json', '--run-id', 'fleet-resume-1', '--no-worker', '--no-ui', '--address', dev.address], {
      cwd: client.dir, env: { ...client.env, DND_ARTIFACTS: storeUrl(prefix) }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(run);
    let runOut = '';
    run.stdout!.on('data', (d) => { runOut += String(d); });
    run.stderr!.on('data', (d) => { runOut += String(d); });
    const runExit = new Promise<number | null>((r) => run.once('exit', (c) => r(c)));

    // Kill once S3 holds a copy of the work folder with 5 snapshots, while the worker's own folder is still short of 200.
    const reader = new S3ArtifactStore({ bucket: BUCKET, prefix, endpoint: s3.endpoint, credentials: s3.credentials, cacheDir: path.join(work, 'resume-reader-cache') });
    const localWork = path.join(work, 'resume-gpu-1', 'tmp', 'dnd-work');
    const localSnapshots = (): number => Math.max(0, ...(fs.existsSync(localWork) ? fs.readdirSync(localWork) : [])
      .map((k) => path.join(localWork, k, 'set', 'snapshots')).filter((d) => fs.existsSync(d)).map((d) => fs.readdirSync(d).filter((f) => f.startsWith('step-')).length));
    // A published copy: its data objects (`<key>/<attempt>/data/files/...`) and its record (`<key>/record.json`).
    const published = async (): Promise<boolean> => {
      const keys = new Set((await reader.listObjects()).map((o) => o.key));
      return [...keys].some((k) => { const m = /^(.*)\/[^/]+\/data\/files\/set\/snapshots\/step-0005\//.exec(k); return m !== null && keys.has(`${m[1]}/record.json`); });
    };
    for (const end = Date.now() + 120_000; !(await published());) {
      if (Date.now() > end || gpu1.child.exitCode !== null) throw new Error(`no copy of the collection with 5 snapshots in S3: ${gpu1.out().slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const before = localSnapshots();
    await killHard(gpu1.child);
    expect(before).toBeLessThan(200);
    const gpu2 = await startWorker('resume-gpu-2', 'gpu', unitLog, { prefix, workSyncSeconds: 0 }, config);

    const code = await runExit;
    expect({ code, tail: code === 0 ? '' : `${runOut.slice(-3000)}\n--- gpu2:\n${gpu2.out().slice(-3000)}` }).toEqual({ code: 0, tail: '' });
    const conn = await Connection.connect({ address: dev.address });
    const result = await new Client({ connection: conn }).workflow.getHandle('fleet-resume-1').result() as PipelineResult;
    await conn.close();
    // The replacement restored the folder and wrote only the snapshots the copy lacked; the zoo is whole and verifies.
    const meta = result.zoo[0]!.result.meta as { snapshots: number; written: number; resumed: boolean };
    expect(meta).toMatchObject({ snapshots: 200, resumed: true });
    expect(meta.written).toBeLessThanOrEqual(200 - 5);
    expect(gpu2.out()).toMatch(/collectSet: work folder restored from \d+ stored cop/);
    const zooDir = await reader.resolve(result.zoo[0]!.result.ref);
    expect(digestPath(zooDir).sha256).toBe(result.zoo[0]!.result.ref.sha256);
    expect(fs.readdirSync(path.join(zooDir, 'snapshots')).filter((f) => f.startsWith('step-'))).toHaveLength(200);
    // Once each step's output was stored, its work-folder copies were removed (only an attempt killed mid-upload leaves unpublished objects).
    const records = (await reader.listObjectKeys()).map((k) => /\/([0-9a-f]{64})\/record\.json$/.exec(k)?.[1]).filter((k): k is string => k !== undefined);
    expect(records.length).toBeGreaterThan(3);
    for (const k of records) expect((await reader.get(k))?.meta['kind']).not.toBe('work');
    for (const w of [gpu2, cpu]) {
      const exit = new Promise<number | null>((r) => w.child.once('exit', (c) => r(c)));
      w.child.kill('SIGTERM');
      expect(await exit).toBe(0);
    }
  });
});
