// Pluggable scorers over a ScoringModel: multiple-choice log-likelihood (acc, acc_norm exactly as
// lm-evaluation-harness computes them), generative with strict answer parsing, numeric exact match.
// Not the evaluation plan (which adapters on which sets): see evaluate.ts.
import { assertScorable, type EvalItem } from './eval-item';
import { numbersEqual, parseChoice, parseNumber, type ParseMode } from './answer-parse';
import type { ScoringModel } from './scoring-model';

/** One item's outcome, the row that goes to predictions.arrow. */
export interface ItemResult {
  itemId: string;
  set: string;
  /** Per-choice summed log-likelihood of " " + choice (log-likelihood scorer); empty otherwise. */
  choiceScores: number[];
  /** Predicted choice index; -1 = the output was outside the set's format (generative) or numeric. */
  prediction: number;
  /** acc_norm's prediction (argmax of loglik / choice length in characters); null for other scorers. */
  predictionNorm: number | null;
  gold: number | null;
  correct: boolean;
  correctNorm: boolean | null;
  /** Generated text (generative / numeric scorers); null for log-likelihood. */
  output: string | null;
}

/** A scorer turns items plus a model into per-item results. */
export interface Scorer {
  readonly name: string;
  /** Metric names this scorer fills; the first is the headline metric. */
  readonly metrics: readonly ('acc' | 'acc_norm')[];
  score(model: ScoringModel, items: readonly EvalItem[]): Promise<ItemResult[]>;
}

/** numpy.argmax: the first index of the maximum (NaN never wins here; all-NaN gives 0). */
export function argmaxFirst(xs: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i]! > xs[best]! || Number.isNaN(xs[best]!)) best = i;
  return best;
}

/** Python's len(): Unicode code points, not UTF-16 units. */
export function pyLen(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

function bySet(items: readonly EvalItem[]): void {
  const sets = new Map<string, EvalItem[]>();
  for (const it of items) sets.set(it.set, [...(sets.get(it.set) ?? []), it]);
  if (sets.size === 0) throw new Error('nothing to score: no items');
  for (const [s, xs] of sets) assertScorable(s, xs);
}

/**
 * Multiple-choice log-likelihood, as lm-evaluation-harness's `multiple_choice` output type: each choice
 * is scored as continuation " " + choice after the context; acc = [argmax ll == gold], acc_norm =
 * [argmax ll / len(choice) == gold] with len in characters of the choice without the space.
 * @example const r = await new LoglikScorer().score(model, items); r[0].choiceScores // [ll_0, ll_1, ...]
 */
export class LoglikScorer implements Scorer {
  readonly name = 'loglik';
  readonly metrics = ['acc', 'acc_norm'] as const;
  constructor(private readonly batchSize = 64) {}

  async score(model: ScoringModel, items: readonly EvalItem[]): Promise<ItemResult[]> {
    bySet(items);
    const reqs: { context: string; continuation: string }[] = [];
    for (const it of items) {
      if (it.answerFormat === 'numeric') throw new Error(`loglik scorer: item ${it.id} is numeric; use the numeric scorer`);
      for (const c of it.choices) reqs.push({ context: it.context, continuation: ` ${c}` });
    }
    const lls: number[] = [];
    for (let i = 0; i < reqs.length; i += this.batchSize) {
      const batch = reqs.slice(i, i + this.batchSize);
      const out = await model.scoreContinuations(batch, { batchSize: this.batchSize });
      if (out.length !== batch.length) throw new Error(`scoreContinuations returned ${out.length} scores for ${batch.length} requests`);
      for (const o of out) lls.push(o.logprob);
    }
    let k = 0;
    return items.map((it) => {
      const ll = lls.slice(k, k + it.choices.length);
      k += it.choices.length;
      const pred = argmaxFirst(ll);
      const predNorm = argmaxFirst(ll.map((v, i) => v / pyLen(it.choices[i]!)));
      return {
        itemId: it.id, set: it.set, choiceScores: ll, prediction: pred, predictionNorm: predNorm, gold: it.gold,
        correct: pred === it.gold, correctNorm: predNorm === it.gold, output: null,
      };
    });
  }
}

/** Options of the generative scorers. */
export interface GenerativeOptions {
  maxNewTokens: number;
  /** Greedy decoding (default); sampling uses temperature and seed. */
  greedy: boolean;
  temperature: number;
  seed: number;
  parse: ParseMode;
  /** Prompt template; "{prompt}" is replaced by the item's prompt. */
  template: string;
  batchSize: number;
}

async function generateAll(model: ScoringModel, items: readonly EvalItem[], o: GenerativeOptions): Promise<string[]> {
  const outs: string[] = [];
  for (let i = 0; i < items.length; i += o.batchSize) {
    const prompts = items.slice(i, i + o.batchSize).map((it) => o.template.split('{prompt}').join(it.prompt));
    const got = await model.generate(prompts, { maxNewTokens: o.maxNewTokens, greedy: o.greedy, temperature: o.temperature, seed: o.seed + i });
    if (got.length !== prompts.length) throw new Error(`generate returned ${got.length} outputs for ${prompts.length} prompts`);
    outs.push(...got);
  }
  return outs;
}

/**
 * Generative multiple choice with strict parsing: the output must state one of the item's format tokens
 * (answerN / true,false / optionN / solutionN); anything else is wrong (prediction -1).
 * @example await new GenerativeScorer({ ...DEFAULT_EVALUATOR_CONFIG.generative }).score(model, items)
 */
export class GenerativeScorer implements Scorer {
  readonly name = 'generative';
  readonly metrics = ['acc'] as const;
  constructor(private readonly o: GenerativeOptions) {}

  async score(model: ScoringModel, items: readonly EvalItem[]): Promise<ItemResult[]> {
    bySet(items);
    const outs = await generateAll(model, items, this.o);
    return items.map((it, i) => {
      const pred = parseChoice(outs[i]!, it.answerFormat, it.choices.length, this.o.parse);
      return { itemId: it.id, set: it.set, choiceScores: [], prediction: pred, predictionNorm: null, gold: it.gold, correct: pred >= 0 && pred === it.gold, correctNorm: null, output: outs[i]! };
    });
  }
}

/**
 * GSM8K-style numeric exact match: the final number of the output (after "####" if present) must equal
 * the item's target by value.
 */
export class NumericScorer implements Scorer {
  readonly name = 'numeric';
  readonly metrics = ['acc'] as const;
  constructor(private readonly o: GenerativeOptions) {}

  async score(model: ScoringModel, items: readonly EvalItem[]): Promise<ItemResult[]> {
    bySet(items);
    const outs = await generateAll(model, items, this.o);
    return items.map((it, i) => {
      const ok = numbersEqual(parseNumber(outs[i]!), it.target ?? '');
      return { itemId: it.id, set: it.set, choiceScores: [], prediction: -1, predictionNorm: null, gold: it.gold, correct: ok, correctNorm: null, output: outs[i]! };
    });
  }
}
