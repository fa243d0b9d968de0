// The run configuration: defaults (with a why per field), presets (small JSON overrides under
// apps/orchestrator/presets/) merged onto them, and validation that names the field and the value.
// Not the steps' own configs: those sections come from StepFunctions.defaults and are validated by the steps.
import * as fs from 'fs';
import * as path from 'path';
import { resolveTaskSet, sharedDir } from '@dnd/dataset';
import { BadInputError, checkNumber, mergeConfig, resolveInside, validateName } from '@dnd/core';
import type { StepFunctions } from './step-functions';
import type { RunConfig } from './types';

/** Where presets live: `dnd run <name>` reads `<PRESETS_DIR>/<name>.json`. */
export const PRESETS_DIR = path.resolve(__dirname, '..', 'presets');

/** The run defaults without the step sections (those come from the step functions). */
export const DEFAULT_RUN_CONFIG: Omit<RunConfig, 'steps'> = {
  // The five common-sense sets shipped with the project: the paper's common-sense domain.
  sets: ['ARC-Easy', 'boolq', 'openbookqa', 'piqa', 'social_i_qa'],
  // The five shipped sets: <repo>/../shared/data/commonsense, or $DND_SHARED_DIR/data/commonsense; any folder
  // of sets in the same JSON format works.
  dataDir: path.join(sharedDir(), 'data', 'commonsense'),
  // A set in another folder, by name (`dnd run --set name=path`); every other set is <dataDir>/<name>.
  setDirs: {},
  // Zero-shot target: the paper holds one set out and trains the generator on the others.
  heldOut: ['ARC-Easy'],
  // A single pipeline never uses the held-out sets' LoRAs (the generator and the training-LoRA mean exclude
  // them): collecting them would only cost time. leaveOneOut collects every set regardless.
  collectHeldOut: false,
  // One seed for every step, recorded in the manifest; steps derive their own streams from it.
  seed: 42,
  temporal: {
    // Temporal's default namespace exists on every dev server and fresh cluster.
    namespace: 'default',
    // Workflows and CPU activities; every worker polls it.
    cpuQueue: 'dnd-cpu',
    // GPU activities (collection, generator training) when a `dnd worker --queue gpu` is present.
    gpuQueue: 'dnd-gpu',
    // A killed worker's activity is retried elsewhere after this long without a heartbeat.
    heartbeatTimeoutSec: 60,
    // Upper bound for one attempt of a step (zoo collection on CPU is the longest, ~1 h at full size).
    startToCloseTimeoutSec: 6 * 3600,
    // A GPU task nobody picks up within this long goes back to the CPU queue.
    gpuScheduleToStartSec: 300,
    // A GPU worker long-polls continuously; older than this, its poller entry is stale.
    gpuPresenceWindowSec: 120,
    // Exponential backoff 5 s, 10 s, 20 s ... capped at 5 min; 10 attempts covers a night of flaky hosts.
    retry: { initialIntervalSec: 5, backoffCoefficient: 2, maximumIntervalSec: 300, maximumAttempts: 10 },
  },
  // Relative to the working directory of `dnd run`; resolved to an absolute path before a run starts.
  runsDir: 'runs',
  // Content-addressed outputs shared by all runs, so a re-run reuses every finished step.
  artifactsDir: 'runs/artifacts',
};

/** The full default config for a set of step functions. */
export function defaultRunConfig(steps: StepFunctions): RunConfig {
  return { ...structuredClone(DEFAULT_RUN_CONFIG), steps: structuredClone(steps.defaults) };
}

/**
 * Throws BadInputError naming the field and value for a config no run could use. Every set name (sets,
 * heldOut, setDirs keys) must pass the one name rule (validateName): they become workflow ids and folder
 * names, so a config file or preset cannot smuggle in `../` where `--set` could not.
 */
export function validateRunConfig(c: RunConfig): void {
  const where = 'RunConfig';
  const bad = (msg: string): never => { throw new BadInputError(msg); };
  const named = (field: string, kind: string, v: unknown): void => {
    try { validateName(kind, v); } catch (e) { bad(`${where}.${field}: ${(e as Error).message}`); }
  };
  if (!Array.isArray(c.sets) || c.sets.length === 0) bad(`${where}.sets must be a non-empty list of set names, got ${JSON.stringify(c.sets)}`);
  c.sets.forEach((s, i) => named(`sets[${i}]`, 'set', s));
  if (new Set(c.sets).size !== c.sets.length) bad(`${where}.sets has duplicates: ${JSON.stringify(c.sets)}`);
  if (!Array.isArray(c.heldOut)) bad(`${where}.heldOut must be a list, got ${JSON.stringify(c.heldOut)}`);
  c.heldOut.forEach((h, i) => named(`heldOut[${i}]`, 'held-out set', h));
  for (const h of c.heldOut) if (!c.sets.includes(h)) bad(`${where}.heldOut: "${h}" is not in sets ${JSON.stringify(c.sets)}`);
  if (c.heldOut.length >= c.sets.length) bad(`${where}.heldOut leaves no set to train on: ${JSON.stringify(c.heldOut)}`);
  if (typeof c.collectHeldOut !== 'boolean') bad(`${where}.collectHeldOut must be true or false, got ${JSON.stringify(c.collectHeldOut)}`);
  if (typeof c.dataDir !== 'string' || !c.dataDir) bad(`${where}.dataDir must be a path, got ${JSON.stringify(c.dataDir)}`);
  const dirs = c.setDirs ?? {};
  if (typeof dirs !== 'object' || Array.isArray(dirs)) bad(`${where}.setDirs must map set names to folders, got ${JSON.stringify(dirs)}`);
  for (const [name, dir] of Object.entries(dirs)) {
    named(`setDirs`, 'set', name);
    if (!c.sets.includes(name)) bad(`${where}.setDirs names "${name}", which is not in sets ${JSON.stringify(c.sets)}`);
    if (typeof dir !== 'string' || !dir) bad(`${where}.setDirs.${name} must be a path, got ${JSON.stringify(dir)}`);
  }
  for (const f of ['runsDir', 'artifactsDir'] as const) if (typeof c[f] !== 'string' || !c[f]) bad(`${where}.${f} must be a path, got ${JSON.stringify(c[f])}`);
  checkNumber(where, 'seed', c.seed, { integer: true, min: 0 });
  const t = c.temporal;
  for (const f of ['namespace', 'cpuQueue', 'gpuQueue'] as const) if (typeof t[f] !== 'string' || !t[f]) bad(`${where}.temporal.${f} must be a non-empty string, got ${JSON.stringify(t[f])}`);
  if (t.cpuQueue === t.gpuQueue) bad(`${where}.temporal.gpuQueue must differ from cpuQueue, both are "${t.cpuQueue}"`);
  checkNumber(`${where}.temporal`, 'heartbeatTimeoutSec', t.heartbeatTimeoutSec, { min: 1 });
  checkNumber(`${where}.temporal`, 'startToCloseTimeoutSec', t.startToCloseTimeoutSec, { min: t.heartbeatTimeoutSec });
  checkNumber(`${where}.temporal`, 'gpuScheduleToStartSec', t.gpuScheduleToStartSec, { min: 1 });
  checkNumber(`${where}.temporal`, 'gpuPresenceWindowSec', t.gpuPresenceWindowSec, { min: 1 });
  checkNumber(`${where}.temporal.retry`, 'initialIntervalSec', t.retry.initialIntervalSec, { min: 0.01 });
  checkNumber(`${where}.temporal.retry`, 'backoffCoefficient', t.retry.backoffCoefficient, { min: 1 });
  checkNumber(`${where}.temporal.retry`, 'maximumIntervalSec', t.retry.maximumIntervalSec, { min: t.retry.initialIntervalSec });
  checkNumber(`${where}.temporal.retry`, 'maximumAttempts', t.retry.maximumAttempts, { integer: true, min: 0 });
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
  }
  let config: RunConfig;
  try {
    config = mergeConfig(defaultRunConfig(steps), override, 'RunConfig');
  } catch (e) {
    throw new BadInputError(`${source}: ${(e as Error).message}`);
  }
  config.dataDir = path.resolve(cwd, config.dataDir);
  if (config.setDirs) for (const [name, dir] of Object.entries(config.setDirs)) if (typeof dir === 'string' && dir) config.setDirs[name] = path.resolve(cwd, dir);
  config.runsDir = path.resolve(cwd, config.runsDir);
  // DND_ARTIFACTS (a directory or a store URL such as s3://bucket/prefix) overrides the config's artifactsDir.
  if (process.env['DND_ARTIFACTS']) config.artifactsDir = process.env['DND_ARTIFACTS'];
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(config.artifactsDir)) config.artifactsDir = path.resolve(cwd, config.artifactsDir);
  validateRunConfig(config);
  return { preset, source, config };
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
  const out: RunConfig = { ...config, sets, setDirs, heldOut: heldOut ?? config.heldOut };
  validateRunConfig(out);
  return out;
}
