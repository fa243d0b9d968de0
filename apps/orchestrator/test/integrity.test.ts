// Issue 20's probes, tried again as a user would: `dnd` as a real process on real set files. Each test
// asserts the command's last line and what is (not) left on disk. Bad input must fail before anything is
// written or started (preflight), names that escape are refused, a live run id is not touched, a corrupt
// config.json is named, and `dnd store verify|gc` see what a probe broke.
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { artifactKey, LocalArtifactStore, writeSafetensors } from '@dnd/core';
import { DATA_DIR, ORCH_ROOT, tmpDir } from './support/env';

const CLI = path.join(ORCH_ROOT, 'src', 'cli.ts');
const REGISTER = path.join(__dirname, 'support', 'register.cjs');

interface Result { status: number | null; lastLine: string; all: string }
function dnd(cwd: string, args: string[], env: Record<string, string> = {}): Result {
  const r = spawnSync(process.execPath, ['-r', REGISTER, CLI, ...args], {
    cwd, encoding: 'utf8', timeout: 180_000,
    env: { ...process.env, DND_STEPS: 'demo', TEMPORAL_ADDRESS: '', DND_BACKEND: '', ...env },
  });
  const lines = (r.stderr ?? '').trim().split('\n');
  return { status: r.status, lastLine: lines[lines.length - 1] ?? '', all: `${r.stdout}\n${r.stderr}` };
}

// A set folder with the first `n` records of a shipped set, optionally rewritten.
function setFrom(root: string, name: string, src: string, n: number, edit: (r: Record<string, unknown>) => Record<string, unknown> = (r) => r): string {
  const dir = path.join(root, name);
  fs.mkdirSync(dir, { recursive: true });
  for (const split of ['train', 'test']) {
    const recs = (JSON.parse(fs.readFileSync(path.join(DATA_DIR, src, `${split}.json`), 'utf8')) as Array<Record<string, unknown>>).slice(0, n);
    fs.writeFileSync(path.join(dir, `${split}.json`), JSON.stringify(recs.map(edit)));
  }
  return dir;
}

function writeConfig(cwd: string, over: Record<string, unknown>): string {
  const f = path.join(cwd, 'probe.json');
  fs.writeFileSync(f, JSON.stringify(over));
  return 'probe.json';
}

describe('names that become paths (item 1)', () => {
  it('a held-out set named ../../…/<dir>/ARC-Easy in a config file is refused; nothing is written there or under runs/', () => {
    const cwd = tmpDir('probe1');
    const target = tmpDir('probe1-target');
    const evil = `${'../'.repeat(10)}${target.slice(1)}/ARC-Easy`;
    const cfg = writeConfig(cwd, { sets: ['boolq', evil], heldOut: [evil], dataDir: DATA_DIR });
    const r = dnd(cwd, ['run', cfg, '--run-id', 'p1', '--no-ui']);
    expect(r.status).toBe(1);
    expect(r.lastLine).toBe(`dnd: config ${path.join(cwd, cfg)}: RunConfig.sets[1]: set ${JSON.stringify(evil)} is not a valid name: it must start with a letter or digit and use only letters, digits, '.', '_' or '-' (at most 128 characters, no "..")`);
    expect(fs.readdirSync(target)).toEqual([]);
    expect(fs.readdirSync(cwd)).toEqual(['probe.json']);
  });

  it('--run-id ../../../../<dir> and --run-id "" are refused before anything is written', () => {
    const cwd = tmpDir('probe1b');
    const target = tmpDir('probe1b-target');
    const cfg = writeConfig(cwd, { sets: ['boolq', 'openbookqa'], heldOut: ['openbookqa'], dataDir: DATA_DIR });
    const traversal = `${'../'.repeat(12)}${target.slice(1)}`;
    const r = dnd(cwd, ['run', cfg, '--run-id', traversal, '--no-ui']);
    expect(r.status).toBe(1);
    expect(r.lastLine).toContain(`dnd: run id ${JSON.stringify(traversal)} is not a valid name`);
    const e = dnd(cwd, ['run', cfg, '--run-id', '', '--no-ui']);
    expect(e.status).toBe(1);
    expect(e.lastLine).toContain('dnd: run id "" is not a valid name');
    expect(fs.readdirSync(target)).toEqual([]);
    expect(fs.readdirSync(cwd)).toEqual(['probe.json']);
    const s = dnd(cwd, ['status', '../../etc']);
    expect(s.lastLine).toContain('dnd: run id "../../etc" is not a valid name');
  });
});

describe('bad input fails fast, once, with its own message (item 5)', () => {
  const data = tmpDir('probe5-data');
  setFrom(data, 'boolq', 'boolq', 12);
  setFrom(data, 'openbookqa', 'openbookqa', 12);
  const emptyDir = path.join(data, 'empty'); fs.mkdirSync(emptyDir);
  fs.writeFileSync(path.join(emptyDir, 'train.jsonl'), ''); fs.writeFileSync(path.join(emptyDir, 'test.jsonl'), '');
  const malformed = path.join(data, 'malformed'); fs.mkdirSync(malformed);
  const good = JSON.stringify({ instruction: 'Q? Answer format: true/false', output: 'the correct answer is true', answer: 'true' });
  fs.writeFileSync(path.join(malformed, 'train.jsonl'), `${good}\n${good}\n{"instruction": "broken",\n${good}\n`);
  fs.writeFileSync(path.join(malformed, 'test.jsonl'), `${good}\n${good}\n`);
  setFrom(data, 'nooutput', 'boolq', 12, ({ output: _o, ...r }) => r);
  setFrom(data, 'noanswer', 'boolq', 12, ({ answer: _a, ...r }) => r);

  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['an empty set', { sets: ['boolq', 'empty'], heldOut: ['boolq'] }, /^dnd: task set "empty": task set empty: .*(train|test)\.jsonl has no usable records$/],
    ['a malformed JSONL line', { sets: ['boolq', 'malformed'], heldOut: ['boolq'] }, /^dnd: task set "malformed": task file .*malformed\/train\.jsonl:3: malformed JSON line \(.*\) \(pass skipBad \/ --skip-bad to skip bad lines\)$/],
    ['records without output', { sets: ['boolq', 'nooutput'], heldOut: ['boolq'] }, /^dnd: task set "nooutput": 12 of 12 train items have an empty "output"; a LoRA cannot be fine-tuned on them$/],
    ['a held-out set without answer', { sets: ['boolq', 'noanswer'], heldOut: ['noanswer'] }, /^dnd: held-out set "noanswer" cannot be scored: set "noanswer" has 12 of 12 items without labels/],
  ];
  it.each(cases)('%s: exit 1 in one attempt, the cause as the last line, no run directory, no server', (_what, over, want) => {
    const cwd = tmpDir('probe5');
    const cfg = writeConfig(cwd, { dataDir: data, ...over });
    const r = dnd(cwd, ['run', cfg, '--run-id', 'p5', '--no-ui'], { DND_STEPS: 'real' });
    expect(r.status).toBe(1);
    expect(r.lastLine).toMatch(want);
    expect(r.all).not.toContain('starting the Temporal dev server');
    expect(fs.readdirSync(cwd)).toEqual(['probe.json']);
  });

  it('rank: -4 fails at config validation with the field path', () => {
    const cwd = tmpDir('probe5-rank');
    const cfg = writeConfig(cwd, { sets: ['boolq', 'openbookqa'], heldOut: ['openbookqa'], dataDir: data, steps: { collectSet: { rank: -4 } } });
    const r = dnd(cwd, ['run', cfg, '--run-id', 'p5', '--no-ui'], { DND_STEPS: 'real' });
    expect(r.status).toBe(1);
    // The config check lists every problem, one per line, each with its field path: here the one.
    expect(r.lastLine).toBe('  steps.collectSet.rank: Too small: expected number to be >=1');
    expect(r.all).toContain('1 problem, nothing was started');
    expect(fs.readdirSync(cwd)).toEqual(['probe.json']);
  });

  it('DND_BACKEND=nonsense under run fails before the run starts', () => {
    const cwd = tmpDir('probe5-backend');
    const cfg = writeConfig(cwd, { sets: ['boolq', 'openbookqa'], heldOut: ['openbookqa'], dataDir: data });
    const r = dnd(cwd, ['run', cfg, '--run-id', 'p5', '--no-ui'], { DND_BACKEND: 'nonsense' });
    expect(r.status).toBe(1);
    expect(r.lastLine).toBe('dnd: DND_BACKEND must be one of tensorflow-gpu, tensorflow, wasm, cpu, got "nonsense"');
    expect(fs.readdirSync(cwd)).toEqual(['probe.json']);
  });
});

describe('run directories (items 4 and 7)', () => {
  it('a second dnd run with a live run id changes nothing, not even config.json, and names the holder', async () => {
    const cwd = tmpDir('probe4');
    const cfg = writeConfig(cwd, { sets: ['boolq', 'openbookqa'], heldOut: ['openbookqa'], dataDir: DATA_DIR });
    const runDir = path.join(cwd, 'runs', 'p4');
    fs.mkdirSync(runDir, { recursive: true });
    const before = '{"runId":"p4","note":"the first run\'s config"}\n';
    fs.writeFileSync(path.join(runDir, 'config.json'), before);
    // The holder: a real process holding the lock through the real lock code, as a live `dnd run` does.
    const holder = spawn(process.execPath, ['-r', REGISTER, '-e',
      `require(${JSON.stringify(path.join(ORCH_ROOT, 'src', 'run-lock.ts'))}).acquireRunLock(${JSON.stringify(runDir)}, 'p4'); process.stdout.write('locked\\n'); setInterval(() => {}, 1000);`], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((resolve, reject) => {
        holder.stdout!.on('data', (d) => { if (String(d).includes('locked')) resolve(); });
        holder.once('exit', (c) => reject(new Error(`holder exited ${c}`)));
      });
      const listing = fs.readdirSync(runDir).sort();
      const r = dnd(cwd, ['run', cfg, '--run-id', 'p4', '--no-ui']);
      expect(r.status).toBe(1);
      expect(r.lastLine).toMatch(new RegExp(`^dnd: run p4 is in use by process ${holder.pid} \\(.*\\); nothing was changed\\.`));
      expect(fs.readFileSync(path.join(runDir, 'config.json'), 'utf8')).toBe(before);
      expect(fs.readdirSync(runDir).sort()).toEqual(listing);
      const again = dnd(cwd, ['resume', 'p4']);
      expect(again.lastLine).toMatch(/^dnd: .*p4.*config\.json/); // the saved "run" above is not a run: named, not parsed blindly
    } finally {
      holder.kill('SIGKILL');
    }
  });

  it('a corrupted runs/<id>/config.json gives an error naming the file', () => {
    const cwd = tmpDir('probe7');
    const runDir = path.join(cwd, 'runs', 'p7');
    fs.mkdirSync(runDir, { recursive: true });
    fs.writeFileSync(path.join(runDir, 'config.json'), '{"runId": "p7", "preset": null, {broken');
    const r = dnd(cwd, ['status', 'p7']);
    expect(r.status).toBe(1);
    expect(r.lastLine).toMatch(new RegExp(`^dnd: ${path.join(runDir, 'config.json').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is corrupt: .*position 32`));
  });
});

describe('dnd store verify / gc (items 3 and 7)', () => {
  it('verify finds a snapshot whose floats were overwritten, --fix quarantines it, gc removes it and dead writers\' .tmp folders', async () => {
    const cwd = tmpDir('probe3');
    const root = path.join(cwd, 'artifacts');
    const store = new LocalArtifactStore(root);
    const key = artifactKey('collectSet', '1', { set: 'boolq' }, []);
    const okKey = artifactKey('collectSet', '1', { set: 'piqa' }, []);
    for (const k of [key, okKey]) {
      await store.putDir(k, 'application/vnd.dnd.zoo-set+dir', async (dir) => {
        writeSafetensors(path.join(dir, 'adapter_model.safetensors'), { w: { dtype: 'F32', shape: [16], data: Float32Array.from({ length: 16 }, (_, i) => i) } });
      });
    }
    const f = path.join(store.entryDir(key), 'data', 'adapter_model.safetensors');
    const buf = fs.readFileSync(f);
    for (let i = 8 + Number(buf.readBigUInt64LE(0)) + 3; i < buf.length; i += 4) buf[i] = 0x7f;
    fs.writeFileSync(f, buf);
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    fs.mkdirSync(path.join(root, '.tmp', `${dead.stdout}-abc123`));

    const v = dnd(cwd, ['store', 'verify', '--artifacts', root]);
    expect(v.status).toBe(1);
    expect(v.all).toMatch(new RegExp(`BAD ${key}: content digest [0-9a-f]{64}`));
    expect(v.all).toContain('2 entries checked');
    expect(v.all).toContain('1 ok, 1 bad');
    const fix = dnd(cwd, ['store', 'verify', '--artifacts', root, '--fix']);
    expect(fix.all).toContain(`quarantined: ${path.join(root, 'quarantine', key)}`);
    expect(fs.existsSync(store.entryDir(key))).toBe(false);
    const ok = dnd(cwd, ['store', 'verify', '--artifacts', root]);
    expect(ok.status).toBe(0);
    expect(ok.all).toContain('1 entries checked');

    // The steps' cache of scoring calls (work/.step-cache) is kept by a plain gc and cleared by --unreferenced.
    const cached = path.join(root, 'work', '.step-cache', 'eval-calls', 'ab', 'ab12.json');
    fs.mkdirSync(path.dirname(cached), { recursive: true });
    fs.writeFileSync(cached, '[]');
    const gc = dnd(cwd, ['store', 'gc', '--artifacts', root, '--runs-dir', path.join(cwd, 'runs')]);
    expect(gc.status).toBe(0);
    expect(fs.existsSync(cached)).toBe(true);
    expect(gc.all).toContain(`removed ${path.join(root, '.tmp', `${dead.stdout}-abc123`)}`);
    expect(fs.readdirSync(path.join(root, '.tmp'))).toEqual([]);
    expect(fs.readdirSync(path.join(root, 'quarantine'))).toEqual([]);
    expect(store.keys()).toEqual([okKey]);
    // --unreferenced: no manifest or alias reaches the remaining entry, so it goes too.
    const un = dnd(cwd, ['store', 'gc', '--artifacts', root, '--runs-dir', path.join(cwd, 'runs'), '--unreferenced']);
    expect(un.all).toContain(`removed ${store.entryDir(okKey)}`);
    expect(un.all).toContain(`removed ${path.join(root, 'work', '.step-cache')}`);
    expect(fs.existsSync(cached)).toBe(false);
    expect(store.keys()).toEqual([]);
  });
});
