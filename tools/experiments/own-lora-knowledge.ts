// Issue 16, item 2: does a zoo LoRA trained in the knowledge protocol's form ("Question: ...\nAnswer:" -> " " + the
// gold choice text) beat the base model on its own set under that protocol? For each set: collect its LoRA on the
// train split (@dnd/dataset collectSet, trainOn "knowledge", the commonsense-smollm2 preset's collection settings,
// fixed before any of these numbers existed), then score the base model and the last snapshot on the set's test
// split with `dnd evaluate --protocol knowledge` (lm-eval-style log-likelihood, at most LIMIT items, seeded), and
// report acc and acc_norm with 95% paired-bootstrap intervals of own − base over the same items.
// Usage: node tools/bench/run-ts.cjs tools/experiments/own-lora-knowledge.ts OUT_DIR [LIMIT] [SET ...]
// An experiment driver, not the product. Collection resumes in OUT_DIR/zoo/<set>; an existing report is reused.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { initBackend } from '@dnd/core';
import { collectSet, resolveCollectConfig } from '@dnd/dataset';
import { pairedBootstrap, readPredictions } from '@dnd/evaluator';
import { createLoraTrainer, loadCausalLM } from '@dnd/lm';

const ROOT = path.resolve(__dirname, '..', '..');
const SHARED = process.env['DND_SHARED_DIR'] ?? path.join(ROOT, '..', 'shared');
const CACHE = process.env['DND_CACHE'] ?? path.join(process.env['HOME'] ?? '/root', '.cache', 'dnd');
const PRESET = JSON.parse(fs.readFileSync(path.join(ROOT, 'apps', 'orchestrator', 'presets', 'commonsense-smollm2.json'), 'utf8')) as { seed: number; steps: { collectSet: Record<string, unknown> } };

function writeSummary(outDir: string, cfg: unknown, limit: number, rows: Record<string, unknown>[]): void {
  const f = (x: number) => x.toFixed(1);
  const sign = (x: number) => (x >= 0 ? `+${f(x)}` : f(x));
  const lines = [
    '| set | n | train items | base acc | own acc | own − base acc [95%] | base acc_norm | own acc_norm | own − base acc_norm [95%] |',
    '|---|---|---|---|---|---|---|---|---|',
    ...rows.map((r) => {
      const a = r['acc'] as { base: number; own: number; diff: number; lo: number; hi: number };
      const b = r['accNorm'] as typeof a;
      return `| ${r['set']} | ${r['n']} | ${r['trainItems']} | ${f(a.base)} | ${f(a.own)} | ${sign(a.diff)} [${sign(a.lo)}, ${sign(a.hi)}] | ${f(b.base)} | ${f(b.own)} | ${sign(b.diff)} [${sign(b.lo)}, ${sign(b.hi)}] |`;
    }),
  ];
  fs.writeFileSync(path.join(outDir, 'summary.json'), `${JSON.stringify({ config: cfg, limit, rows }, null, 2)}\n`);
  fs.writeFileSync(path.join(outDir, 'summary.md'), `${lines.join('\n')}\n`);
  console.log(lines.join('\n'));
}

async function main(): Promise<void> {
  const [outDir, limitArg = '1000', ...setsArg] = process.argv.slice(2);
  if (!outDir) throw new Error('usage: own-lora-knowledge.ts OUT_DIR [LIMIT] [SET ...]');
  const sets = setsArg.length ? setsArg : ['ARC-Easy', 'openbookqa', 'boolq'];
  const { model: _model, ...collect } = PRESET.steps.collectSet;
  const cfg = resolveCollectConfig({ ...collect, trainOn: 'knowledge', seed: PRESET.seed } as never);
  await initBackend();
  const lm = await loadCausalLM(path.join(CACHE, 'models', 'smollm2-135m-instruct'));
  const rows: Record<string, unknown>[] = [];
  try {
    for (const set of sets) {
      const dir = path.join(SHARED, 'data', 'commonsense', set);
      const zoo = path.join(outDir, 'zoo', set);
      const t0 = Date.now();
      const r = await collectSet(dir, zoo, cfg, { model: lm, createTrainer: createLoraTrainer, onProgress: (p) => { if (p.done % 10 === 0) process.stderr.write(`[own-lora] ${set} ${p.phase} ${p.done}/${p.total} loss ${p.loss.toFixed(3)}\n`); } });
      lm.detachLora();
      const collectSec = (Date.now() - t0) / 1000;
      const last = r.manifest.snapshots[r.manifest.snapshots.length - 1]!;
      const report = path.join(outDir, 'eval', set);
      const t1 = Date.now();
      if (!fs.existsSync(path.join(report, 'predictions.arrow'))) {
        execFileSync(path.join(ROOT, 'dnd'), ['evaluate', '--adapter', `own=${path.join(zoo, last.path)}`, '--set', `${set}=${dir}`, '--protocol', 'knowledge', '--limit', limitArg, '--out', report], { stdio: 'inherit' });
      }
      const evalSec = (Date.now() - t1) / 1000;
      const preds = readPredictions(fs.readFileSync(path.join(report, 'predictions.arrow'))).rows.filter((x) => x.protocol === 'knowledge');
      const side = (adapter: string) => {
        const m = new Map(preds.filter((x) => x.adapter === adapter).map((x) => [x.itemId, x]));
        return m;
      };
      const base = side('base'), own = side('own');
      const ids = [...base.keys()].filter((id) => own.has(id)).sort();
      const stat = (norm: boolean) => {
        const a = ids.map((id) => Number(norm ? own.get(id)!.correctNorm : own.get(id)!.correct));
        const b = ids.map((id) => Number(norm ? base.get(id)!.correctNorm : base.get(id)!.correct));
        const d = pairedBootstrap(a, b, { seed: 1234 });
        const pct = (xs: number[]) => (100 * xs.reduce((s, x) => s + x, 0)) / xs.length;
        return { base: pct(b), own: pct(a), diff: 100 * d.mean, lo: 100 * d.lo, hi: 100 * d.hi };
      };
      const row = { set, n: ids.length, trainItems: r.manifest.taskSet.trainSize, lastLoss: last.loss, acc: stat(false), accNorm: stat(true), collectSec, evalSec };
      rows.push(row);
      process.stderr.write(`[own-lora] ${JSON.stringify(row)}\n`);
      writeSummary(outDir, cfg, Number(limitArg), rows); // after every set: a stopped run keeps what it measured
    }
  } finally {
    lm.dispose();
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
