// Run config: presets merge onto the defaults, paths become absolute, and errors name field and value.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { defaultRunConfig, loadRunConfig, validateRunConfig } from './config';
import { createDemoSteps } from './demo-steps';

const steps = createDemoSteps();

describe('run config', () => {
  it('every preset loads and validates; quickstart overrides sets and heldOut only', () => {
    const presets = fs.readdirSync(path.join(__dirname, '..', 'presets')).map((f) => f.replace(/\.json$/, ''));
    expect(presets).toContain('quickstart');
    for (const p of presets) expect(loadRunConfig(p, steps).preset).toBe(p);
    const q = loadRunConfig('quickstart', steps, '/x').config;
    const d = defaultRunConfig(steps);
    expect(q).toEqual({ ...d, sets: ['boolq', 'openbookqa'], heldOut: ['openbookqa'], runsDir: '/x/runs', artifactsDir: '/x/runs/artifacts' });
  });

  it('a JSON file of overrides merges deeply; an unknown field is an error that names it', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dnd-cfg-'));
    fs.writeFileSync(path.join(dir, 'a.json'), JSON.stringify({ steps: { collectSet: { snapshots: 7 } }, temporal: { retry: { maximumAttempts: 3 } } }));
    const c = loadRunConfig('a.json', steps, dir).config;
    expect(c.steps.collectSet['snapshots']).toBe(7);
    expect(c.steps.collectSet['rank']).toBe(2);
    expect(c.temporal.retry).toMatchObject({ maximumAttempts: 3, initialIntervalSec: 5 });
    fs.writeFileSync(path.join(dir, 'b.json'), JSON.stringify({ steps: { collectSet: { snapshotz: 7 } } }));
    expect(() => loadRunConfig('b.json', steps, dir)).toThrow('RunConfig.steps.collectSet: unknown field "snapshotz"');
    expect(() => loadRunConfig('nope', steps, dir)).toThrow(/neither a preset \(.*quickstart.*\) nor a JSON file/);
  });

  it('validation names the field and the value', () => {
    const c = defaultRunConfig(steps);
    expect(() => validateRunConfig({ ...c, heldOut: ['nope'] })).toThrow('RunConfig.heldOut: "nope" is not in sets');
    expect(() => validateRunConfig({ ...c, heldOut: [...c.sets] })).toThrow(/leaves no set to train on/);
    expect(() => validateRunConfig({ ...c, temporal: { ...c.temporal, heartbeatTimeoutSec: 0 } })).toThrow('RunConfig.temporal.heartbeatTimeoutSec must be a number >= 1, got 0');
    expect(() => validateRunConfig({ ...c, temporal: { ...c.temporal, gpuQueue: c.temporal.cpuQueue } })).toThrow(/gpuQueue must differ/);
    expect(() => validateRunConfig({ ...c, seed: 1.5 })).toThrow('RunConfig.seed must be an integer >= 0, got 1.5');
  });
});
