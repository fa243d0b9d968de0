// The `dnd` command as scripts meet it (a process, DND_STEPS=demo, the embedded dev server): `run --json` prints
// one JSON summary on stdout and progress on stderr one line per step change, the reports land beside the run,
// `runs` / `status --json` read them back; bad configs and unreachable addresses fail before anything starts.
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { freePort } from '../src/dev-server';
import { DATA_DIR, ORCH_ROOT, tmpDir } from './support/env';

const CLI = path.join(ORCH_ROOT, 'src', 'cli.ts');
const REGISTER = path.join(__dirname, 'support', 'register.cjs');

interface Done { code: number | null; stdout: string; stderr: string }
function dnd(cwd: string, env: Record<string, string>, ...args: string[]): Promise<Done> {
  const child = spawn(process.execPath, ['-r', REGISTER, CLI, ...args], { cwd, env: { ...process.env, DND_STEPS: 'demo', TEMPORAL_ADDRESS: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => { stdout += String(d); });
  child.stderr.on('data', (d) => { stderr += String(d); });
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })));
}

describe('dnd for scripts', () => {
  const dir = tmpDir('cli-json');
  fs.writeFileSync(path.join(dir, 'fast.json'), JSON.stringify({
    sets: ['boolq', 'openbookqa'], heldOut: ['openbookqa'], dataDir: DATA_DIR, steps: { collectSet: { snapshots: 3, unitDelayMs: 300 } },
  }));

  it('run --json: the summary alone on stdout, progress on stderr one line per step change, reports beside the run; runs and status read it back', async () => {
    const run = await dnd(dir, {}, 'run', 'fast.json', '--run-id', 'j1', '--no-ui', '--json');
    expect([run.code, run.stderr.slice(-400)]).toEqual([0, expect.any(String)]);
    const summary = JSON.parse(run.stdout);
    const runDir = path.join(dir, 'runs', 'j1');
    expect(summary).toMatchObject({ runId: 'j1', status: 'completed', preset: null, workflow: 'dndPipeline', runDir, log: path.join(runDir, 'dnd.log') });
    expect(summary.reports).toEqual([expect.objectContaining({ runId: 'j1', md: path.join(runDir, 'report.md') })]);
    expect(fs.readFileSync(path.join(runDir, 'report.md'), 'utf8')).toContain('| openbookqa |');
    // One line per change: a workflow's line is printed again only when it changed since its last line, so the
    // tree is never reprinted whole. (A state may recur, e.g. a step shown before its first heartbeat, then
    // waiting for the worker's slot, then at 0 units: that is a change each time, and a loaded machine shows it.)
    const progress = run.stderr.split('\n').filter((l) => /^j1(\/\S+)? {2}/.test(l));
    expect(progress.length).toBeGreaterThan(0);
    const last = new Map<string, string>();
    for (const l of progress) {
      const id = l.split(' ')[0]!;
      expect([id, last.get(id)]).not.toEqual([id, l]);
      last.set(id, l);
    }
    expect(last.size).toBeGreaterThan(1);
    expect(run.stderr).toContain('[dnd] Temporal and worker warnings: runs/j1/dnd.log');
    expect(run.stderr.includes('\u001b[')).toBe(false); // no colour or cursor codes in a pipe

    const runs = await dnd(dir, {}, 'runs', '--json');
    expect(runs.code).toBe(0);
    expect(JSON.parse(runs.stdout)).toEqual([expect.objectContaining({ runId: 'j1', status: 'completed', preset: null, report: path.join(runDir, 'report.md') })]);
    const table = await dnd(dir, {}, 'runs');
    expect(table.stdout).toMatch(/^RUN +STATUS +PRESET +STARTED \(UTC\) +REPORT\nj1 +completed +- +\d{4}-\d\d-\d\d \d\d:\d\d +\S+report\.md$/m);

    const status = await dnd(dir, {}, 'status', 'j1', '--json');
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ runId: 'j1', status: 'COMPLETED', reports: [path.join(runDir, 'report.md')], manifest: path.join(runDir, 'manifest.json') });
  });

  it('a config with a wrong type deep inside is refused before any server or step starts, naming the path', async () => {
    fs.writeFileSync(path.join(dir, 'bad.json'), JSON.stringify({ sets: ['boolq', 'openbookqa'], heldOut: ['openbookqa'], dataDir: DATA_DIR, temporal: { retry: { maximumAttempts: 'abc' } } }));
    const r = await dnd(dir, {}, 'run', 'bad.json', '--run-id', 'bad1');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('temporal.retry.maximumAttempts: expected number, got "abc"');
    expect(r.stderr).not.toContain('starting the Temporal dev server');
    expect(fs.existsSync(path.join(dir, 'runs', 'bad1'))).toBe(false);
  });

  it('an unreachable TEMPORAL_ADDRESS is named with the reason and what to check, never a raw transport error', async () => {
    const port = await freePort(); // free a moment ago: nothing listens there
    const r = await dnd(dir, { TEMPORAL_ADDRESS: `127.0.0.1:${port}` }, 'run', 'fast.json', '--run-id', 'unreach');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`dnd: cannot reach Temporal at 127.0.0.1:${port} (TEMPORAL_ADDRESS): connection refused (nothing listens on that port). Check that a Temporal frontend runs there`);
    expect(r.stderr).not.toMatch(/tonic|transport::Error/);
  });

  it('config schema prints a JSON Schema; config show prints the preset resolved; presets --json lists them; help needs no Temporal', async () => {
    const schema = await dnd(dir, { DND_STEPS: 'real' }, 'config', 'schema');
    expect(JSON.parse(schema.stdout)).toMatchObject({ type: 'object', properties: { steps: { type: 'object' } } });
    const show = await dnd(dir, { DND_STEPS: 'real' }, 'config', 'show', 'quickstart');
    expect(JSON.parse(show.stdout).steps.trainGenerator.train).toMatchObject({ totalSteps: 200, lr: 0.001, keepCheckpoints: 2 });
    const presets = await dnd(dir, {}, 'presets', '--json');
    expect(JSON.parse(presets.stdout)).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'quickstart', comment: expect.stringMatching(/^Quickstart/) })]));
    const help = await dnd(dir, { TEMPORAL_ADDRESS: '127.0.0.1:1' }, '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/runs .*list runs/);
  });
});
