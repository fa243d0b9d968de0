// One protocol's summary of scored cells: the baselines per held-out set (base, training-LoRA mean, best
// LoRA, averaged LoRA, generated), the paired comparisons of the generated LoRAs against each baseline
// on the same items, each training LoRA against the base on its own set, chance levels, and the
// LoRA-by-set cross matrix. Pure: no scoring, no files.
import type { EvalProtocol } from './config';
import type { EvalItem } from './eval-item';
import type { PredictionRow } from './predictions-arrow';
import { mcnemarExact, pairedBootstrap, spread, wilson, type Accuracy, type McNemar, type PairedDiff } from './stats';
import { generatedName } from './diagnostics';

/** One adapter on one set under one protocol. */
export interface CellResult {
  adapter: string;
  role: 'base' | 'training' | 'averaged' | 'generated' | 'probe';
  set: string;
  protocol: EvalProtocol;
  scorer: string;
  acc: Accuracy;
  accNorm: Accuracy | null;
  failed: string | null;
}

/** Generated LoRAs against one baseline on the same items (headline metric). */
export interface PairedComparison {
  /** What the generated LoRAs are compared with. */
  against: 'base' | 'loraMean' | 'averagedLora' | 'bestLora';
  /** The adapter(s) on the other side. */
  adapters: string[];
  /** Per item: (share of the K generated LoRAs right) − (the baseline's outcome, or the share of training LoRAs right for loraMean); 95% paired bootstrap. */
  diff: PairedDiff;
  /** McNemar's exact test of each generated sample against a single baseline adapter; null for the LoRA mean (not a single pair). */
  mcnemar: ({ sample: number } & McNemar)[] | null;
}

/** The baselines for one held-out set, all on the same items, in the headline metric. */
export interface HeldOutSummary {
  set: string;
  /** The headline metric of this set's numbers (accuracies, intervals, paired statistics). */
  metric: 'acc' | 'acc_norm';
  n: number;
  /** Expected accuracy of a uniform guess: mean over items of 1 / choices (0 for numeric items). */
  chance: number;
  base: Accuracy;
  /** The training LoRAs not trained on this set. */
  training: { adapter: string; trainedOn: string; acc: Accuracy; failed: string | null }[];
  /** Mean over `training` (failed = 0); `pooled` is the Wilson interval of all their item outcomes together. */
  loraMean: { value: number; pooled: Accuracy; std: number; min: number; max: number; count: number; failed: number } | null;
  /** The best of `training` on this very set (chosen on the test items: an optimistic reference). */
  bestLora: { adapter: string; acc: Accuracy } | null;
  averagedLora: { adapter: string; members: string[]; acc: Accuracy } | null;
  generated: { k: number; numPrompts: number | null; samples: { sample: number; adapter: string; acc: Accuracy }[]; value: number; std: number; min: number; max: number; pooled: Accuracy } | null;
  /** Generated − each baseline, paired on the items (empty without generated LoRAs). */
  paired: PairedComparison[];
}

/** A training LoRA on its own training set against the base model, paired on the items (issue 16 item 2). */
export interface OwnSetComparison {
  adapter: string;
  set: string;
  lora: Accuracy;
  base: Accuracy;
  /** lora − base per item, 95% paired bootstrap. */
  diff: PairedDiff;
  mcnemar: McNemar;
}

/** The LoRA-by-set matrix: rows "base" then training LoRAs; columns sets; headline metric; null = not evaluated. */
export interface CrossMatrix {
  rows: { adapter: string; trainedOn: string | null; failed: string | null }[];
  cols: string[];
  cells: (Accuracy | null)[][];
}

/** What the summary needs to know about the plan. */
export interface SummaryPlan {
  heldOut: string[];
  sets: { name: string; items: readonly EvalItem[] }[];
  trainingLoras: { name: string; trainedOn: string; failed?: string }[];
  generated: { heldOut: string; sample: number; numPrompts?: number }[];
  /** held-out set -> its averaged LoRA's adapter name and members. */
  averaged: Map<string, { adapter: string; members: string[] }>;
}

/** Expected accuracy of a uniform guess over the items' choices (0 for numeric items). */
export function chanceLevel(items: readonly EvalItem[]): number {
  if (items.length === 0) return 0;
  return items.reduce((a, it) => a + (it.choices.length > 0 ? 1 / it.choices.length : 0), 0) / items.length;
}

/** A cell's accuracy in its set's headline metric (acc where the cell has no acc_norm, e.g. numeric items). */
export function headlineAccuracy(c: CellResult, metricOf: (set: string) => 'acc' | 'acc_norm'): Accuracy {
  return metricOf(c.set) === 'acc_norm' && c.accNorm ? c.accNorm : c.acc;
}

/**
 * Summarises one protocol's cells and prediction rows: per held-out set the baselines and the paired
 * comparisons (bootstrap with `seed`, `resamples`), and the cross matrix.
 * Each set's numbers use its headline metric, `metricOf(set)`.
 * @example const { heldOut, cross } = summariseProtocol('knowledge', () => 'acc', plan, cells, rows, 1234, 4000);
 */
export function summariseProtocol(protocol: EvalProtocol, metricOf: (set: string) => 'acc' | 'acc_norm', plan: SummaryPlan, cells: readonly CellResult[], rows: readonly PredictionRow[], seed: number, resamples: number): { heldOut: HeldOutSummary[]; cross: CrossMatrix; ownSet: OwnSetComparison[] } {
  const mine = cells.filter((c) => c.protocol === protocol);
  const headline = (c: CellResult): Accuracy => headlineAccuracy(c, metricOf);
  const cell = (adapter: string, set: string) => mine.find((c) => c.adapter === adapter && c.set === set);
  const setItems = new Map(plan.sets.map((s) => [s.name, s.items]));
  // Per-item outcomes (headline metric) of one adapter on one set, in item order.
  const outcomes = (adapter: string, set: string): boolean[] => {
    const items = setItems.get(set)!;
    const byId = new Map<string, PredictionRow>();
    for (const r of rows) if (r.protocol === protocol && r.adapter === adapter && r.set === set) byId.set(r.itemId, r);
    const norm = metricOf(set) === 'acc_norm';
    return items.map((it) => {
      const r = byId.get(it.id);
      if (!r) throw new Error(`summariseProtocol: no ${protocol} prediction of ${adapter} for item ${it.id}`);
      return norm && r.correctNorm !== null ? r.correctNorm : r.correct;
    });
  };
  const share = (vs: boolean[][], n: number): Float64Array => {
    const out = new Float64Array(n);
    for (const v of vs) v.forEach((x, i) => { out[i] = out[i]! + (x ? 1 / vs.length : 0); });
    return out;
  };

  const heldOut: HeldOutSummary[] = plan.heldOut.map((h) => {
    const items = setItems.get(h)!;
    const base = headline(cell('base', h)!);
    const trainingLoras = plan.trainingLoras.filter((l) => l.trainedOn !== h);
    const training = trainingLoras.map((l) => {
      const c = cell(l.name, h)!;
      return { adapter: l.name, trainedOn: l.trainedOn, acc: headline(c), failed: c.failed };
    });
    let loraMean: HeldOutSummary['loraMean'] = null;
    let bestLora: HeldOutSummary['bestLora'] = null;
    if (training.length > 0) {
      const s = spread(training.map((t) => t.acc.value));
      loraMean = {
        value: s.mean, std: s.std, min: s.min, max: s.max, count: training.length, failed: training.filter((t) => t.failed).length,
        pooled: wilson(training.reduce((a, t) => a + t.acc.correct, 0), training.reduce((a, t) => a + t.acc.n, 0)),
      };
      const best = training.reduce((b, t) => (t.acc.value > b.acc.value ? t : b));
      bestLora = { adapter: best.adapter, acc: best.acc };
    }
    const av = plan.averaged.get(h);
    const averagedLora = av ? { adapter: av.adapter, members: av.members, acc: headline(cell(av.adapter, h)!) } : null;
    const gens = plan.generated.filter((g) => g.heldOut === h).sort((a, b) => a.sample - b.sample);
    let generated: HeldOutSummary['generated'] = null;
    const paired: PairedComparison[] = [];
    if (gens.length > 0) {
      const samples = gens.map((g) => ({ sample: g.sample, adapter: generatedName(g), acc: headline(cell(generatedName(g), h)!) }));
      const s = spread(samples.map((x) => x.acc.value));
      generated = {
        k: samples.length, numPrompts: gens[0]!.numPrompts ?? null, samples, value: s.mean, std: s.std, min: s.min, max: s.max,
        pooled: wilson(samples.reduce((a, x) => a + x.acc.correct, 0), samples.reduce((a, x) => a + x.acc.n, 0)),
      };
      const genOut = samples.map((x) => outcomes(x.adapter, h));
      const gen = share(genOut, items.length);
      const single = (against: PairedComparison['against'], adapter: string) => {
        const other = outcomes(adapter, h);
        paired.push({
          against, adapters: [adapter], diff: pairedBootstrap(gen, other.map(Number), { seed, resamples }),
          mcnemar: samples.map((x, k) => ({ sample: x.sample, ...mcnemarExact(genOut[k]!, other) })),
        });
      };
      single('base', 'base');
      if (training.length > 0) {
        const lm = share(training.map((t) => outcomes(t.adapter, h)), items.length);
        paired.push({ against: 'loraMean', adapters: training.map((t) => t.adapter), diff: pairedBootstrap(gen, lm, { seed, resamples }), mcnemar: null });
      }
      if (averagedLora) single('averagedLora', averagedLora.adapter);
      if (bestLora) single('bestLora', bestLora.adapter);
    }
    return { set: h, metric: metricOf(h), n: base.n, chance: chanceLevel(items), base, training, loraMean, bestLora, averagedLora, generated, paired };
  });

  const crossRows = [{ adapter: 'base', trainedOn: null as string | null, failed: null as string | null }, ...plan.trainingLoras.map((l) => ({ adapter: l.name, trainedOn: l.trainedOn, failed: l.failed ?? null }))];
  const cols = plan.sets.map((s) => s.name);
  const cross = { rows: crossRows, cols, cells: crossRows.map((r) => cols.map((c) => { const x = cell(r.adapter, c); return x ? headline(x) : null; })) };
  // Each training LoRA on its own set (scored there only with the cross matrix), against the base.
  const ownSet: OwnSetComparison[] = [];
  for (const l of plan.trainingLoras) {
    const c = cell(l.name, l.trainedOn);
    const b = cell('base', l.trainedOn);
    if (!c || !b || c.failed) continue;
    const lo = outcomes(l.name, l.trainedOn), bo = outcomes('base', l.trainedOn);
    ownSet.push({ adapter: l.name, set: l.trainedOn, lora: headline(c), base: headline(b), diff: pairedBootstrap(lo.map(Number), bo.map(Number), { seed, resamples }), mcnemar: mcnemarExact(lo, bo) });
  }
  return { heldOut, cross, ownSet };
}
