// The run configuration: presets (small JSON overrides under apps/orchestrator/presets/) merged onto the
// defaults, paths made absolute, and the complete check against config-schema.ts that names each bad field.
// Not the schema itself (config-schema.ts: types, defaults, ranges) and not the checks on files (config-preflight.ts).
import * as fs from 'fs';
import * as path from 'path';
import { resolveTaskSet } from '@dnd/dataset';
import { BadInputError, mergeConfig, resolveInside, validateName } from '@dnd/core';
import { z } from 'zod';
import { configIssues, RunConfigSchema, runConfigSchema, StepConfigsSchema } from './config-schema';
import type { StepFunctions, StepName } from './step-contract';
import type { RunConfig } from './types';

/** Where presets live: `dnd run <name>` reads `<PRESETS_DIR>/<name>.json`. */
export const PRESETS_DIR = path.resolve(__dirname, '..', 'presets');

/** The run defaults without the step sections (those come from the step functions); from config-schema.ts. */
export const DEFAULT_RUN_CONFIG: Omit<RunConfig, 'steps'> = (() => {
  const { steps: _steps, $schema: _s, $comment: _c, ...rest } = runConfigSchema(z.unknown()).parse({ steps: null });
  return rest;
})();

/** The full default config for a set of step functions. */
export function defaultRunConfig(steps: StepFunctions): RunConfig {
  return { ...structuredClone(DEFAULT_RUN_CONFIG), steps: structuredClone(steps.defaults) };
}

/**
 * The schema that checks a config for `steps`: with the real steps' sections typed and ranged when these step
 * functions are the real ones (their defaults are the schema's), else with the sections left to the steps' own
 * `validate` (the demo steps). Without `steps`: the top level only.
 */
export function runSchemaFor(steps?: StepFunctions) {
  const real = steps !== undefined && StepConfigsSchema.safeParse(steps.defaults).success;
  return real ? RunConfigSchema : runConfigSchema(z.record(z.string(), z.record(z.string(), z.unknown())));
}

/**
 * Checks a config completely (types, ranges, cross-field rules; the step sections too when `steps` are the real
 * ones, and each step's own `validate`) and returns it with every default filled. Throws one BadInputError that
 * lists every problem with the path of the field, e.g. `steps.trainGenerator.train.totalSteps: expected int, got "abc"`.
 * @example validateRunConfig(config, createStepFunctions()).steps.trainGenerator
 */
export function validateRunConfig(c: RunConfig, steps?: StepFunctions, source?: string): RunConfig {
  const head = `config${source ? ` ${source}` : ''}`;
  // Every set name becomes a workflow id and a folder name: one name rule (validateName), wherever it came from.
  const named = (field: string, kind: string, v: unknown): void => {
    try { validateName(kind, v); } catch (e) { throw new BadInputError(`${head}: RunConfig.${field}: ${(e as Error).message}`); }
  };
  if (Array.isArray(c.sets)) c.sets.forEach((s, i) => named(`sets[${i}]`, 'set', s));
  if (Array.isArray(c.heldOut)) c.heldOut.forEach((h, i) => named(`heldOut[${i}]`, 'held-out set', h));
  for (const name of Object.keys(c.setDirs && typeof c.setDirs === 'object' ? c.setDirs : {})) named('setDirs', 'set', name);
  const r = runSchemaFor(steps).safeParse(c, { reportInput: true });
  if (!r.success) {
    const issues = configIssues(r.error);
    throw new BadInputError(`${head}: ${issues.length === 1 ? '1 problem' : `${issues.length} problems`}, nothing was started:\n${issues.map((i) => `  ${i.path}: ${i.message}`).join('\n')}`);
  }
  const { $schema: _s, $comment: _c, ...out } = r.data as RunConfig & { $schema?: string; $comment?: string };
  for (const [name, check] of Object.entries(steps?.validate ?? {})) {
    try {
      check!(out.steps[name as StepName]);
    } catch (e) {
      throw new BadInputError(`${head}: steps.${name}: ${(e as Error).message}`);
    }
  }
  return out;
}

/** A loaded config and where it came from. */
export interface LoadedConfig {
  preset: string | null;
  source: string | null;
  config: RunConfig;
}

/**
 * Resolves `nameOrFile` (a preset name under presets/, or a path to a JSON file of overrides; null for
 * the defaults), merges it onto the defaults, makes paths absolute against `cwd` and validates.
 * @example loadRunConfig('quickstart', createStepFunctions()).config.sets // ['boolq', 'openbookqa']
 */
export function loadRunConfig(nameOrFile: string | null, steps: StepFunctions, cwd = process.cwd()): LoadedConfig {
  let override: Record<string, unknown> = {};
  let preset: string | null = null;
  let source: string | null = null;
  if (nameOrFile) {
    const asFile = path.resolve(cwd, nameOrFile);
    const asPreset = path.join(PRESETS_DIR, `${nameOrFile}.json`);
    if (/^[A-Za-z0-9_-]+$/.test(nameOrFile) && fs.existsSync(asPreset)) {
      preset = nameOrFile;
      source = asPreset;
    } else if (fs.existsSync(asFile)) {
      source = asFile;
    } else {
      const names = fs.existsSync(PRESETS_DIR) ? fs.readdirSync(PRESETS_DIR).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)) : [];
      throw new BadInputError(`"${nameOrFile}" is neither a preset (${names.join(', ')}) nor a JSON file`);
    }
    try {
      override = JSON.parse(fs.readFileSync(source, 'utf8')) as Record<string, unknown>;
    } catch (e) {
      throw new BadInputError(`${source}: not valid JSON: ${(e as Error).message}`);
    }
    if (!override || typeof override !== 'object' || Array.isArray(override)) throw new BadInputError(`${source}: expected a JSON object of overrides, got ${JSON.stringify(override)?.slice(0, 40)}`);
    delete override['$comment'];
    delete override['$schema'];
  }
  // setDirs is a map of names the defaults cannot list: merged whole, not field by field.
  const { setDirs, ...rest } = override;
  const config = mergeConfig(defaultRunConfig(steps), rest, 'RunConfig');
  if (setDirs !== undefined) config.setDirs = setDirs as Record<string, string>;
  config.dataDir = path.resolve(cwd, config.dataDir);
  if (config.setDirs) for (const [name, dir] of Object.entries(config.setDirs)) if (typeof dir === 'string' && dir) config.setDirs[name] = path.resolve(cwd, dir);
  config.runsDir = path.resolve(cwd, config.runsDir);
  // DND_ARTIFACTS (a directory or a store URL such as s3://bucket/prefix) overrides the config's artifactsDir.
  if (process.env['DND_ARTIFACTS']) config.artifactsDir = process.env['DND_ARTIFACTS'];
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(config.artifactsDir)) config.artifactsDir = path.resolve(cwd, config.artifactsDir);
  return { preset, source, config: validateRunConfig(config, steps, source ?? undefined) };
}

/**
 * The folder (or file) of set `name` in `config`: its setDirs entry, else `<dataDir>/<name>`, which must
 * stay inside dataDir (the name is checked by the one name rule again: it may come from a stored config).
 */
export function setDirOf(config: Pick<RunConfig, 'dataDir' | 'setDirs'>, name: string): string {
  validateName('set', name);
  return (config.setDirs && Object.hasOwn(config.setDirs, name) ? config.setDirs[name] : undefined) ?? resolveInside(config.dataDir, name);
}

/**
 * Adds sets given as `name=path` (the `--set` flag) to a loaded config: each becomes a zoo set (and a fold
 * under leave-one-out) read from `path` (a folder with train.* / test.*, or one file split by seed); a name already in `sets` (e.g. a shipped set) is re-pointed.
 * `heldOut`, when given, replaces the held-out list. Paths resolve against `cwd`; the result is validated.
 * @example addSets(config, ['winogrande=/data/winogrande'], ['winogrande'])
 */
export function addSets(config: RunConfig, specs: string[], heldOut?: string[], cwd = process.cwd()): RunConfig {
  const setDirs = { ...(config.setDirs ?? {}) };
  const sets = [...config.sets];
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    const name = eq > 0 ? spec.slice(0, eq) : '';
    const dir = eq > 0 ? spec.slice(eq + 1) : '';
    if (!name || !dir) throw new BadInputError(`--set ${JSON.stringify(spec)}: expected name=path, e.g. --set winogrande=/data/winogrande`);
    try { validateName('set', name); } catch (e) { throw new BadInputError(`--set ${JSON.stringify(spec)}: ${(e as Error).message} (it names workflows and folders)`); }
    const abs = path.resolve(cwd, dir);
    let found: string;
    try {
      found = resolveTaskSet(abs).name; // a folder with train.* / test.* (.json, .jsonl, .parquet) or one such file
    } catch (e) {
      throw new BadInputError(`--set ${name}=${dir}: ${(e as Error).message}`);
    }
    // The zoo records a set under the name its files give it (the folder, or a lone file's stem), and
    // seeds its batches with that name: a different name here would not match the zoo's.
    if (found !== name) throw new BadInputError(`--set ${name}=${dir}: that set's name is "${found}" (its folder or file name); use --set ${found}=${dir}`);
    setDirs[name] = abs;
    if (!sets.includes(name)) sets.push(name);
  }
  return validateRunConfig({ ...config, sets, setDirs, heldOut: heldOut ?? config.heldOut });
}
