// Issue 16, item 5: the settings search on validation folds, nested inside the leave-one-out folds so that no
// reported held-out set (not its test items, not its train items) takes part in choosing the settings of its own
// fold. For each reported fold X (held out in the leave-one-out run) the inner fold holds out V = the set after X
// in COMMONSENSE_SETS (cyclic) and trains the generator on the other three; the candidate is scored on `<V>-val`,
// a seeded 400-item slice of V's *train* split (its test split stays untouched), with the knowledge protocol,
// generated LoRAs only as the objective (base, LoRA mean and averaged LoRA are reported beside it). Each candidate
// is a whole run config (the commonsense-smollm2 preset with some fields replaced); every inner fold is one
// `dnd run`, sharing the content-addressed store and call cache with the others, so a run that is killed resumes
// and a finished one is skipped. The rule is fixed before any number exists: for fold X, the candidate whose
// generated LoRAs score highest on <V>-val (mean over K, the set's headline metric); ties (within 0.1 point) go to
// the earlier candidate in CANDIDATES (the preset first).
// Usage: node tools/bench/run-ts.cjs tools/experiments/settings-search.ts OUT_DIR [CANDIDATE ...]
// (a run whose kept copy OUT_DIR/<run-id>/results.json exists counts as done, as search-summary.py reads it)
// then:  python3 tools/experiments/search-summary.py OUT_DIR --json OUT_DIR/summary.json   (the choices, by the rule)
// then:  node tools/bench/run-ts.cjs tools/experiments/settings-search.ts OUT_DIR --final   (issue 16 item 7)
// --final runs the reported folds at their chosen settings: when every fold chose the same candidate, one
// `dnd run <its config> --leave-one-out`; otherwise one `dnd run <config> --held-out X` per fold (with the held-out
// set's own LoRA collected, as a leave-one-out run has it), all sharing one store. `--final --sets A,B` runs those
// folds only (each with its choice); `--diagnostics` turns on the prompt-swap and in-distribution probes (one each).
// An experiment driver, not the product: it runs ./dnd the way a user would.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { parseArgs } from 'util';
import { seededRandom } from '@dnd/core';
import { COMMONSENSE_SETS, loadTaskSet, resolveTaskSet } from '@dnd/dataset';

const ROOT = path.resolve(__dirname, '..', '..');
const PRESET = JSON.parse(fs.readFileSync(path.join(ROOT, 'apps', 'orchestrator', 'presets', 'commonsense-smollm2.json'), 'utf8')) as {
  sets: string[]; seed: number; steps: Record<string, Record<string, unknown>>;
};
/** Validation items per inner held-out set, drawn from its train split. */
const VAL_ITEMS = 400;
const VAL_SEED = 7;

/**
 * Each candidate: a name and what it replaces in the preset's step configs (the preset's own settings first).
 * `zoo: 'chosen'` (a second, greedy stage): the zoo is the one the first stage (preset vs both) chose for that fold,
 * read from FIRST_STAGE, and the candidate changes the generator only.
 */
const CANDIDATES: Record<string, { why: string; zoo?: 'chosen'; collectSet?: Record<string, unknown>; trainGenerator?: Record<string, unknown> }> = {
  preset: { why: 'the preset as it ships: zoo LoRAs trained on the label format' },
  both: { why: 'zoo LoRAs trained on the label format and on the answer text (knowledge form), one example of each per item', collectSet: { trainOn: 'both' } },
  knowledge: { why: 'zoo LoRAs trained on the answer text only', collectSet: { trainOn: 'knowledge' } },
  pool1024: {
    why: "the fold's first-stage zoo; the generator samples its 32 prompts per condition from 1,024 encoded prompts per set instead of 256 (the paper's Fig. 4a: accuracy rose from 26 to 49 as the pool grew from 2x to 8x its 128 prompts per condition)",
    zoo: 'chosen', trainGenerator: { poolPerSet: 1024 },
  },
};
/** The first stage's kept result (settings search over the zoo form), whose choice `zoo: 'chosen'` candidates build on. */
const FIRST_STAGE = path.join(ROOT, 'docs', 'results', 'search', 'summary-stage1.json');

function firstStageChoice(x: string): string {
  const choice = (JSON.parse(fs.readFileSync(FIRST_STAGE, 'utf8')) as { choice: Record<string, string | null> }).choice[x];
  if (!choice) throw new Error(`${FIRST_STAGE}: no first-stage choice for fold ${x}`);
  return choice;
}

const next = (x: string): string => COMMONSENSE_SETS[(COMMONSENSE_SETS.indexOf(x as (typeof COMMONSENSE_SETS)[number]) + 1) % COMMONSENSE_SETS.length]!;

/**
 * Writes <out>/sets/<V>-val/{test.json, train.json}: VAL_ITEMS records of V's train split (as the zoo sees it: a
 * two-split set's train file, a single-split set's seeded train half) as test.json, the rest as train.json. The
 * records are copied from the shipped file as written, not re-serialised from parsed items.
 */
async function writeValSet(out: string, v: string): Promise<string> {
  const dir = path.join(out, 'sets', `${v}-val`);
  if (fs.existsSync(path.join(dir, 'test.json'))) return dir;
  const r = resolveTaskSet(v);
  const raw = JSON.parse(fs.readFileSync((r.train ?? r.single ?? r.test)!, 'utf8')) as Array<{ instruction: string; answer: string }>;
  // loadTaskSet's train items are the train file, or an in-order subset of the single file (its seeded split):
  // walk the raw records in order to find each one, so the split rule stays task-set.ts's alone.
  const trainIdx: number[] = [];
  let i = 0;
  for (const it of (await loadTaskSet(v)).train) {
    while (i < raw.length && (raw[i]!.instruction !== it.instruction || raw[i]!.answer !== it.answer)) i++;
    if (i === raw.length) throw new Error(`${v}: a train item of loadTaskSet is not in ${r.train ?? r.single} in order`);
    trainIdx.push(i++);
  }
  const pick = new Set(seededRandom(VAL_SEED, 'val', v).sample(trainIdx.length, VAL_ITEMS).map((j) => trainIdx[j]!));
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'test.json'), JSON.stringify(trainIdx.filter((k) => pick.has(k)).map((k) => raw[k]), null, 1));
  fs.writeFileSync(path.join(dir, 'train.json'), JSON.stringify(trainIdx.filter((k) => !pick.has(k)).map((k) => raw[k]), null, 1));
  return dir;
}

/** The preset's step configs with candidate `candidate`'s replacements for reported fold `x` (a copy). */
function candidateSteps(candidate: string, x: string): Record<string, Record<string, unknown>> {
  const c = CANDIDATES[candidate]!;
  const steps = JSON.parse(JSON.stringify(PRESET.steps)) as Record<string, Record<string, unknown>>;
  Object.assign(steps['collectSet']!, (c.zoo === 'chosen' ? CANDIDATES[firstStageChoice(x)]!.collectSet : c.collectSet) ?? {});
  Object.assign(steps['trainGenerator']!, c.trainGenerator ?? {});
  return steps;
}

function configFor(candidate: string, x: string, v: string, valDir: string): Record<string, unknown> {
  const c = CANDIDATES[candidate]!;
  const val = `${v}-val`;
  const steps = candidateSteps(candidate, x);
  const ev = steps['evaluate']! as { evaluator: Record<string, unknown> } & Record<string, unknown>;
  const metricBySet = (ev.evaluator['knowledge'] as { metricBySet: Record<string, string> }).metricBySet;
  steps['evaluate'] = {
    ...ev, samples: 2,
    evaluator: {
      ...ev.evaluator, protocols: ['knowledge'], crossMatrix: false,
      knowledge: { metricBySet: { ...metricBySet, ...(metricBySet[v] ? { [val]: metricBySet[v] } : {}) }, maxItemsPerSet: 1000, crossMatrix: false },
    },
  };
  return {
    $comment: `settings search (issue 16 item 5): candidate "${candidate}" (${c.why}); reported fold ${x}: trained on ${PRESET.sets.filter((s) => s !== x && s !== v).join(', ')}, scored on ${val} (${VAL_ITEMS} items of ${v}'s train split)`,
    sets: [...PRESET.sets.filter((s) => s !== x && s !== v), val], setDirs: { [val]: valDir }, heldOut: [val], seed: PRESET.seed, steps,
  };
}

/** The preset's whole config with candidate `c`'s replacements for fold heldOut[0], every set, and `heldOut`. */
function finalConfig(candidate: string, heldOut: string[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  const c = CANDIDATES[candidate]!;
  const steps = candidateSteps(candidate, heldOut[0]!);
  return { $comment: `issue 16 item 7: commonsense-smollm2 with the settings search's choice "${candidate}" (${c.why})`, sets: PRESET.sets, heldOut, seed: PRESET.seed, steps, ...extra };
}

function dnd(args: string[]): void {
  console.log(`${new Date().toISOString()} ./dnd ${args.join(' ')}`);
  const r = spawnSync(path.join(ROOT, 'dnd'), args, { stdio: 'inherit', cwd: ROOT });
  if (r.status !== 0) throw new Error(`./dnd ${args.join(' ')}: exited with ${r.status}`);
}

function completed(runDir: string): boolean {
  const status = path.join(runDir, 'status.json');
  return fs.existsSync(status) && (JSON.parse(fs.readFileSync(status, 'utf8')) as { status?: string }).status === 'completed';
}

/** Runs (or resumes, or skips when done) one run of `cfg` with extra `flags`. */
function runOnce(out: string, runId: string, cfg: Record<string, unknown>, flags: string[] = []): void {
  const runsDir = path.join(out, 'runs');
  if (completed(path.join(runsDir, runId))) { console.log(`${runId}: done`); return; }
  if (fs.existsSync(path.join(out, runId, 'results.json'))) { console.log(`${runId}: kept copy in ${path.join(out, runId)}`); return; }
  const cfgFile = path.join(out, 'configs', `${runId}.json`);
  fs.mkdirSync(path.dirname(cfgFile), { recursive: true });
  fs.writeFileSync(cfgFile, JSON.stringify(cfg, null, 1));
  dnd(fs.existsSync(path.join(runsDir, runId))
    ? ['resume', runId, '--runs-dir', runsDir, '--no-ui'] // a killed run resumes
    : ['run', cfgFile, '--run-id', runId, '--runs-dir', runsDir, '--no-ui', ...flags]);
}

/** The diagnostics of issue 16 item 4 (one probe per training set: the prompt swap and in-distribution rows). */
const DIAGNOSTICS = { promptSwap: true, inDistribution: true, samples: 1 };

/**
 * `--final`'s config for fold x at candidate c: with `diagnostics`, the probes are on and the paper protocol's cross
 * matrix is off (it would score every training LoRA on every training set the probes load; no held-out cell changes).
 */
function finalFoldConfig(c: string, x: string, diagnostics: boolean): Record<string, unknown> {
  const cfg = finalConfig(c, [x], { collectHeldOut: true }) as { steps: Record<string, Record<string, unknown>> };
  if (diagnostics) {
    const ev = cfg.steps['evaluate']! as { evaluator: Record<string, unknown> } & Record<string, unknown>;
    cfg.steps['evaluate'] = { ...ev, diagnostics: DIAGNOSTICS, evaluator: { ...ev.evaluator, crossMatrix: false } };
  }
  return cfg;
}

function runFinal(out: string, only: string[] | undefined, diagnostics: boolean): void {
  const summary = path.join(out, 'summary.json');
  if (!fs.existsSync(summary)) throw new Error(`${summary}: none (python3 tools/experiments/search-summary.py ${out} --json ${summary})`);
  const choice = (JSON.parse(fs.readFileSync(summary, 'utf8')) as { choice: Record<string, string | null> }).choice;
  const missing = COMMONSENSE_SETS.filter((x) => !choice[x]);
  if (missing.length) throw new Error(`no choice yet for ${missing.join(', ')}: the search has not finished those folds`);
  const chosen = new Set(Object.values(choice));
  if (only) { // some folds only, e.g. those whose choice differs from a leave-one-out run already made
    for (const x of only) if (!choice[x]) throw new Error(`--sets: no fold "${x}" (${COMMONSENSE_SETS.join(', ')})`);
    for (const x of only) runOnce(out, `final-${x}`, finalFoldConfig(choice[x]!, x, diagnostics));
    return;
  }
  if (chosen.size === 1 && !diagnostics && CANDIDATES[[...chosen][0]!]!.zoo !== 'chosen') {
    const c = [...chosen][0]!;
    runOnce(out, `final-${c}`, finalConfig(c, [COMMONSENSE_SETS[0]]), ['--leave-one-out']);
    return;
  }
  for (const x of COMMONSENSE_SETS) runOnce(out, `final-${x}`, finalFoldConfig(choice[x]!, x, diagnostics));
}

async function main(): Promise<void> {
  // Node's own parser: unknown options, and --sets without its value, are refused with their name.
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { final: { type: 'boolean' }, sets: { type: 'string' }, diagnostics: { type: 'boolean' } } });
  const [out, ...names] = positionals;
  if (values.final) {
    if (!out || names.length) throw new Error('usage: settings-search.ts OUT_DIR --final [--sets A,B] [--diagnostics]');
    runFinal(out, values.sets?.split(','), values.diagnostics === true);
    return;
  }
  if (values.sets !== undefined || values.diagnostics) throw new Error('--sets and --diagnostics go with --final');
  if (!out) throw new Error('usage: settings-search.ts OUT_DIR [CANDIDATE ...] (candidates: ' + Object.keys(CANDIDATES).join(', ') + ')');
  const chosen = names.length ? names : ['preset', 'both'];
  for (const n of chosen) if (!CANDIDATES[n]) throw new Error(`no candidate "${n}" (${Object.keys(CANDIDATES).join(', ')})`);
  fs.mkdirSync(path.join(out, 'configs'), { recursive: true });
  fs.writeFileSync(path.join(out, 'search.json'), JSON.stringify({ valItems: VAL_ITEMS, valSeed: VAL_SEED, candidates: Object.fromEntries(chosen.map((n) => [n, CANDIDATES[n]])), order: COMMONSENSE_SETS }, null, 1));
  for (const x of COMMONSENSE_SETS) { // fold by fold, candidates interleaved: a search cut short still decides whole folds
    const v = next(x);
    const valDir = await writeValSet(out, v);
    for (const c of chosen) runOnce(out, `search-${c}-${x}`, configFor(c, x, v, path.resolve(valDir)));
  }
}

main().catch((e: unknown) => { console.error(e instanceof Error ? e.message : e); process.exit(1); });
