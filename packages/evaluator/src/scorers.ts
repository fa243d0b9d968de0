// Pluggable scorers over a ScoringModel: multiple-choice log-likelihood (acc, acc_norm exactly as
// lm-evaluation-harness computes them; several adapters at once when the model can), generative with strict
// answer parsing, numeric exact match.
// Not the evaluation plan (which adapters on which sets): see evaluate.ts.
import { assertScorable, type EvalItem } from './eval-item';
import { numbersEqual, parseChoice, parseNumber, STRICT_CHOICE_STOP, type ParseMode } from './answer-parse';
import type { LoraAdapter } from '@dnd/core';
import type { ContinuationRequest, ContinuationScore, EvalModel, GenerateOptions, ScoringModel } from './scoring-model';

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
  /** Generated text (generative / numeric scorers; strict generative: up to where its answer was decided); null for log-likelihood. */
  output: string | null;
}

/** A scorer turns items plus a model into per-item results. */
export interface Scorer {
  readonly name: string;
  /** Metric names this scorer fills; the first is the headline metric. */
  readonly metrics: readonly ('acc' | 'acc_norm')[];
  /** `onItems(done)` is called after each call to the model with the items scored so far (for heartbeats). */
  score(model: ScoringModel, items: readonly EvalItem[], onItems?: (done: number) => void): Promise<ItemResult[]>;
  /**
   * `score` under each adapter in turn (null = the bare base): together when the model takes several adapters per
   * pass, one after another through useAdapter otherwise. Returns [adapters.length][items.length]. `onPairs(done)`
   * is called after each call to the model with the item-adapter pairs scored so far.
   */
  scoreMany(model: EvalModel, adapters: readonly (LoraAdapter | null)[], items: readonly EvalItem[], onPairs?: (done: number) => void): Promise<ItemResult[][]>;
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

// scoreMany without a multi-adapter model: `one` under each adapter in turn (attached through useAdapter), with
// `onPairs` counting the item-adapter pairs done over all of them (`one` reports items done under its adapter).
async function oneByOne<T>(model: EvalModel, adapters: readonly (LoraAdapter | null)[], n: number, onPairs: ((done: number) => void) | undefined, one: (onItems?: (done: number) => void) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (const a of adapters) {
    const before = out.length * n;
    await model.useAdapter(a);
    out.push(await one(onPairs && ((k) => onPairs(before + k))));
  }
  return out;
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

  async score(model: ScoringModel, items: readonly EvalItem[], onItems?: (done: number) => void): Promise<ItemResult[]> {
    const [res] = await this.scoreChunks(items, 1, (reqs) => model.scoreContinuations(reqs, { batchSize: this.batchSize }).then((r) => [r]), onItems);
    return res!;
  }

  /**
   * The same results as `score` under each adapter in turn (null = the bare base), computed together when the
   * model scores several adapters per forward pass (ScoringModel.scoreContinuationsMulti); one adapter after
   * another through `useAdapter` otherwise. Returns [adapters.length][items.length].
   * @example const [base, a] = await new LoglikScorer().scoreMany(model, [null, adapter], items);
   */
  async scoreMany(model: EvalModel, adapters: readonly (LoraAdapter | null)[], items: readonly EvalItem[], onPairs?: (done: number) => void): Promise<ItemResult[][]> {
    const K = adapters.length;
    if (model.scoreContinuationsMulti && K > 1) {
      const multi = model.scoreContinuationsMulti.bind(model);
      return this.scoreChunks(items, K, (reqs) => multi([...adapters], reqs, { batchSize: this.batchSize }), onPairs && ((n) => onPairs(n * K)));
    }
    return oneByOne(model, adapters, items.length, onPairs, (onItems) => this.score(model, items, onItems));
  }

  /**
   * Requests in chunks of whole items (at most batchSize requests, a larger item alone), so a context's choices
   * stay together; with K adapters each chunk is one call for all of them.
   */
  private async scoreChunks(items: readonly EvalItem[], K: number, run: (reqs: ContinuationRequest[]) => Promise<ContinuationScore[][]>, onItems?: (done: number) => void): Promise<ItemResult[][]> {
    bySet(items);
    for (const it of items) if (it.answerFormat === 'numeric') throw new Error(`loglik scorer: item ${it.id} is numeric; use the numeric scorer`);
    const lls: number[][] = Array.from({ length: K }, () => []);
    let itemsDone = 0; let chunkItems = 0;
    const flush = async (reqs: ContinuationRequest[]): Promise<void> => {
      const out = await run(reqs);
      itemsDone += chunkItems; chunkItems = 0;
      onItems?.(itemsDone);
      if (out.length !== K) throw new Error(`scoring returned ${out.length} adapters' scores for ${K}`);
      out.forEach((o, k) => {
        if (o.length !== reqs.length) throw new Error(`scoreContinuations returned ${o.length} scores for ${reqs.length} requests`);
        for (const x of o) lls[k]!.push(x.logprob);
      });
    };
    let chunk: ContinuationRequest[] = [];
    for (const it of items) {
      if (chunk.length > 0 && chunk.length + it.choices.length > this.batchSize) { await flush(chunk); chunk = []; }
      chunkItems++;
      for (const c of it.choices) chunk.push({ context: it.context, continuation: ` ${c}` });
    }
    if (chunk.length) await flush(chunk);
    return lls.map((all) => {
      let k = 0;
      return items.map((it) => {
        const ll = all.slice(k, k + it.choices.length);
        k += it.choices.length;
        const pred = argmaxFirst(ll);
        const predNorm = argmaxFirst(ll.map((v, i) => v / pyLen(it.choices[i]!)));
        return {
          itemId: it.id, set: it.set, choiceScores: ll, prediction: pred, predictionNorm: predNorm, gold: it.gold,
          correct: pred === it.gold, correctNorm: predNorm === it.gold, output: null,
        };
      });
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

// Every item's prompt generated in batches of o.batchSize prompts: under the attached adapter, or, with `adapters`,
// under each of them in one generateMulti call per batch. [K][items.length] (K = 1 without adapters), in item order.
// Batches take the prompts in order of length (characters, a stable sort), so that a batch pads its prompts to
// similar lengths: on ARC-Easy's test instructions in batches of 8, taken in item order a batch computes 1.44x the
// tokens its prompts hold, sorted 1.03x (prefill is most of generation's time). A prompt's own computation does not
// depend on its batch (left padding is masked out), so only floating-point noise can differ from item order.
// `stop` ends a row once the scorer's reading of it is decided (its text is then cut there).
async function generateAll(model: ScoringModel, items: readonly EvalItem[], o: GenerativeOptions, onItems?: (done: number) => void, adapters?: readonly (LoraAdapter | null)[], stop?: GenerateOptions['stopWhen']): Promise<string[][]> {
  const K = adapters?.length ?? 1;
  const prompts = items.map((it) => o.template.split('{prompt}').join(it.prompt));
  const order = prompts.map((p, i) => [p.length, i] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]).map(([, i]) => i);
  const outs: string[][] = Array.from({ length: K }, () => new Array<string>(items.length));
  for (let i = 0; i < order.length; i += o.batchSize) {
    const idx = order.slice(i, i + o.batchSize);
    const batch = idx.map((j) => prompts[j]!);
    const opts: GenerateOptions = { maxNewTokens: o.maxNewTokens, greedy: o.greedy, temperature: o.temperature, seed: o.seed + i, ...(stop ? { stopWhen: stop } : {}) };
    const got = adapters ? await model.generateMulti!([...adapters], batch, { ...opts, batchSize: batch.length }) : [await model.generate(batch, opts)];
    if (got.length !== K) throw new Error(`generate returned ${got.length} adapters' outputs for ${K}`);
    got.forEach((g, k) => {
      if (g.length !== batch.length) throw new Error(`generate returned ${g.length} outputs for ${batch.length} prompts`);
      idx.forEach((j, b) => { outs[k]![j] = g[b]!; });
    });
    onItems?.(Math.min(i + o.batchSize, order.length));
  }
  return outs;
}

// generateAll under each adapter: together when the model can, else one adapter after another.
async function generateMany(model: EvalModel, adapters: readonly (LoraAdapter | null)[], items: readonly EvalItem[], o: GenerativeOptions, onPairs?: (done: number) => void, stop?: GenerateOptions['stopWhen']): Promise<string[][]> {
  const K = adapters.length;
  if (K > 1 && model.generateMulti) return generateAll(model, items, o, onPairs && ((n) => onPairs(n * K)), adapters, stop);
  return oneByOne(model, adapters, items.length, onPairs, async (onItems) => (await generateAll(model, items, o, onItems, undefined, stop))[0]!);
}

/**
 * Generative multiple choice with strict parsing: the output must state one of the item's format tokens
 * (answerN / true,false / optionN / solutionN); anything else is wrong (prediction -1).
 * @example await new GenerativeScorer({ ...DEFAULT_EVALUATOR_CONFIG.generative }).score(model, items)
 */
export class GenerativeScorer implements Scorer {
  readonly name = 'generative';
  readonly metrics = ['acc'] as const;
  // Strict parsing decides an answer within a few tokens ("answer2" and one more character): rows stop there
  // (answer-parse.ts strictChoiceDecided), with the same prediction as their full output. first-match reads on.
  private readonly stop: GenerateOptions['stopWhen'];
  constructor(private readonly o: GenerativeOptions) {
    this.stop = o.parse === 'strict' ? STRICT_CHOICE_STOP : undefined;
  }

  async score(model: ScoringModel, items: readonly EvalItem[], onItems?: (done: number) => void): Promise<ItemResult[]> {
    bySet(items);
    return this.results(items, (await generateAll(model, items, this.o, onItems, undefined, this.stop))[0]!);
  }

  async scoreMany(model: EvalModel, adapters: readonly (LoraAdapter | null)[], items: readonly EvalItem[], onPairs?: (done: number) => void): Promise<ItemResult[][]> {
    bySet(items);
    return (await generateMany(model, adapters, items, this.o, onPairs, this.stop)).map((outs) => this.results(items, outs));
  }

  private results(items: readonly EvalItem[], outs: string[]): ItemResult[] {
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

  async score(model: ScoringModel, items: readonly EvalItem[], onItems?: (done: number) => void): Promise<ItemResult[]> {
    bySet(items);
    return this.results(items, (await generateAll(model, items, this.o, onItems))[0]!);
  }

  async scoreMany(model: EvalModel, adapters: readonly (LoraAdapter | null)[], items: readonly EvalItem[], onPairs?: (done: number) => void): Promise<ItemResult[][]> {
    bySet(items);
    return (await generateMany(model, adapters, items, this.o, onPairs)).map((outs) => this.results(items, outs));
  }

  private results(items: readonly EvalItem[], outs: string[]): ItemResult[] {
    return items.map((it, i) => {
      const ok = numbersEqual(parseNumber(outs[i]!), it.target ?? '');
      return { itemId: it.id, set: it.set, choiceScores: [], prediction: -1, predictionNorm: null, gold: it.gold, correct: ok, correctNorm: null, output: outs[i]! };
    });
  }
}
