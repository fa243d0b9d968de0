// Run config: presets merge onto the defaults, paths become absolute, and errors name field and value.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { defaultRunConfig, loadRunConfig, validateRunConfig } from './config';
import { createDemoSteps } from './demo-steps';
import { createRealSteps } from './real-steps';

const steps = createDemoSteps();

describe('run config', () => {
  it('every preset loads and validates against the real steps; quickstart overrides what its file says', () => {
    const real = createRealSteps();
    const presets = fs.readdirSync(path.join(__dirname, '..', 'presets')).map((f) => f.replace(/\.json$/, ''));
    expect(presets).toContain('quickstart');
    for (const p of presets) {
      const { config } = loadRunConfig(p, real);
      for (const [name, check] of Object.entries(real.validate ?? {})) check!(config.steps[name as keyof typeof config.steps]);
    }
    const file = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'presets', 'quickstart.json'), 'utf8'));
    const q = loadRunConfig('quickstart', real, '/x').config;
    const d = defaultRunConfig(real);
    expect(q).toMatchObject({ ...d, sets: file.sets, heldOut: file.heldOut, runsDir: '/x/runs', artifactsDir: '/x/runs/artifacts', steps: expect.any(Object) });
    expect(q.steps.collectSet).toEqual({ ...d.steps.collectSet, ...file.steps.collectSet });
    expect(q.steps.trainGenerator['train']).toEqual({ ...(d.steps.trainGenerator['train'] as object), ...file.steps.trainGenerator.train });
  });

  it('a preset written for the real steps is refused by the demo steps, naming the field', () => {
    expect(() => loadRunConfig('quickstart', steps)).toThrow(/RunConfig\.steps\.collectSet: unknown field "model"/);
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
    expect(() => validateRunConfig({ ...c, collectHeldOut: 'no' as unknown as boolean })).toThrow('RunConfig.collectHeldOut must be true or false, got "no"');
    const real = createRealSteps();
    expect(() => real.validate!.trainGenerator!({ poolPerSet: 4 })).toThrow('trainGenerator.poolPerSet (4) must be 0 or >= promptsPerPair (16)');
    expect(() => real.validate!.evaluate!({ promptSplit: 'dev' })).toThrow(/evaluate\.promptSplit must be one of "test", "train", got "dev"/);
    expect(() => real.validate!.collectSet!({ rank: 0 })).toThrow(/CollectConfig\.rank must be an integer >= 1, got 0/);
  });
});
