// The config schema: the single source of the step defaults, every type/range/cross-field error refused
// with the path of the field, all problems listed at once, and the JSON Schema for editors.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { isBadInput } from '@dnd/core';
import { DEFAULT_STEP_CONFIGS, RunConfigSchema, runConfigJsonSchema } from './config-schema';
import { loadRunConfig } from './config';
import { createDemoSteps } from './demo-steps';
import { createRealSteps, REAL_STEP_DEFAULTS } from './real-steps';

function configFile(content: unknown): { dir: string; file: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dnd-schema-'));
  const file = path.join(dir, 'c.json');
  fs.writeFileSync(file, JSON.stringify(content));
  return { dir, file };
}

function errorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a throw');
}

describe('config schema', () => {
  it('its step defaults are the real steps\' defaults (the step files keep them beside a why for each field; the types are the schema\'s)', () => {
    expect(DEFAULT_STEP_CONFIGS).toEqual(REAL_STEP_DEFAULTS);
    const typed: typeof REAL_STEP_DEFAULTS = DEFAULT_STEP_CONFIGS;
    expect(typed).toBe(DEFAULT_STEP_CONFIGS);
  });

  it('"totalSteps": "abc" under trainGenerator.train is refused up front, naming the path (the run that collected for 10 min)', () => {
    const { dir } = configFile({ steps: { trainGenerator: { train: { totalSteps: 'abc' } } } });
    const e = errorOf(() => loadRunConfig('c.json', createRealSteps(), dir));
    expect(isBadInput(e)).toBe(true);
    expect(e.message).toContain('steps.trainGenerator.train.totalSteps: expected number, got "abc"');
    expect(e.message).toContain('nothing was started');
  });

  it('lists every type and range problem at once, each with its path; cross-field rules once the types are right', () => {
    const { dir } = configFile({
      sets: ['boolq', 'piqa'], heldOut: ['ARC-Easy'], seed: -1,
      steps: {
        collectSet: { rank: 0, targetModules: ['q_proj', 'qkv'] },
        trainGenerator: { promptsPerPair: 16, poolPerSet: 8, features: [[16, 32, 384], [8, 10, 98]] },
        evaluate: { samples: 1.5, evaluator: { scorer: 'generative', generative: { template: 'Q: {prompt}' } } },
      },
    });
    const msg = errorOf(() => loadRunConfig('c.json', createRealSteps(), dir)).message;
    for (const line of [
      'seed: Too small: expected number to be >=0',
      'steps.collectSet.rank: Too small: expected number to be >=1',
      'steps.collectSet.targetModules[1]: Invalid option: expected one of "q_proj"|"k_proj"|"v_proj"|"o_proj"|"up_proj"|"gate_proj"|"down_proj"',
      'steps.trainGenerator.poolPerSet: must be 0 or >= promptsPerPair (16), got 8',
      'steps.evaluate.samples: expected int, got 1.5',
    ]) expect(msg).toContain(line);
    expect(msg).toMatch(/5 problems, nothing was started/);
    const { dir: d2 } = configFile({ sets: ['boolq', 'piqa'], heldOut: ['ARC-Easy'] });
    expect(errorOf(() => loadRunConfig('c.json', createRealSteps(), d2)).message).toContain('heldOut[0]: "ARC-Easy" is not in sets ["boolq","piqa"]');
  });

  it('cross-field rules between steps: the decoder chain ends at the token grid, generation uses the collection template', () => {
    const { dir } = configFile({
      steps: {
        collectSet: { rank: 4 },
        buildPairs: { tokenWidth: 96 },
        trainGenerator: { promptsPerPair: 16, features: [[16, 32, 384], [8, 10, 98]] },
        evaluate: { evaluator: { scorer: 'generative', generative: { template: 'Q: {prompt}' } } },
      },
    });
    const msg = errorOf(() => loadRunConfig('c.json', createRealSteps(), dir)).message;
    expect(msg).toContain('steps.trainGenerator.features[1][1]: the chain ends at the token grid\'s height r + 2 = 6 (collectSet.rank 4), got 10');
    expect(msg).not.toContain('features[1][2]'); // 98 = 96 + 2
    expect(msg).toContain('steps.evaluate.evaluator.generative.template: must equal collectSet.promptTemplate "{prompt}\\n"');
  });

  it('resolves every default: a config of one field comes back complete and typed', () => {
    const { dir } = configFile({ steps: { trainGenerator: { train: { totalSteps: 5 } } } });
    const c = loadRunConfig('c.json', createRealSteps(), dir).config;
    expect(c.steps.trainGenerator).toEqual({ ...REAL_STEP_DEFAULTS.trainGenerator, train: { ...REAL_STEP_DEFAULTS.trainGenerator.train, totalSteps: 5 } });
    expect(c.temporal.retry.maximumAttempts).toBe(10);
  });

  it('a `$schema` key for editors is accepted and not kept', () => {
    const { dir } = configFile({ $schema: './dnd-config.schema.json', seed: 7 });
    const c = loadRunConfig('c.json', createRealSteps(), dir).config as unknown as Record<string, unknown>;
    expect(c['seed']).toBe(7);
    expect('$schema' in c).toBe(false);
  });

  it('the demo steps\' sections are left to their own validation; the top level is still checked', () => {
    const { dir } = configFile({ seed: 'x', steps: { collectSet: { snapshots: 7 } } });
    expect(() => loadRunConfig('c.json', createDemoSteps(), dir)).toThrow('seed: expected number, got "x"');
  });

  it('the JSON Schema describes nested step fields with their types, ranges and defaults', () => {
    const s = runConfigJsonSchema() as any;
    const train = s.properties.steps.properties.trainGenerator.properties.train.properties;
    expect(train.totalSteps).toMatchObject({ type: 'integer', minimum: 1, default: 1000 });
    expect(s.properties.steps.properties.collectSet.properties.targetModules.items.enum).toContain('down_proj');
    expect(s.properties.steps.properties.collectSet.additionalProperties).toBe(false);
    // Every preset is an instance of it as far as top-level keys go.
    for (const f of fs.readdirSync(path.join(__dirname, '..', 'presets'))) {
      const preset = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'presets', f), 'utf8'));
      for (const k of Object.keys(preset)) expect(Object.keys(s.properties)).toContain(k);
      expect(RunConfigSchema.safeParse(preset).success).toBe(true);
    }
  });
});
