// The build check between a worker and its step children: the digest follows the compiled code (not file times),
// and a child that finds another build on disk than its worker loaded refuses before any step code runs.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { fingerprintDirs } from './build-fingerprint';
import { runStepInChild } from './activities/step-process';
import type { StepContext } from './step-contract';

describe('build fingerprint', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'dnd-build-'));
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  it('changes with the compiled code, not with file times or files other than .js', () => {
    const dist = path.join(root, 'dist');
    fs.mkdirSync(path.join(dist, 'activities'), { recursive: true });
    fs.writeFileSync(path.join(dist, 'index.js'), 'exports.V = "6";\n');
    fs.writeFileSync(path.join(dist, 'activities', 'step.js'), 'exports.run = () => 1;\n');
    const a = fingerprintDirs([dist]);
    // A rebuild that writes the same code: same build.
    fs.writeFileSync(path.join(dist, 'index.js'), 'exports.V = "6";\n');
    fs.utimesSync(path.join(dist, 'activities', 'step.js'), new Date(), new Date(Date.now() + 60_000));
    fs.writeFileSync(path.join(dist, 'index.js.map'), '{}');
    expect(fingerprintDirs([dist])).toBe(a);
    // One changed constant, a new module, a module moved to another folder: another build each time.
    fs.writeFileSync(path.join(dist, 'index.js'), 'exports.V = "7";\n');
    const b = fingerprintDirs([dist]);
    expect(b).not.toBe(a);
    fs.writeFileSync(path.join(dist, 'extra.js'), '');
    expect(fingerprintDirs([dist])).not.toBe(b);
    expect(fingerprintDirs([dist, path.join(root, 'missing')])).not.toBe(fingerprintDirs([dist]));
  });

  it('a step child refuses a build other than its worker\'s, naming what to do, before the step runs', async () => {
    const workDir = path.join(root, 'work');
    const outDir = path.join(root, 'out');
    fs.mkdirSync(outDir, { recursive: true });
    const ctx: StepContext = {
      resume: { done: 0, last: null }, workDir, signal: new AbortController().signal,
      checkpoint: () => Promise.reject(new Error('no checkpoint expected')), progress: () => undefined,
      resolve: () => Promise.reject(new Error('no resolve expected')), heartbeat: () => undefined, log: () => undefined,
    };
    // From the sources the child has no build (null); a worker that loaded build "0123…" is another build.
    const err = await runStepInChild('collectSet', { set: 'boolq' }, outDir, ctx, { build: '0123456789abcdef', env: { DND_STEPS: 'demo' } }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/^step process: restart this worker \(a local run: interrupt it, then dnd resume <run-id>\): the code on disk is not the build it loaded \(worker 0123456789ab, on disk sources\)\. The packages were rebuilt after the worker started/);
    expect(fs.readdirSync(outDir)).toEqual([]);
    expect(fs.existsSync(workDir)).toBe(false);
  });
});
