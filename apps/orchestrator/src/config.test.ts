// Run config: presets merge onto the defaults, paths become absolute, and errors name field and value.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { sharedDir } from '@dnd/dataset';
import { runPlan } from './client';
import { addSets, defaultRunConfig, loadRunConfig, setDirOf, validateRunConfig } from './config';
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
    expect(() => validateRunConfig({ ...c, heldOut: ['nope'] })).toThrow('heldOut[0]: "nope" is not in sets');
    expect(() => validateRunConfig({ ...c, heldOut: [...c.sets] })).toThrow(/heldOut: leaves no set to train on/);
    expect(() => validateRunConfig({ ...c, temporal: { ...c.temporal, heartbeatTimeoutSec: 0 } })).toThrow(/temporal\.heartbeatTimeoutSec: .*>=1/);
    expect(() => validateRunConfig({ ...c, temporal: { ...c.temporal, gpuQueue: c.temporal.cpuQueue } })).toThrow(/temporal\.gpuQueue: must differ/);
    expect(() => validateRunConfig({ ...c, seed: 1.5 })).toThrow('seed: expected int, got 1.5');
    expect(() => validateRunConfig({ ...c, collectHeldOut: 'no' as unknown as boolean })).toThrow('collectHeldOut: expected boolean, got "no"');
    const real = createRealSteps();
    expect(() => real.validate!.trainGenerator!({ poolPerSet: 4 })).toThrow('trainGenerator.poolPerSet (4) must be 0 or >= promptsPerPair (16)');
    expect(() => real.validate!.evaluate!({ promptSplit: 'dev' })).toThrow(/evaluate\.promptSplit must be one of "test", "train", got "dev"/);
    expect(() => real.validate!.collectSet!({ rank: 0 })).toThrow(/CollectConfig\.rank must be an integer >= 1, got 0/);
  });

  it('--set name=path adds a set by path (zoo, training and held-out set); bad specs are refused naming the problem', () => {
    const data = path.join(sharedDir(), 'data', 'commonsense');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dnd-sets-'));
    fs.cpSync(path.join(data, 'boolq'), path.join(dir, 'boolq2'), { recursive: true });
    fs.mkdirSync(path.join(dir, 'empty'));
    const real = createRealSteps();
    const base = loadRunConfig('commonsense-smollm2', real, dir).config;

    const c = addSets(base, ['boolq2=boolq2'], ['boolq2'], dir);
    expect(c.sets).toEqual([...base.sets, 'boolq2']);
    expect(c.heldOut).toEqual(['boolq2']);
    expect(setDirOf(c, 'boolq2')).toBe(path.join(dir, 'boolq2'));
    expect(setDirOf(c, 'piqa')).toBe(path.join(base.dataDir, 'piqa'));
    expect(addSets(base, ['boolq2=boolq2'], undefined, dir).heldOut).toEqual(base.heldOut); // without --held-out: a training set
    // A shipped set re-pointed at another copy keeps its place.
    fs.cpSync(path.join(data, 'piqa'), path.join(dir, 'copy', 'piqa'), { recursive: true });
    expect(addSets(base, ['piqa=copy/piqa'], undefined, dir)).toMatchObject({ sets: base.sets, setDirs: { piqa: path.join(dir, 'copy', 'piqa') } });

    expect(() => addSets(base, ['boolq2'], undefined, dir)).toThrow('--set "boolq2": expected name=path');
    expect(() => addSets(base, ['../x=boolq2'], undefined, dir)).toThrow(/set "..\/x" is not a valid name/);
    expect(() => addSets(base, ['nope=nope'], undefined, dir)).toThrow(/--set nope=nope: task set .*no such path/);
    expect(() => addSets(base, ['empty=empty'], undefined, dir)).toThrow(/--set empty=empty: task set .*no \.json\/\.jsonl\/\.parquet file/);
    expect(() => addSets(base, ['bq=boolq2'], undefined, dir)).toThrow('--set bq=boolq2: that set\'s name is "boolq2" (its folder or file name); use --set boolq2=boolq2');
    expect(() => addSets(base, [], ['winogrande'], dir)).toThrow('heldOut[0]: "winogrande" is not in sets');
    expect(() => validateRunConfig({ ...base, setDirs: { winogrande: '/w' } })).toThrow('setDirs.winogrande: names "winogrande", which is not in sets');
  });

  it('set names from a config file pass the one name rule wherever they appear (sets, heldOut, setDirs keys)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dnd-cfg-names-'));
    const evil = `${'../'.repeat(10)}tmp/ARC-Easy`;
    const write = (o: unknown) => { fs.writeFileSync(path.join(dir, 'o.json'), JSON.stringify(o)); return 'o.json'; };
    expect(() => loadRunConfig(write({ sets: ['boolq', evil], heldOut: [evil] }), steps, dir)).toThrow(`RunConfig.sets[1]: set ${JSON.stringify(evil)} is not a valid name`);
    expect(() => loadRunConfig(write({ sets: ['boolq', 'x'], heldOut: ['..'] }), steps, dir)).toThrow('RunConfig.heldOut[0]: held-out set ".." is not a valid name');
    const base = loadRunConfig(null, steps, dir).config; // setDirs come from --set or a saved run, not from files
    expect(() => validateRunConfig({ ...base, sets: ['boolq', 'x'], heldOut: ['x'], setDirs: { '../x': '/d' } })).toThrow('RunConfig.setDirs: set "../x" is not a valid name');
    expect(() => loadRunConfig(write({ sets: ['boolq', ''], heldOut: [] }), steps, dir)).toThrow('RunConfig.sets[1]: set "" is not a valid name');
    expect(() => loadRunConfig(write(['not', 'an', 'object']), steps, dir)).toThrow(/expected a JSON object of overrides/);
    expect(() => loadRunConfig(write({ constructor: { x: 1 } }), steps, dir)).toThrow('RunConfig: unknown field "constructor"');
  });

  it('setDirOf stays inside dataDir even for a name that skipped validation (a stored config)', () => {
    expect(setDirOf({ dataDir: '/data', setDirs: {} }, 'boolq')).toBe(path.resolve('/data', 'boolq'));
    expect(() => setDirOf({ dataDir: '/data', setDirs: {} }, '../../etc')).toThrow(/set "..\/..\/etc" is not a valid name/);
    expect(() => setDirOf({ dataDir: '/data', setDirs: {} }, 'constructor')).not.toThrow();
    expect(setDirOf({ dataDir: '/data', setDirs: {} }, 'constructor')).toBe(path.resolve('/data', 'constructor'));
  });

  it('the run plan names every step workflow of a leave-one-out run and weighs it by its config', () => {
    const c = loadRunConfig('commonsense-smollm2', createRealSteps(), '/x').config;
    const plan = runPlan('leaveOneOut', 'r', c);
    expect(plan.map((s) => s.id)).toEqual([
      ...c.sets.map((s) => `r/zoo/${s}`),
      ...c.sets.flatMap((h) => ['pairs', 'train', 'evaluate'].map((k) => `r/heldout-${h}/${k}`)),
    ]);
    const sec = (kind: string) => plan.filter((s) => s.kind === kind).map((s) => s.estSec);
    expect(sec('collect')).toEqual(c.sets.map(() => (30 + 20) * 8 * 0.27)); // (warm-up + snapshot) steps x batch x s/example
    expect(sec('train')).toEqual(c.sets.map(() => 300 * 4 * 0.25));
    // Per fold, base + the 4 training LoRAs + averaged + K 5 on the held-out set: 100 items generated (paper
    // protocol), 1,000 scored by log-likelihood (knowledge protocol, half the cost per item).
    expect(sec('evaluate')).toEqual(c.sets.map(() => (1 + 4 + 1 + 5) * 100 * 0.25 + (1 + 4 + 1 + 5) * 1000 * 0.125));
    // With the diagnostics (knowledge-fold.json): 4 swap probes on the held-out set, and on each training set the
    // base, its own LoRA and an in-distribution probe; K 3, knowledge protocol only.
    const k = loadRunConfig(path.join(__dirname, '..', '..', '..', 'tools', 'experiments', 'knowledge-fold.json'), createRealSteps(), '/x').config;
    const kSec = runPlan('leaveOneOut', 'k', k).filter((s) => s.kind === 'evaluate').map((s) => s.estSec);
    expect(kSec).toEqual(k.sets.map(() => ((1 + 4 + 1 + 3 + 4) + 4 * 3) * 1000 * 0.125));
    // One pipeline without the held-out set's LoRAs: 4 zoo sets, one pairs/train/evaluate.
    const q = runPlan('dndPipeline', 'q', loadRunConfig('quickstart', createRealSteps(), '/x').config);
    expect(q.map((s) => s.id)).toEqual(['q/zoo/boolq', 'q/zoo/openbookqa', 'q/zoo/piqa', 'q/zoo/social_i_qa', 'q/pairs', 'q/train', 'q/evaluate']);
  });
});
