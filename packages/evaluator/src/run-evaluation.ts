// One evaluation: which adapter is scored on which set (base, every training LoRA, the averaged LoRA
// per held-out set, the generated LoRAs), and the baselines summarised per held-out set. In memory:
// no files (evaluate.ts writes them). Not a scorer: see scorers.ts.
import type { LoraAdapter } from '@dnd/core';
import { assertScorable, type EvalItem } from './eval-item';
import type { EvaluatorConfig } from './config';
import { averageLoraAdapters } from './lora-average';
import type { PredictionRow } from './predictions-arrow';
import { GenerativeScorer, LoglikScorer, NumericScorer, type ItemResult, type Scorer } from './scorers';
import type { EvalModel } from './scoring-model';
import { spread, subsample, wilson, type Accuracy } from './stats';

/** A scored set, already converted to items (see itemFromInstruction). */
export interface EvalSet {
  name: string;
  items: EvalItem[];
}

/** A LoRA of the training zoo. `failed` (a reason) or an unreadable adapter counts as accuracy 0. */
export interface TrainingLora {
  name: string;
  /** The set it was trained on; it is excluded from that set's baselines. */
  trainedOn: string;
  adapter: LoraAdapter | null;
  failed?: string;
}

/** A generated LoRA for one held-out set: sample k of K prompt samples (N prompts each). */
export interface GeneratedLora {
  heldOut: string;
  sample: number;
  adapter: LoraAdapter;
  /** N, the number of prompts the generator saw (reported only). */
  numPrompts?: number;
}

/** What one evaluation compares. */
export interface EvaluationPlan {
  sets: EvalSet[];
  heldOut: string[];
  trainingLoras: TrainingLora[];
  generated: GeneratedLora[];
}

/** One adapter on one set. */
export interface CellResult {
  adapter: string;
  role: 'base' | 'training' | 'averaged' | 'generated';
  set: string;
  scorer: string;
  acc: Accuracy;
  accNorm: Accuracy | null;
  failed: string | null;
}

/** The baselines for one held-out set, all on the same items, in the headline metric. */
export interface HeldOutSummary {
  set: string;
  n: number;
  base: Accuracy;
  /** The training LoRAs not trained on this set. */
  training: { adapter: string; trainedOn: string; acc: Accuracy; failed: string | null }[];
  /** Mean over `training` (failed = 0); `pooled` is the Wilson interval of all their item outcomes together. */
  loraMean: { value: number; pooled: Accuracy; std: number; count: number; failed: number } | null;
  /** The best of `training` on this very set (chosen on the test items: an optimistic reference). */
  bestLora: { adapter: string; acc: Accuracy } | null;
  averagedLora: { adapter: string; members: string[]; acc: Accuracy } | null;
  generated: { k: number; numPrompts: number | null; samples: { sample: number; adapter: string; acc: Accuracy }[]; value: number; std: number; min: number; max: number; pooled: Accuracy } | null;
}

/** Everything results.json holds. */
export interface EvaluationResults {
  schemaVersion: 1;
  baseModel: string;
  metric: 'acc' | 'acc_norm';
  scorer: string;
  config: EvaluatorConfig;
  /** Per set: items available, items scored, and the subsample seed when subsampled. */
  sets: { name: string; total: number; n: number; subsampleSeed: number | null }[];
  heldOut: HeldOutSummary[];
  /** Rows: "base" then training LoRAs; columns: sets. Headline metric; null = not evaluated. */
  cross: { rows: { adapter: string; trainedOn: string | null; failed: string | null }[]; cols: string[]; cells: (Accuracy | null)[][] };
  cells: CellResult[];
  /** Where it was computed (tensor backend, ...), when the caller said so. */
  runInfo?: Record<string, string>;
}

/** Progress callback: done / total (adapter x set evaluations) and the last one finished. */
export type Progress = (p: { done: number; total: number; last: string }) => void;

function pickScorer(cfg: EvaluatorConfig, items: readonly EvalItem[]): Scorer {
  if (items.every((i) => i.answerFormat === 'numeric')) return new NumericScorer(cfg.generative);
  if (items.some((i) => i.answerFormat === 'numeric')) throw new Error(`set "${items[0]!.set}" mixes numeric and multiple-choice items`);
  return cfg.scorer === 'loglik' ? new LoglikScorer(cfg.batchSize) : new GenerativeScorer(cfg.generative);
}

function checkPlan(plan: EvaluationPlan): void {
  const names = new Set<string>();
  for (const s of plan.sets) {
    if (names.has(s.name)) throw new Error(`set "${s.name}" is listed twice`);
    names.add(s.name);
    assertScorable(s.name, s.items);
  }
  if (plan.heldOut.length === 0) throw new Error('heldOut is empty: name at least one set to report');
  for (const h of plan.heldOut) if (!names.has(h)) throw new Error(`held-out set "${h}" is not among the sets (${[...names].join(', ')})`);
  const loraNames = new Set<string>(['base']);
  for (const l of plan.trainingLoras) {
    if (loraNames.has(l.name)) throw new Error(`adapter name "${l.name}" is used twice (or is reserved)`);
    loraNames.add(l.name);
    if (!l.adapter && !l.failed) throw new Error(`training LoRA "${l.name}" has neither an adapter nor a failure reason`);
  }
  for (const g of plan.generated) {
    if (!plan.heldOut.includes(g.heldOut)) throw new Error(`generated LoRA sample ${g.sample} targets "${g.heldOut}", which is not a held-out set`);
  }
}

/**
 * Runs the plan on `model`: base on every set; each training LoRA on every set (or only on the
 * held-out sets without crossMatrix); per held-out set the element-wise averaged LoRA of the training
 * LoRAs not trained on it; each generated LoRA on its held-out set. Adapters are checked against the base
 * before any scoring, so a mismatch fails fast. With the log-likelihood scorer and a model that scores several
 * adapters per pass, a set's adapters are scored together (cfg.adaptersPerPass at a time); results and
 * prediction rows come out in plan order either way.
 * @example const { results, rows } = await runEvaluation(plan, resolveEvaluatorConfig(), model);
 */
export async function runEvaluation(plan: EvaluationPlan, cfg: EvaluatorConfig, model: EvalModel, progress?: Progress): Promise<{ results: EvaluationResults; rows: PredictionRow[] }> {
  checkPlan(plan);
  const sets = plan.sets.map((s) => ({
    name: s.name, total: s.items.length,
    items: cfg.maxItemsPerSet > 0 ? subsample(s.items, cfg.maxItemsPerSet, cfg.seed) : s.items,
  }));
  const setItems = new Map(sets.map((s) => [s.name, s.items]));

  // Fail fast on adapters made for another base.
  const usable = [...plan.trainingLoras.filter((l) => l.adapter && !l.failed).map((l) => [l.name, l.adapter!] as const),
    ...plan.generated.map((g) => [`generated:${g.heldOut}#${g.sample}`, g.adapter] as const)];
  for (const [name, a] of usable) {
    try { await model.useAdapter(a); } catch (e) { throw new Error(`adapter "${name}": ${(e as Error).message}`); }
  }
  await model.useAdapter(null);

  // The jobs: adapter -> sets.
  type Job = { adapter: string; role: CellResult['role']; lora: LoraAdapter | null; failed: string | null; sets: string[] };
  const jobs: Job[] = [{ adapter: 'base', role: 'base', lora: null, failed: null, sets: sets.map((s) => s.name) }];
  for (const l of plan.trainingLoras) {
    const want = cfg.crossMatrix ? sets.map((s) => s.name) : plan.heldOut.filter((h) => h !== l.trainedOn);
    jobs.push({ adapter: l.name, role: 'training', lora: l.adapter, failed: l.failed ?? null, sets: want });
  }
  const averaged = new Map<string, { adapter: string; members: string[] }>();
  for (const h of plan.heldOut) {
    const members = plan.trainingLoras.filter((l) => l.trainedOn !== h && l.adapter && !l.failed);
    if (members.length === 0) continue;
    const key = `averaged(${members.map((m) => m.name).join('+')})`;
    averaged.set(h, { adapter: key, members: members.map((m) => m.name) });
    const existing = jobs.find((j) => j.adapter === key);
    if (existing) { existing.sets.push(h); continue; }
    jobs.push({ adapter: key, role: 'averaged', lora: averageLoraAdapters(members.map((m) => m.adapter!), members.map((m) => m.name)), failed: null, sets: [h] });
  }
  for (const g of plan.generated) {
    jobs.push({ adapter: `generated:${g.heldOut}#${g.sample}`, role: 'generated', lora: g.adapter, failed: null, sets: [g.heldOut] });
  }

  const total = jobs.reduce((a, j) => a + j.sets.length, 0);
  let done = 0;
  const scored = new Map<string, ItemResult[]>(); // `${adapter}\n${set}`
  const key = (adapter: string, set: string): string => `${adapter}\n${set}`;
  // Between cells too (a cell on a full test set runs for minutes): same `done`, the items so far in `last`.
  const tick = (what: string, setName: string, n: number) => (itemsDone: number): void => {
    progress?.({ done, total, last: `${what} on ${setName}: ${itemsDone}/${n} items` });
  };
  const finish = (job: Job, setName: string, results: ItemResult[]): void => {
    scored.set(key(job.adapter, setName), results);
    progress?.({ done: ++done, total, last: `${job.adapter} on ${setName}` });
  };
  // Log-likelihood on a set: the adapters that score it go together, up to adaptersPerPass per pass.
  for (const s of sets) {
    const scorer = pickScorer(cfg, s.items);
    if (!(scorer instanceof LoglikScorer) || cfg.adaptersPerPass < 2 || !model.scoreContinuationsMulti) continue;
    const group = jobs.filter((j) => !j.failed && j.sets.includes(s.name));
    if (group.length < 2) continue;
    for (let i = 0; i < group.length; i += cfg.adaptersPerPass) {
      const part = group.slice(i, i + cfg.adaptersPerPass);
      const res = await scorer.scoreMany(model, part.map((j) => j.lora), s.items, tick(`${part.length} adapters`, s.name, s.items.length));
      part.forEach((j, k) => finish(j, s.name, res[k]!));
    }
  }
  // The rest one adapter at a time (generative and numeric scorers, failed LoRAs, a model without multi-adapter scoring).
  for (const job of jobs) {
    const todo = job.sets.filter((s) => !scored.has(key(job.adapter, s)));
    if (todo.length === 0) continue;
    if (!job.failed) await model.useAdapter(job.lora);
    for (const setName of todo) {
      const items = setItems.get(setName)!;
      finish(job, setName, job.failed
        ? items.map((it) => ({ itemId: it.id, set: it.set, choiceScores: [], prediction: -1, predictionNorm: null, gold: it.gold, correct: false, correctNorm: null, output: null }))
        : await pickScorer(cfg, items).score(model, items, tick(job.adapter, setName, items.length)));
    }
  }
  // Cells and prediction rows in plan order (adapter, then set), however they were scored.
  const cells: CellResult[] = [];
  const rows: PredictionRow[] = [];
  for (const job of jobs) {
    for (const setName of job.sets) {
      const scorer = pickScorer(cfg, setItems.get(setName)!);
      const results = scored.get(key(job.adapter, setName))!;
      const nOk = results.filter((r) => r.correct).length;
      const hasNorm = !job.failed && scorer.metrics.includes('acc_norm');
      cells.push({
        adapter: job.adapter, role: job.role, set: setName, scorer: scorer.name, failed: job.failed,
        acc: wilson(nOk, results.length),
        accNorm: hasNorm ? wilson(results.filter((r) => r.correctNorm).length, results.length) : (job.failed && scorer.metrics.includes('acc_norm') ? wilson(0, results.length) : null),
      });
      for (const r of results) rows.push({ ...r, adapter: job.adapter, role: job.role, scorer: job.failed ? 'failed' : scorer.name });
    }
  }
  await model.useAdapter(null);

  const headline = (c: CellResult): Accuracy => (cfg.metric === 'acc_norm' && c.accNorm ? c.accNorm : c.acc);
  const cell = (adapter: string, set: string) => cells.find((c) => c.adapter === adapter && c.set === set);

  const heldOut: HeldOutSummary[] = plan.heldOut.map((h) => {
    const base = headline(cell('base', h)!);
    const training = plan.trainingLoras.filter((l) => l.trainedOn !== h).map((l) => {
      const c = cell(l.name, h)!;
      return { adapter: l.name, trainedOn: l.trainedOn, acc: headline(c), failed: c.failed };
    });
    let loraMean: HeldOutSummary['loraMean'] = null;
    let bestLora: HeldOutSummary['bestLora'] = null;
    if (training.length > 0) {
      const s = spread(training.map((t) => t.acc.value));
      loraMean = {
        value: s.mean, std: s.std, count: training.length, failed: training.filter((t) => t.failed).length,
        pooled: wilson(training.reduce((a, t) => a + t.acc.correct, 0), training.reduce((a, t) => a + t.acc.n, 0)),
      };
      const best = training.reduce((b, t) => (t.acc.value > b.acc.value ? t : b));
      bestLora = { adapter: best.adapter, acc: best.acc };
    }
    const av = averaged.get(h);
    const averagedLora = av ? { adapter: av.adapter, members: av.members, acc: headline(cell(av.adapter, h)!) } : null;
    const gens = plan.generated.filter((g) => g.heldOut === h).sort((a, b) => a.sample - b.sample);
    let generated: HeldOutSummary['generated'] = null;
    if (gens.length > 0) {
      const samples = gens.map((g) => ({ sample: g.sample, adapter: `generated:${h}#${g.sample}`, acc: headline(cell(`generated:${h}#${g.sample}`, h)!) }));
      const s = spread(samples.map((x) => x.acc.value));
      generated = {
        k: samples.length, numPrompts: gens[0]!.numPrompts ?? null, samples, value: s.mean, std: s.std, min: s.min, max: s.max,
        pooled: wilson(samples.reduce((a, x) => a + x.acc.correct, 0), samples.reduce((a, x) => a + x.acc.n, 0)),
      };
    }
    return { set: h, n: base.n, base, training, loraMean, bestLora, averagedLora, generated };
  });

  const crossRows = [{ adapter: 'base', trainedOn: null as string | null, failed: null as string | null }, ...plan.trainingLoras.map((l) => ({ adapter: l.name, trainedOn: l.trainedOn, failed: l.failed ?? null }))];
  const cols = sets.map((s) => s.name);
  const cross = { rows: crossRows, cols, cells: crossRows.map((r) => cols.map((c) => { const x = cell(r.adapter, c); return x ? headline(x) : null; })) };

  const results: EvaluationResults = {
    schemaVersion: 1, baseModel: model.baseModelNameOrPath, metric: cfg.scorer === 'loglik' ? cfg.metric : 'acc', scorer: cfg.scorer, config: cfg,
    sets: sets.map((s) => ({ name: s.name, total: s.total, n: s.items.length, subsampleSeed: s.items.length < s.total ? cfg.seed : null })),
    heldOut, cross, cells,
  };
  return { results, rows };
}
