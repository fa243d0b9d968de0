// One evaluation: which adapter is scored on which set (base, every training LoRA, the averaged LoRA
// per held-out set, the generated LoRAs) under each protocol (paper, knowledge), and each protocol's
// summary. In memory: no files (evaluate.ts writes them). Not a scorer (scorers.ts), not the summary
// arithmetic (held-out-summary.ts).
import type { LoraAdapter } from '@dnd/core';
import { assertScorable, type EvalItem } from './eval-item';
import type { EvalProtocol, EvaluatorConfig } from './config';
import { generatedName, generatedSpread, inDistributionRows, probeName, promptSwapTables, type InDistribution, type ProbeLora, type PromptSwap } from './diagnostics';
import type { LoraSpread } from './lora-geometry';
import { chanceLevel, headlineAccuracy, summariseProtocol, type CellResult, type CrossMatrix, type HeldOutSummary, type OwnSetComparison } from './held-out-summary';
import { averageLoraAdapters } from './lora-average';
import { scoringJobs, scoringPairs, type ScoringJob, type ScoringShape } from './scoring-plan';
import type { PredictionRow } from './predictions-arrow';
import type { RunInfo } from './run-info';
import { GenerativeScorer, LoglikScorer, NumericScorer, type ItemResult, type Scorer } from './scorers';
import type { EvalModel } from './scoring-model';
import { subsample, wilson } from './stats';

export type { CellResult, CrossMatrix, HeldOutSummary, OwnSetComparison, PairedComparison } from './held-out-summary';

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
  /** Score the element-wise average of the training LoRAs not trained on each held-out set (default true;
   *  false when the adapters are unrelated, as in `dnd evaluate`). */
  averageTrainingLoras?: boolean;
  /** Generated LoRAs that probe the generator (prompt swap, in-distribution); optional. */
  probes?: ProbeLora[];
}

/** One protocol's results: its items per set, baselines and paired comparisons per held-out set, cross matrix. */
export interface ProtocolResults {
  protocol: EvalProtocol;
  /** The multiple-choice scorer (numeric sets are scored by exact match in either protocol). */
  scorer: 'loglik' | 'generative';
  /** The headline metric of sets `metricBySet` does not name. */
  metric: 'acc' | 'acc_norm';
  /** The headline metric of every scored set (tables, intervals, paired statistics on that set use it). */
  metricBySet: Record<string, 'acc' | 'acc_norm'>;
  /** Per set: items available, items scored, the subsample seed when subsampled, and the chance level of the scored items. */
  sets: { name: string; total: number; n: number; subsampleSeed: number | null; chance: number }[];
  heldOut: HeldOutSummary[];
  cross: CrossMatrix;
  /** Each training LoRA against the base on its own training set (needs crossMatrix; empty without it). */
  ownSet: OwnSetComparison[];
  /** Per held-out set with prompt-swap probes: its own prompts' LoRAs against other sets' prompts' LoRAs. */
  promptSwap: PromptSwap[];
  /** Per training set with in-distribution probes: the LoRA generated from its prompts against its own LoRA. */
  inDistribution: InDistribution[];
  /** Wall time of this protocol's scoring (see ProtocolTiming); absent in results written before it was recorded. */
  timing?: ProtocolTiming;
}

/**
 * Wall time of one protocol's scoring calls, in all and per set, with the item-adapter pairs scored (a failed LoRA's
 * pairs are not scored and not counted). Calls that a call cache served (a retried attempt, an earlier fold) count
 * at the time they took to read back, so `seconds` is what this evaluation spent, not what the pairs cost from nothing.
 */
export interface ProtocolTiming {
  seconds: number;
  pairs: number;
  sets: { name: string; pairs: number; seconds: number }[];
}

/** Everything results.json holds. */
export interface EvaluationResults {
  schemaVersion: 2;
  baseModel: string;
  config: EvaluatorConfig;
  /** One entry per protocol, in config order. */
  protocols: ProtocolResults[];
  /** The first protocol's metric, scorer, sets, held-out summaries and cross matrix, at the top level for schema-1 readers. */
  metric: 'acc' | 'acc_norm';
  scorer: string;
  sets: ProtocolResults['sets'];
  heldOut: HeldOutSummary[];
  cross: CrossMatrix;
  cells: CellResult[];
  /** Distances between generated LoRAs (regular and probes) grouped by the set whose prompts made them; null with fewer than two such sets. */
  spread: LoraSpread | null;
  /** Where and how the run was made (run id, preset, commit, base model, encoder, backend, step times), when the caller said so. */
  runInfo?: RunInfo;
}

/**
 * Progress callback: done / total cells (adapter x set x protocol evaluations) and the last one finished, with
 * `items`: item-adapter pairs scored so far of all, updated after every model call (a batch).
 */
export type Progress = (p: { done: number; total: number; last: string; items: { done: number; total: number } }) => void;

/** The multiple-choice scorer of a protocol: knowledge is always log-likelihood; paper uses cfg.scorer. */
export function protocolScorer(cfg: EvaluatorConfig, protocol: EvalProtocol): 'loglik' | 'generative' {
  return protocol === 'knowledge' ? 'loglik' : cfg.scorer;
}

/** The headline metric of a protocol on `set` (generation has acc only; the knowledge protocol may name sets' own). */
export function protocolMetric(cfg: EvaluatorConfig, protocol: EvalProtocol, set?: string): 'acc' | 'acc_norm' {
  if (protocol === 'knowledge') return (set !== undefined ? cfg.knowledge.metricBySet?.[set] : undefined) ?? cfg.knowledge.metric;
  return cfg.scorer === 'loglik' ? cfg.metric : 'acc';
}

function pickScorer(cfg: EvaluatorConfig, protocol: EvalProtocol, items: readonly EvalItem[]): Scorer {
  if (items.every((i) => i.answerFormat === 'numeric')) return new NumericScorer(cfg.generative);
  if (items.some((i) => i.answerFormat === 'numeric')) throw new Error(`set "${items[0]!.set}" mixes numeric and multiple-choice items`);
  return protocolScorer(cfg, protocol) === 'loglik' ? new LoglikScorer(cfg.batchSize) : new GenerativeScorer(cfg.generative);
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
  const probeNames = new Set<string>();
  for (const p of plan.probes ?? []) {
    const name = probeName(p);
    if (probeNames.has(name)) throw new Error(`probe "${name}" is listed twice`);
    probeNames.add(name);
    if (p.kind === 'promptSwap') {
      if (!plan.heldOut.includes(p.scoredOn)) throw new Error(`probe "${name}": prompt-swap LoRAs are scored on a held-out set, and "${p.scoredOn}" is not one`);
      if (p.promptsFrom === p.scoredOn) throw new Error(`probe "${name}": a held-out set's own prompts are its generated LoRAs, not a swap`);
    } else {
      if (!names.has(p.scoredOn)) throw new Error(`probe "${name}": set "${p.scoredOn}" is not among the sets`);
      if (p.promptsFrom !== p.scoredOn) throw new Error(`probe "${name}": an in-distribution LoRA comes from its own set's prompts (promptsFrom "${p.promptsFrom}")`);
      if (!plan.trainingLoras.some((l) => l.trainedOn === p.scoredOn && l.adapter && !l.failed)) throw new Error(`probe "${name}": no usable training LoRA of "${p.scoredOn}" to compare with`);
    }
  }
}

/**
 * Runs the plan on `model` under every protocol of the config: base on every set; each training LoRA on
 * every set (or only on the held-out sets without crossMatrix); per held-out set the element-wise averaged
 * LoRA of the training LoRAs not trained on it; each generated LoRA on its held-out set; each probe LoRA
 * on its set (with the own LoRA of an in-distribution probe's set scored there too). The base is scored on every
 * set with crossMatrix, else on the held-out and probe sets. The adapters of one set are scored together,
 * adaptersPerPass at a time. Adapters are checked against the base before any scoring, so a mismatch fails fast.
 * @example const { results, rows } = await runEvaluation(plan, resolveEvaluatorConfig(), model);
 */
export async function runEvaluation(plan: EvaluationPlan, cfg: EvaluatorConfig, model: EvalModel, progress?: Progress): Promise<{ results: EvaluationResults; rows: PredictionRow[] }> {
  checkPlan(plan);
  const limit = (p: EvalProtocol) => (p === 'knowledge' ? cfg.knowledge.maxItemsPerSet : cfg.maxItemsPerSet);
  const protoSets = new Map(cfg.protocols.map((p) => [p, plan.sets.map((s) => ({
    name: s.name, total: s.items.length,
    items: limit(p) > 0 ? subsample(s.items, limit(p), cfg.seed) : s.items,
  }))]));

  // Fail fast on adapters made for another base.
  const usable = [...plan.trainingLoras.filter((l) => l.adapter && !l.failed).map((l) => [l.name, l.adapter!] as const),
    ...plan.generated.map((g) => [generatedName(g), g.adapter] as const),
    ...(plan.probes ?? []).map((p) => [probeName(p), p.adapter] as const)];
  for (const [name, a] of usable) {
    try { await model.useAdapter(a); } catch (e) { throw new Error(`adapter "${name}": ${(e as Error).message}`); }
  }
  await model.useAdapter(null);

  // The jobs: adapter -> sets per protocol (scoring-plan.ts, the rule a run's ETA counts with too).
  const setNames = plan.sets.map((s) => s.name);
  const shape: ScoringShape = {
    sets: setNames, heldOut: plan.heldOut,
    trainingLoras: plan.trainingLoras.map((l) => ({ name: l.name, trainedOn: l.trainedOn, usable: Boolean(l.adapter) && !l.failed })),
    generated: plan.generated, probes: plan.probes ?? [],
    ...(plan.averageTrainingLoras === undefined ? {} : { averageTrainingLoras: plan.averageTrainingLoras }),
  };
  type Job = ScoringJob & { lora: LoraAdapter | null; failed: string | null };
  const loraOf = new Map<string, LoraAdapter>([
    ...plan.generated.map((g) => [generatedName(g), g.adapter] as const),
    ...(plan.probes ?? []).map((p) => [probeName(p), p.adapter] as const),
  ]);
  const averaged = new Map<string, { adapter: string; members: string[] }>();
  const jobs: Job[] = scoringJobs(shape, cfg).map((j): Job => {
    if (j.role === 'base') return { ...j, lora: null, failed: null };
    if (j.role === 'training') {
      const l = plan.trainingLoras.find((t) => t.name === j.adapter)!;
      return { ...j, lora: l.adapter, failed: l.failed ?? null };
    }
    if (j.role === 'averaged') {
      const members = j.members!.map((m) => plan.trainingLoras.find((t) => t.name === m)!);
      for (const h of j.averagedFor!) averaged.set(h, { adapter: j.adapter, members: j.members! });
      return { ...j, lora: averageLoraAdapters(members.map((m) => m.adapter!), j.members!), failed: null };
    }
    return { ...j, lora: loraOf.get(j.adapter)!, failed: null };
  });
  const setsFor = (job: Job, protocol: EvalProtocol): string[] => job.sets[protocol];
  const total = jobs.reduce((a, j) => a + cfg.protocols.reduce((b, p) => b + setsFor(j, p).length, 0), 0);
  const sizeOf = (p: EvalProtocol, set: string) => protoSets.get(p)!.find((s) => s.name === set)!.items.length;
  const pairs = scoringPairs(jobs, cfg.protocols, sizeOf);
  const items = { done: 0, total: cfg.protocols.reduce((a, p) => a + pairs[p], 0) };
  let done = 0;
  // Scoring, per protocol and set: the adapters that score it, in passes of at most adaptersPerPass (split evenly),
  // each pass one scoreMany call (one forward pass per batch for all of them when the model can).
  const scored = new Map<string, ItemResult[]>();
  const keyOf = (adapter: string, protocol: EvalProtocol, set: string) => JSON.stringify([adapter, protocol, set]);
  const scorerOf = new Map<string, Scorer>();
  const timing = new Map<EvalProtocol, ProtocolTiming>(cfg.protocols.map((p) => [p, { seconds: 0, pairs: 0, sets: [] }]));
  for (const protocol of cfg.protocols) {
    const setItems = new Map(protoSets.get(protocol)!.map((s) => [s.name, s.items]));
    for (const setName of setNames) {
      const here = jobs.filter((j) => setsFor(j, protocol).includes(setName));
      if (here.length === 0) continue;
      const setList = setItems.get(setName)!;
      const scorer = pickScorer(cfg, protocol, setList);
      scorerOf.set(JSON.stringify([protocol, setName]), scorer);
      const finish = (job: Job, results: ItemResult[]): void => {
        scored.set(keyOf(job.adapter, protocol, setName), results);
        progress?.({ done: ++done, total, last: `${job.adapter} on ${setName} (${protocol})`, items: { ...items } });
      };
      for (const job of here.filter((j) => j.failed)) {
        items.done += setList.length;
        finish(job, setList.map((it) => ({ itemId: it.id, set: it.set, choiceScores: [], prediction: -1, predictionNorm: null, gold: it.gold, correct: false, correctNorm: null, output: null })));
      }
      const live = here.filter((j) => !j.failed);
      // On a set that is not held out here (a training set: the cross matrix, its own LoRA, the probes), the base
      // and each training LoRA get a pass of their own: whichever fold of a leave-one-out run scores that set, and
      // whichever other LoRAs that fold has, these calls are the same, so a shared call cache (memoizedEvalModel's
      // sharedDir) serves them exactly after the first fold. The rest (probes) differ per fold and go together. A
      // held-out set is scored in one fold only: all its adapters go together (fewer passes).
      const stable = (j: Job) => j.role === 'base' || j.role === 'training';
      const groups = plan.heldOut.includes(setName) ? [live] : [...live.filter(stable).map((j) => [j]), live.filter((j) => !stable(j))];
      const setTime = { name: setName, pairs: 0, seconds: 0 };
      for (const group of groups.filter((g) => g.length > 0)) {
        const per = Math.ceil(group.length / Math.ceil(group.length / cfg.adaptersPerPass));
        for (let p = 0; p < group.length; p += per) {
          const pass = group.slice(p, p + per);
          const before = items.done;
          const names = pass.length === 1 ? pass[0]!.adapter : `${pass.length} adapters`;
          const started = performance.now();
          const results = await scorer.scoreMany(model, pass.map((j) => j.lora), setList, (pairs) => {
            items.done = before + pairs;
            progress?.({ done, total, last: `${names} on ${setName} (${protocol}): ${pairs}/${pass.length * setList.length} item-adapter pairs`, items: { ...items } });
          });
          setTime.seconds += (performance.now() - started) / 1000;
          setTime.pairs += pass.length * setList.length;
          items.done = before + pass.length * setList.length;
          pass.forEach((job, k) => finish(job, results[k]!));
        }
      }
      const t = timing.get(protocol)!;
      t.sets.push(setTime);
      t.seconds += setTime.seconds;
      t.pairs += setTime.pairs;
    }
  }
  // Cells and prediction rows in adapter order (adapter, protocol, set), whatever the passes were.
  const cells: CellResult[] = [];
  const rows: PredictionRow[] = [];
  for (const job of jobs) {
    for (const protocol of cfg.protocols) {
      for (const setName of setsFor(job, protocol)) {
        const results = scored.get(keyOf(job.adapter, protocol, setName))!;
        const scorer = scorerOf.get(JSON.stringify([protocol, setName]))!;
        const nOk = results.filter((r) => r.correct).length;
        const hasNorm = !job.failed && scorer.metrics.includes('acc_norm');
        cells.push({
          adapter: job.adapter, role: job.role, set: setName, protocol, scorer: scorer.name, failed: job.failed,
          acc: wilson(nOk, results.length),
          accNorm: hasNorm ? wilson(results.filter((r) => r.correctNorm).length, results.length) : (job.failed && scorer.metrics.includes('acc_norm') ? wilson(0, results.length) : null),
        });
        for (const r of results) rows.push({ ...r, adapter: job.adapter, role: job.role, protocol, scorer: job.failed ? 'failed' : scorer.name });
      }
    }
  }
  await model.useAdapter(null);

  const protocols: ProtocolResults[] = cfg.protocols.map((protocol) => {
    const sets = protoSets.get(protocol)!;
    const metric = protocolMetric(cfg, protocol);
    const metricOf = (set: string) => protocolMetric(cfg, protocol, set);
    const { heldOut, cross, ownSet } = summariseProtocol(protocol, metricOf, { heldOut: plan.heldOut, sets, trainingLoras: plan.trainingLoras, generated: plan.generated, averaged }, cells, rows, cfg.seed, cfg.bootstrapResamples);
    const cellOf = (adapter: string, set: string) => cells.find((c) => c.protocol === protocol && c.adapter === adapter && c.set === set);
    const headline = (c: CellResult) => headlineAccuracy(c, metricOf);
    const probes = plan.probes ?? [];
    return {
      protocol, scorer: protocolScorer(cfg, protocol), metric, metricBySet: Object.fromEntries(sets.map((s) => [s.name, metricOf(s.name)])), heldOut, cross, ownSet,
      promptSwap: promptSwapTables(probes, plan.generated, cellOf, headline),
      inDistribution: inDistributionRows(probes, plan.trainingLoras, cellOf, headline),
      sets: sets.map((s) => ({ name: s.name, total: s.total, n: s.items.length, subsampleSeed: s.items.length < s.total ? cfg.seed : null, chance: chanceLevel(s.items) })),
      timing: timing.get(protocol)!,
    };
  });
  const first = protocols[0]!;
  const results: EvaluationResults = {
    schemaVersion: 2, baseModel: model.baseModelNameOrPath, config: cfg, protocols,
    metric: first.metric, scorer: first.scorer, sets: first.sets, heldOut: first.heldOut, cross: first.cross, cells,
    spread: generatedSpread(plan.probes ?? [], plan.generated),
  };
  return { results, rows };
}
