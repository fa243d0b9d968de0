// The `dnd` command as a user runs it (TypeScript source through the tests' swc hook; DND_STEPS=demo): run on a config
// file with an embedded dev server, Ctrl-C, status, resume to the report; run + cancel from another process.
import { spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { startDevServer, type DevServer } from '../src/dev-server';
import { DATA_DIR, ORCH_ROOT, tmpDir, waitFor } from './support/env';

const CLI = path.join(ORCH_ROOT, 'src', 'cli.ts');
const REGISTER = path.join(__dirname, 'support', 'register.cjs');

const spawned: ChildProcess[] = [];
// A failed expectation must not leave a `dnd run` (and its dev server) behind: SIGINT stops both.
afterEach(async () => {
  for (const c of spawned.splice(0)) {
    if (c.exitCode === null && c.signalCode === null) {
      const gone = new Promise((r) => c.once('exit', r));
      c.kill('SIGINT');
      await gone;
    }
  }
});

interface Proc { child: ChildProcess; out: () => string; exit: Promise<number | null> }
function dnd(cwd: string, ...args: string[]): Proc {
  return dndWith({ TEMPORAL_ADDRESS: '' }, cwd, ...args);
}
function dndWith(env: Record<string, string>, cwd: string, ...args: string[]): Proc {
  const child = spawn(process.execPath, ['-r', REGISTER, CLI, ...args], { cwd, env: { ...process.env, DND_STEPS: 'demo', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  spawned.push(child);
  let text = '';
  child.stdout!.on('data', (d) => { text += String(d); });
  child.stderr!.on('data', (d) => { text += String(d); });
  return { child, out: () => text, exit: new Promise((r) => child.once('exit', (code) => r(code))) };
}

describe('dnd command', () => {
  const dir = tmpDir('cli');
  fs.writeFileSync(path.join(dir, 'slow.json'), JSON.stringify({
    sets: ['boolq', 'openbookqa'], heldOut: ['openbookqa'], dataDir: DATA_DIR,
    steps: { collectSet: { snapshots: 6, unitDelayMs: 2000 } }, // 12 s of collection: a `dnd status` process (node + swc, 5-8 s on a loaded 2-core machine) starts mid-collection
    temporal: { heartbeatTimeoutSec: 2, retry: { initialIntervalSec: 0.2, maximumIntervalSec: 1 } },
  }));

  it('a second dnd run with the id of a live run changes nothing (not even config.json) and names the process that holds it', async () => {
    // Its own config (4 snapshots): its stored units must not shorten the other tests' runs in this folder.
    fs.writeFileSync(path.join(dir, 'slow4.json'), fs.readFileSync(path.join(dir, 'slow.json'), 'utf8').replace('"snapshots":3', '"snapshots":4'));
    const first = dnd(dir, 'run', 'slow4.json', '--run-id', 'c3', '--no-ui');
    await waitFor('collection to start', () => /c3\/zoo\/boolq .*collectSet/.test(first.out()), 60_000);
    const runDir = path.join(dir, 'runs', 'c3');
    const config = fs.readFileSync(path.join(runDir, 'config.json'));
    const lock = fs.readFileSync(path.join(runDir, 'run.lock'), 'utf8');
    fs.writeFileSync(path.join(dir, 'other.json'), JSON.stringify({ sets: ['boolq', 'piqa'], heldOut: ['piqa'], dataDir: DATA_DIR }));
    const second = dnd(dir, 'run', 'other.json', '--run-id', 'c3', '--no-ui');
    expect(await second.exit).toBe(1);
    const last = second.out().trim().split('\n').pop();
    expect(last).toMatch(new RegExp(`^dnd: run c3 is in use by process ${first.child.pid} \\(dnd run slow4\\.json --run-id c3 --no-ui, since .*\\); nothing was changed\\.`));
    expect(fs.readFileSync(path.join(runDir, 'config.json'))).toEqual(config);
    expect(fs.readFileSync(path.join(runDir, 'run.lock'), 'utf8')).toBe(lock);
    expect(second.out()).not.toContain('starting the Temporal dev server');
    first.child.kill('SIGINT');
    expect(await first.exit).toBe(130);
    expect(fs.existsSync(path.join(runDir, 'run.lock'))).toBe(false); // released on the way out
  });

  it('bad input found inside the worker fails the run once, and its own message is the last line (not "Child Workflow execution failed")', async () => {
    // A set that preflight can load (one JSONL file, split by seed) but the demo collectSet refuses (it wants
    // train.json / test.json): the failure happens in an activity, two child workflows down.
    const data = path.join(dir, 'data-c4');
    fs.mkdirSync(path.join(data, 'jsonlonly'), { recursive: true });
    fs.cpSync(path.join(DATA_DIR, 'boolq'), path.join(data, 'boolq'), { recursive: true });
    const rec = JSON.stringify({ instruction: 'Q? Answer format: true/false', output: 'the correct answer is true', answer: 'true' });
    fs.writeFileSync(path.join(data, 'jsonlonly', 'train.jsonl'), `${rec}\n${rec}\n${rec}\n`);
    fs.writeFileSync(path.join(dir, 'c4.json'), JSON.stringify({ sets: ['boolq', 'jsonlonly'], heldOut: ['boolq'], dataDir: data, temporal: { retry: { initialIntervalSec: 5, maximumAttempts: 10 } } }));
    const run = dnd(dir, 'run', 'c4.json', '--run-id', 'c4', '--no-ui');
    expect(await run.exit).toBe(1);
    const lines = run.out().trim().split('\n');
    expect(lines[lines.length - 1]).toBe(`dnd: run c4 failed: collectSet: task set "jsonlonly": no train.json or test.json in ${path.join(data, 'jsonlonly')}`);
    // The worker's warning of the one attempt, in the run's log file (Temporal's logs never go over the progress).
    const log = fs.readFileSync(path.join(dir, 'runs', 'c4', 'dnd.log'), 'utf8');
    expect(log).toMatch(/Activity failed.*"attempt":1[,}]/);
    expect(log).not.toMatch(/"attempt":2[,}]/);
    expect(run.out()).not.toMatch(/attempt: 2,/); // never retried (retry config above would allow 10)
    expect(fs.existsSync(path.join(dir, 'runs', 'c4', 'run.lock'))).toBe(false);
  });

  it('run, Ctrl-C, status, resume: the run finishes from its stored history and prints report and manifest', async () => {
    const run = dnd(dir, 'run', 'slow.json', '--run-id', 'c1', '--no-ui');
    await waitFor('collection to start', () => /c1\/zoo\/boolq .*collectSet/.test(run.out()), 60_000);
    const live = dnd(dir, 'status', 'c1'); // through the running command's dev server (runs/c1/server.json)
    expect(await live.exit).toBe(0);
    expect(live.out()).not.toContain('starting the Temporal dev server');
    expect(live.out()).toMatch(/^c1 {2}\S+\nc1\/zoo {2}/m);
    run.child.kill('SIGINT');
    expect(await run.exit).toBe(130);
    expect(run.out()).toContain('dnd resume c1');
    expect(fs.existsSync(path.join(dir, 'runs', 'c1', 'temporal.db'))).toBe(true);
    expect(fs.existsSync(path.join(dir, 'runs', 'c1', 'server.json'))).toBe(false);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'runs', 'c1', 'status.json'), 'utf8'))).toMatchObject({ runId: 'c1', status: 'interrupted' });

    expect(run.out()).toMatch(/^overall \d+% \(\d\/4 steps\) · \d+m elapsed/m); // zoo/boolq, pairs, train, evaluate
    const status = dnd(dir, 'status', 'c1');
    expect(await status.exit).toBe(0);
    expect(status.out()).toMatch(/^c1 {2}(zoo|pairs)$/m);
    expect(status.out()).toMatch(/^overall \d+% \(\d\/4 steps\) · \d+m elapsed · ETA ~\d+m \(from unit costs/m);

    const resume = dnd(dir, 'resume', 'c1', '--no-ui');
    expect([await resume.exit, resume.out()]).toEqual([0, expect.stringContaining('attached to c1 (RUNNING)')]);
    const report = /^report: (.*)$/m.exec(resume.out())![1]!;
    expect(report).toBe(path.join(dir, 'runs', 'c1', 'report.md')); // beside the run, not in the store
    expect(fs.readFileSync(report, 'utf8')).toContain('| openbookqa |');
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'runs', 'c1', 'status.json'), 'utf8'))).toMatchObject({ status: 'completed', reports: [report] });
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'runs', 'c1', 'manifest.json'), 'utf8'));
    expect(manifest).toMatchObject({ runId: 'c1', preset: null, temporal: { workflowIds: expect.arrayContaining(['c1', 'c1/zoo/boolq', 'c1/train']) } });
  });

  it('run returns within 10 s of printing its report, and leaves no dev server behind', async () => {
    fs.writeFileSync(path.join(dir, 'fast.json'), JSON.stringify({ sets: ['boolq', 'openbookqa'], heldOut: ['openbookqa'], dataDir: DATA_DIR }));
    const run = dnd(dir, 'run', 'fast.json', '--run-id', 'c5', '--no-ui');
    let reportAt = 0;
    run.child.stdout!.on('data', (d) => { if (!reportAt && /^report: /m.test(String(d))) reportAt = Date.now(); });
    expect([await run.exit, run.out()]).toEqual([0, expect.stringMatching(/^report: .*report\.md$/m)]);
    const exitedAt = Date.now();
    expect(reportAt).toBeGreaterThan(0);
    expect(exitedAt - reportAt).toBeLessThan(10_000);
    const db = path.join(dir, 'runs', 'c5', 'temporal.db');
    const ps = spawn('ps', ['-eo', 'pid,args'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let table = '';
    ps.stdout!.on('data', (d) => { table += String(d); });
    await new Promise((r) => ps.once('exit', r));
    expect(table.split('\n').filter((l) => l.includes(db))).toEqual([]);
  });

  it('with TEMPORAL_ADDRESS: uses that server, and cancel from another process stops a live run', async () => {
    const server: DevServer = await startDevServer({ dbFile: path.join(dir, 'cluster', 'temporal.db'), ui: false });
    try {
      // Its own store: c1 above computed this config's steps, and a cached run would end before the cancel arrives.
      const env = { TEMPORAL_ADDRESS: server.address, DND_ARTIFACTS: path.join(dir, 'artifacts-c2') };
      const run = dndWith(env, dir, 'run', 'slow.json', '--run-id', 'c2', '--no-ui');
      await waitFor('the run to start', () => run.out().includes('started dndPipeline c2'), 60_000);
      const cancel = dndWith(env, dir, 'cancel', 'c2');
      expect([await cancel.exit, cancel.out()]).toEqual([0, expect.stringContaining('cancellation requested for c2')]);
      expect([await run.exit, run.out()]).toEqual([1, expect.stringMatching(/run c2 was cancelled/)]);
      expect(run.out()).not.toContain('starting the Temporal dev server');
      expect(fs.existsSync(path.join(dir, 'runs', 'c2', 'temporal.db'))).toBe(false);
    } finally {
      await server.stop();
    }
  });
});
