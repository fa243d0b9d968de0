// `dnd store verify` (re-hash every stored entry against its record) and `dnd store gc` (remove temporary
// folders, quarantined entries and, when asked, entries no run manifest or alias reaches). Registration
// only goes in cli.ts. Not the store itself (@dnd/core LocalArtifactStore).
import * as fs from 'fs';
import * as path from 'path';
import type { Command } from 'commander';
import { isAtomicTempName, LocalArtifactStore, type EntryCheck } from '@dnd/core';
import { loadRunConfig } from '../config';
import { ownerAlive, runLockFile, type RunLockOwner } from '../run-lock';
import { STEP_CACHE_DIR } from '../step-contract';
import { createStepFunctions } from '../step-selection';

/** What verifyStore found. */
export interface StoreVerifyResult {
  checked: number;
  bad: EntryCheck[];
  /** Where bad entries were moved (with `fix`). */
  quarantined: string[];
}

/**
 * Re-hashes every entry of `store`; with `fix`, moves each bad one to `<root>/quarantine/` so the next run
 * recomputes it.
 * @example verifyStore(new LocalArtifactStore('runs/artifacts'), { fix: false }).bad // []
 */
export function verifyStore(store: LocalArtifactStore, opts: { fix: boolean; onEntry?: (c: EntryCheck) => void }): StoreVerifyResult {
  const keys = store.keys();
  const bad: EntryCheck[] = [];
  const quarantined: string[] = [];
  for (const key of keys) {
    const c = store.verifyEntry(key);
    opts.onEntry?.(c);
    if (c.ok) continue;
    bad.push(c);
    if (opts.fix) quarantined.push(store.quarantine(key));
  }
  return { checked: keys.length, bad, quarantined };
}

/** What gcStore removed (or would remove, with dryRun). */
export interface StoreGcResult {
  removed: string[];
  bytes: number;
  /** Entries kept because a manifest or alias reaches them (with `unreferenced`). */
  kept: number;
}

function sizeOf(p: string): number {
  const st = fs.lstatSync(p);
  if (!st.isDirectory()) return st.size;
  return fs.readdirSync(p).reduce((n, f) => n + sizeOf(path.join(p, f)), 0);
}

// Every 64-hex run in the text of JSON files under `p` (recursively, files under 4 MiB): keys and digests.
function hexIn(p: string, out: Set<string>): void {
  if (!fs.existsSync(p)) return;
  const st = fs.statSync(p);
  if (st.isDirectory()) { for (const f of fs.readdirSync(p)) hexIn(path.join(p, f), out); return; }
  if (!p.endsWith('.json') || st.size > 4 << 20) return;
  for (const m of fs.readFileSync(p, 'utf8').matchAll(/[0-9a-f]{64}/g)) out.add(m[0]);
}

/**
 * Live `dnd run` / `dnd resume` processes under `runsDir` (their run.lock files).
 * @example liveRuns('runs') // [{ runId: 'exp-3', owner: { pid: 4242, ... } }]
 */
export function liveRuns(runsDir: string): Array<{ runId: string; owner: RunLockOwner }> {
  if (!fs.existsSync(runsDir)) return [];
  const out: Array<{ runId: string; owner: RunLockOwner }> = [];
  for (const id of fs.readdirSync(runsDir)) {
    const f = runLockFile(path.join(runsDir, id));
    if (!fs.existsSync(f)) continue;
    try {
      const owner = JSON.parse(fs.readFileSync(f, 'utf8')) as RunLockOwner;
      if (ownerAlive(owner)) out.push({ runId: id, owner });
    } catch { /* a broken lock holds nothing */ }
  }
  return out;
}

/**
 * Removes what no run can use: `.tmp/` folders of dead writers (all of them with `allTmp`), quarantined
 * entries, writeFileAtomic temporaries of aliases; with `unreferenced`, also entries that no manifest under
 * `runsDir` and no alias reaches (through records and JSON files inside entries). Refuses `unreferenced`
 * while a run under `runsDir` is live.
 * @example gcStore(store, { runsDir: 'runs', unreferenced: false, dryRun: true }).removed
 */
export function gcStore(store: LocalArtifactStore, opts: { runsDir: string; unreferenced: boolean; dryRun: boolean; allTmp?: boolean }): StoreGcResult {
  const doomed: string[] = [];
  const tmpDir = path.join(store.root, '.tmp');
  if (opts.allTmp || opts.unreferenced) {
    const live = liveRuns(opts.runsDir);
    if (live.length) throw new Error(`dnd store gc: run ${live[0]!.runId} is live (process ${live[0]!.owner.pid}); gc --unreferenced / --all-tmp would race it. Run it when no run is going.`);
  }
  doomed.push(...store.staleTmp());
  if (opts.allTmp) for (const n of fs.existsSync(tmpDir) ? fs.readdirSync(tmpDir) : []) if (!doomed.includes(path.join(tmpDir, n))) doomed.push(path.join(tmpDir, n));
  const q = path.join(store.root, 'quarantine');
  if (fs.existsSync(q)) for (const n of fs.readdirSync(q)) doomed.push(path.join(q, n));
  const aliases = path.join(store.root, 'aliases');
  if (fs.existsSync(aliases)) for (const n of fs.readdirSync(aliases)) if (isAtomicTempName(n)) doomed.push(path.join(aliases, n));
  // The steps' cache (StepContext.cacheDir: scoring calls reused across folds) is never needed: --unreferenced clears it.
  const stepCache = path.join(store.root, 'work', STEP_CACHE_DIR);
  if (opts.unreferenced && fs.existsSync(stepCache)) doomed.push(stepCache);
  let kept = 0;
  if (opts.unreferenced) {
    const all = new Set(store.keys());
    const roots = new Set<string>();
    hexIn(aliases, roots);
    if (fs.existsSync(opts.runsDir)) for (const id of fs.readdirSync(opts.runsDir)) hexIn(path.join(opts.runsDir, id, 'manifest.json'), roots);
    const reached = new Set<string>();
    const queue = [...roots].filter((k) => all.has(k));
    while (queue.length) {
      const k = queue.pop()!;
      if (reached.has(k)) continue;
      reached.add(k);
      const found = new Set<string>();
      hexIn(store.entryDir(k), found);
      for (const f of found) if (all.has(f) && !reached.has(f)) queue.push(f);
    }
    for (const k of all) {
      if (reached.has(k)) kept++;
      else doomed.push(store.entryDir(k));
    }
  }
  let bytes = 0;
  for (const p of doomed) {
    if (!fs.existsSync(p)) continue;
    bytes += sizeOf(p);
    if (!opts.dryRun) fs.rmSync(p, { recursive: true, force: true });
  }
  return { removed: doomed, bytes, kept };
}

function storeOf(o: { artifacts?: string; config?: string }): { store: LocalArtifactStore; runsDir: string } {
  const { config } = loadRunConfig(o.config ?? null, createStepFunctions());
  const root = o.artifacts ? path.resolve(o.artifacts) : config.artifactsDir;
  if (!fs.existsSync(root)) throw new Error(`no artifact store at ${root} (give --artifacts <dir> or --config)`);
  return { store: new LocalArtifactStore(root, { journal: false, cleanTmp: false }), runsDir: config.runsDir };
}

/**
 * Adds `dnd store verify` and `dnd store gc` to `program`.
 * @example registerStoreCommands(program, (s) => process.stdout.write(s + '\n'))
 */
export function registerStoreCommands(program: Command, out: (s: string) => void): void {
  const store = program.command('store').description('the artifact store: verify digests, collect garbage');
  store
    .command('verify')
    .description('re-hash every stored entry and compare with the digest recorded when it was published; exit 1 if any differs')
    .option('--artifacts <dir>', 'artifact store directory (default: the config\'s artifactsDir)')
    .option('--config <preset|config.json>', 'config whose artifactsDir to use')
    .option('--fix', 'move bad entries to <store>/quarantine/ so the next run recomputes them')
    .addHelpText('after', '\nExamples:\n  dnd store verify\n  dnd store verify --artifacts /shared/artifacts --fix')
    .action((o: { artifacts?: string; config?: string; fix?: boolean }) => {
      const { store: s } = storeOf(o);
      const r = verifyStore(s, { fix: Boolean(o.fix) });
      for (const b of r.bad) out(`BAD ${b.key}: ${b.problem}`);
      for (const q of r.quarantined) out(`quarantined: ${q}`);
      out(`${r.checked} entries checked in ${s.root}: ${r.checked - r.bad.length} ok, ${r.bad.length} bad${r.bad.length && !o.fix ? ' (--fix moves them aside so the next run recomputes them)' : ''}`);
      if (r.bad.length) process.exitCode = 1;
    });
  store
    .command('gc')
    .description('remove temporary folders of dead writers and quarantined entries; with --unreferenced, also entries no run manifest or alias reaches')
    .option('--artifacts <dir>', 'artifact store directory (default: the config\'s artifactsDir)')
    .option('--config <preset|config.json>', 'config whose artifactsDir and runsDir to use')
    .option('--runs-dir <dir>', 'where run manifests are (default: the config\'s runsDir)')
    .option('--unreferenced', 'also remove entries that no manifest under the runs dir and no alias reaches, and the steps\' cache of scoring calls (refused while a run is live; an interrupted run has no manifest yet, so its finished units go too and `dnd resume` recomputes them)')
    .option('--all-tmp', 'also remove .tmp folders of live or other hosts\' writers (refused while a run is live)')
    .option('--dry-run', 'print what would be removed, remove nothing')
    .addHelpText('after', '\nExamples:\n  dnd store gc --dry-run\n  dnd store gc --unreferenced')
    .action((o: { artifacts?: string; config?: string; runsDir?: string; unreferenced?: boolean; allTmp?: boolean; dryRun?: boolean }) => {
      const { store: s, runsDir } = storeOf(o);
      const r = gcStore(s, { runsDir: o.runsDir ? path.resolve(o.runsDir) : runsDir, unreferenced: Boolean(o.unreferenced), dryRun: Boolean(o.dryRun), allTmp: Boolean(o.allTmp) });
      for (const p of r.removed) out(`${o.dryRun ? 'would remove' : 'removed'} ${p}`);
      out(`${o.dryRun ? 'would free' : 'freed'} ${(r.bytes / 1048576).toFixed(1)} MiB in ${r.removed.length} paths${o.unreferenced ? `; ${r.kept} referenced entries kept` : ''}`);
    });
}
