// Preflight: the checks that need the run's files (sets: preflight.ts; models: config-preflight.ts) catch what
// the schema cannot, on the shipped sets and the provisioned SmolLM2, each problem named; nothing is started.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { isBadInput } from '@dnd/core';
import { sharedDir } from '@dnd/dataset';
import { loadRunConfig } from './config';
import { assertRunnable, loraDimensions, preflightRunConfig } from './config-preflight';
import { createDemoSteps } from './demo-steps';
import { preflight } from './preflight';
import { createRealSteps } from './real-steps';

const DATA = path.join(sharedDir(), 'data', 'commonsense');

function withFile(content: unknown): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dnd-preflight-'));
  fs.writeFileSync(path.join(dir, 'c.json'), JSON.stringify(content));
  return dir;
}

describe('config preflight', () => {
  it('the quickstart preset passes on the shipped sets and the provisioned model', async () => {
    const c = loadRunConfig('quickstart', createRealSteps()).config;
    expect((await preflight(c, createRealSteps(), { workflow: 'dndPipeline' })).map((s) => s.name)).toEqual(c.sets);
    expect(await preflightRunConfig(c)).toEqual([]);
  });

  it('a held-out set whose test records carry no labels cannot be scored: refused before the run, naming the set', async () => {
    const dir = withFile({});
    const records = JSON.parse(fs.readFileSync(path.join(DATA, 'boolq', 'test.json'), 'utf8')) as Array<Record<string, unknown>>;
    fs.mkdirSync(path.join(dir, 'unlabeled'));
    fs.copyFileSync(path.join(DATA, 'boolq', 'train.json'), path.join(dir, 'unlabeled', 'train.json'));
    fs.writeFileSync(path.join(dir, 'unlabeled', 'test.json'), JSON.stringify(records.slice(0, 20).map(({ answer: _a, ...r }) => r)));
    fs.writeFileSync(path.join(dir, 'c.json'), JSON.stringify({ sets: ['boolq', 'piqa', 'unlabeled'], heldOut: ['unlabeled'], setDirs: { unlabeled: 'unlabeled' } }));
    const c = loadRunConfig('c.json', createRealSteps(), dir).config;
    const e = await preflight(c, createRealSteps(), { workflow: 'dndPipeline' }).then(() => null, (x: Error) => x);
    expect(e && isBadInput(e)).toBe(true);
    expect(e!.message).toMatch(/^held-out set "unlabeled" cannot be scored: set "unlabeled" has 20 of 20 items without labels/);
    // The same set as a training set only is fine: its prompts are never scored.
    expect((await preflight({ ...c, heldOut: ['boolq'] }, createRealSteps(), { workflow: 'dndPipeline' })).find((s) => s.name === 'unlabeled')).toEqual({ name: 'unlabeled', train: expect.any(Number), test: 20, collected: true, evaluated: false });
    // Unless the in-distribution diagnostic scores the training sets on their own test items.
    const diag = { ...c, heldOut: ['boolq'], steps: { ...c.steps, evaluate: { ...c.steps.evaluate, diagnostics: { promptSwap: false, inDistribution: true, samples: 1 } } } };
    const e2 = await preflight(diag, createRealSteps(), { workflow: 'dndPipeline' }).then(() => null, (x: Error) => x);
    expect(e2 && isBadInput(e2)).toBe(true);
    expect(e2!.message).toMatch(/^training set "unlabeled" cannot be scored \(evaluate\.diagnostics\.inDistribution scores it\): set "unlabeled" has 20 of 20 items without labels/);
  });

  it('a token width that does not divide the base model\'s LoRA dimensions and a missing encoder are both named; a missing set is refused first', async () => {
    const dir = withFile({ sets: ['boolq', 'nope'], heldOut: ['boolq'], steps: { collectSet: { targetModules: ['q_proj', 'v_proj'] }, buildPairs: { tokenWidth: 100 }, trainGenerator: { encoder: './no-encoder' } } });
    const c = loadRunConfig('c.json', createRealSteps(), dir).config;
    const missing = await preflight(c, createRealSteps(), { workflow: 'dndPipeline' }).then(() => null, (x: Error) => x);
    expect(missing && isBadInput(missing)).toBe(true);
    expect(missing!.message).toMatch(/^task set "nope" not found: .*nope does not exist/);
    const e = await assertRunnable(c, 'c.json').then(() => null, (x: Error) => x);
    expect(e && isBadInput(e)).toBe(true);
    expect(e!.message).toContain('c.json: 2 problems with its files, nothing was started');
    expect(e!.message).toContain('steps.buildPairs.tokenWidth: 100 does not divide 576, 192 (the LoRA dimensions of smollm2-135m-instruct on q_proj, v_proj are 192, 576)');
    expect(e!.message).toMatch(/steps\.trainGenerator\.encoder: no model at .*no-encoder \(config\.json missing\)/);
    // 96 divides 192 and 576 (what buildPairs' auto width picks for SmolLM2).
    const ok = { ...c, sets: ['boolq', 'piqa'], steps: { ...c.steps, buildPairs: { tokenWidth: 96 }, trainGenerator: { ...c.steps.trainGenerator, encoder: 'all-MiniLM-L6-v2' } } };
    expect(await preflightRunConfig(ok)).toEqual([]);
  });

  it('a built-in set missing from the shared folder says where that folder is expected and how to point at another', async () => {
    const saved = process.env.DND_SHARED_DIR;
    delete process.env.DND_SHARED_DIR;
    try {
      // The missing set first (checked before any other), in the default shared folder of this checkout, wherever it is.
      const dir = withFile({ sets: ['not-shipped', 'boolq'], heldOut: ['boolq'], dataDir: path.join(sharedDir(), 'data', 'commonsense') });
      const c = loadRunConfig('c.json', createRealSteps(), dir).config;
      const e = await preflight(c, createRealSteps(), { workflow: 'dndPipeline' }).then(() => null, (x: Error) => x);
      expect(e!.message).toBe(`task set "not-shipped" not found: ${path.join(sharedDir(), 'data', 'commonsense', 'not-shipped')} does not exist (the built-in sets are read from ${sharedDir()}, the shared folder beside the checkout; set DND_SHARED_DIR to the folder holding data/commonsense)`);
    } finally {
      if (saved !== undefined) process.env.DND_SHARED_DIR = saved;
    }
  });

  it('loraDimensions reads a Llama/Qwen2 config.json: grouped-query k/v width from num_key_value_heads x head_dim', () => {
    const smol = JSON.parse(fs.readFileSync(path.join(os.homedir(), '.cache', 'dnd', 'models', 'smollm2-135m-instruct', 'config.json'), 'utf8'));
    expect(loraDimensions(smol, ['k_proj', 'down_proj'])).toEqual({ 'k_proj in': 576, 'k_proj out': 192, 'down_proj in': 1536, 'down_proj out': 576 });
    expect(() => loraDimensions({ hidden_size: '576' }, ['q_proj'])).toThrow('config.json: hidden_size must be a positive integer, got "576"');
  });

  it('demo steps: only the set folders are checked, no model', async () => {
    const c = loadRunConfig(null, createDemoSteps()).config;
    expect((await preflight(c, createDemoSteps(), { workflow: 'leaveOneOut', scoring: false })).every((s) => s.collected && s.evaluated)).toBe(true);
    expect(await preflightRunConfig(c)).toEqual([]);
  });
});
