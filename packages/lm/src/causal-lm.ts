// The CausalLM implementation: loading an HF directory (or random weights), batching and padding, lm-eval
// style continuation scoring, per-token log-likelihoods, generation with a KV cache, LoRA attach / load /
// merge. Math lives in transformer.ts; LoRA tensors in lora.ts. Not the trainer (trainer.ts).
//
// Dimensions: B batch, T padded length, D hidden, V vocab, N scored rows, G queries per kv head.
import * as tf from '@tensorflow/tfjs';
import {
  canonicalJson, loadHfTokenizer, mergeConfig, readGenerationConfig, readHfConfig, validateHfModelConfig, TINY_LLAMA_CONFIG,
  type HfModelConfig, type LoraAdapter, type LoraAdapterConfig, type TensorData, type TextTokenizer,
} from '@dnd/core';
import { ByteTokenizer } from './byte-tokenizer';
import { LoraState } from './lora';
import { LoraBank } from './lora-bank';
import { headScores, packRequests, scorePackedRows, type EncodedRequest, type TokenScores } from './packed-scoring';
import { checkNumber, mulberry32 } from '@dnd/core';
import { ropeTables } from './rope';
import { disposeFusedLora, forwardHidden, fuseLora, fuseProjections, headLogits, headLogitsVocabMajor, maskBias, rotateHalfMatrix, type FusedLoraLayer, type KVCache, type ModelParts } from './transformer';
import type { CausalLM, GenerateOptions, ScoreOptions, ScoreRequest, ScoreResult } from './types';
import { allTensors, loadBaseWeights, randomBaseWeights, type BaseWeights } from './weights';

/** A sequence to score: predict `targets` from the tail of `input` (targets[k] follows input[len - n + k]). */
export interface ScoreRow { input: number[]; targets: number[] }

/** Right-padded batch tensors for sequences `seqs` (all length >= 1). */
export function padRight(seqs: number[][], padId: number, G: number): { ids: tf.Tensor2D; pos: tf.Tensor2D; bias: tf.Tensor4D; T: number } {
  const B = seqs.length; const T = Math.max(...seqs.map((s) => s.length));
  const ids = new Int32Array(B * T).fill(padId); const pos = new Int32Array(B * T);
  const keyMask: Uint8Array[] = [];
  seqs.forEach((s, b) => {
    const m = new Uint8Array(T);
    for (let t = 0; t < T; t++) {
      if (t < s.length) { ids[b * T + t] = s[t]!; m[t] = 1; }
      pos[b * T + t] = Math.min(t, s.length - 1);
    }
    keyMask.push(m);
  });
  return { ids: tf.tensor2d(ids, [B, T], 'int32'), pos: tf.tensor2d(pos, [B, T], 'int32'), bias: maskBias(keyMask, T, G), T };
}

function toScoreResult(r: TokenScores): ScoreResult {
  return { logprob: r.lp.reduce((a, b) => a + b, 0), numTokens: r.lp.length, isGreedy: r.greedy.every((g) => g === 1) };
}

/** tf.tidy for a step that returns logits (or their argmax) and a KV cache (tidy's typing wants flat containers). */
function tidyStep(fn: () => { cache: KVCache; logits: tf.Tensor }): { cache: KVCache; logits: tf.Tensor } {
  let L = 0;
  const flat = tf.tidy(() => {
    const r = fn();
    L = r.cache.k.length;
    return [r.logits, ...r.cache.k, ...r.cache.v];
  });
  return { logits: flat[0] as tf.Tensor, cache: { k: flat.slice(1, 1 + L) as tf.Tensor4D[], v: flat.slice(1 + L) as tf.Tensor4D[] } };
}

/** Rejects score options that would fail deep inside a pass (a batchSize of 0 never ends), before any tokenizing. */
function checkScoreOptions(opts: ScoreOptions, where: string): void {
  if (opts.maxTokensPerPass !== undefined) checkNumber(where, 'maxTokensPerPass', opts.maxTokensPerPass, { min: 1, integer: true });
  if (opts.batchSize !== undefined) checkNumber(where, 'batchSize', opts.batchSize, { min: 1, integer: true });
}

/** The tfjs causal LM. Construct through loadCausalLM / createRandomCausalLM. */
export class TfCausalLM implements CausalLM {
  readonly parts: ModelParts;
  private readonly eosIds: Set<number>;
  private disposed = false;
  /** The attached adapter's stacked factors (fuseLora), for the state and version they were built from. */
  private loraCopies: { state: LoraState; version: number; layers: FusedLoraLayer[] } | null = null;
  /** See CausalLM; the copies are also rebuilt after a merge or unmerge. Training always runs one matmul per projection. */
  stackedProjections = true;

  constructor(readonly config: HfModelConfig, w: BaseWeights, readonly tokenizer: TextTokenizer, readonly source: string, extraEos: number[] = []) {
    validateHfModelConfig(config, source || 'model config');
    if (tokenizer.vocabSize > config.vocabSize) throw new Error(`${source}: tokenizer has ${tokenizer.vocabSize} ids but the model's vocab_size is ${config.vocabSize}`);
    const rope = ropeTables(config, 1);
    this.parts = { cfg: config, w, lora: null, ropeCos: tf.tensor2d(rope.cos, [1, config.headDim]), ropeSin: tf.tensor2d(rope.sin, [1, config.headDim]), fused: null, fusedLora: null, ropeRot: rotateHalfMatrix(config.headDim), normEps: tf.scalar(config.rmsNormEps) };
    this.eosIds = new Set([...config.eosTokenIds, ...tokenizer.eosTokenIds, ...extraEos]);
  }

  private get G(): number { return this.config.numAttentionHeads / this.config.numKeyValueHeads; }
  private get padId(): number { return this.tokenizer.padTokenId ?? this.config.padTokenId ?? 0; }

  private live(): void {
    if (this.disposed) throw new Error('CausalLM: used after dispose()');
  }

  /** Grows the RoPE tables to cover positions [0, n). */
  ensurePositions(n: number): void {
    const have = this.parts.ropeCos.shape[0];
    if (n <= have) return;
    let size = have; while (size < n) size *= 2;
    const t = ropeTables(this.config, size);
    this.parts.ropeCos.dispose(); this.parts.ropeSin.dispose();
    this.parts.ropeCos = tf.tensor2d(t.cos, [size, this.config.headDim]);
    this.parts.ropeSin = tf.tensor2d(t.sin, [size, this.config.headDim]);
  }

  checkIds(seqs: number[][], where: string): void {
    const V = this.config.vocabSize;
    for (const s of seqs) for (const id of s) if (!(Number.isInteger(id) && id >= 0 && id < V)) throw new Error(`${where}: token id ${id} is outside [0, ${V})`);
  }

  numParameters(): number {
    return allTensors(this.parts.w).reduce((a, t) => a + t.size, 0);
  }

  loraConfig(): LoraAdapterConfig | null {
    return this.parts.lora ? { ...this.parts.lora.config, targetModules: [...this.parts.lora.config.targetModules] } : null;
  }

  attachLora(cfg: LoraAdapterConfig, seed: number): void {
    this.live();
    const next = LoraState.create(cfg, this.config, seed);
    this.detachLora();
    this.parts.lora = next;
  }

  setLoraWeights(adapter: LoraAdapter): void {
    this.live();
    const cur = this.parts.lora;
    const key = (c: LoraAdapterConfig): string => canonicalJson({ ...c, targetModules: [...c.targetModules].sort() });
    const same = cur && !cur.merged && key(cur.config) === key(adapter.config);
    if (same) { cur.assign(adapter); return; }
    const next = LoraState.create(adapter.config, this.config, 0);
    try { next.assign(adapter); } catch (e) { next.dispose(); throw e; }
    this.detachLora();
    this.parts.lora = next;
  }

  getLoraWeights(): LoraAdapter {
    if (!this.parts.lora) throw new Error('getLoraWeights: no LoRA attached (call attachLora or setLoraWeights)');
    return this.parts.lora.toAdapter();
  }

  detachLora(): void {
    const l = this.parts.lora;
    if (!l) return;
    if (l.merged) this.unmergeLora();
    this.dropLoraCopies();
    l.dispose();
    this.parts.lora = null;
  }

  mergeLora(): void {
    const l = this.parts.lora;
    if (!l) throw new Error('mergeLora: no LoRA attached');
    if (l.merged) return;
    l.fold(this.parts.w, 1);
    l.merged = true;
    this.disposeFused(); // the stacked copies follow the base weights: the next inference call builds them again
  }

  unmergeLora(): void {
    const l = this.parts.lora;
    if (!l || !l.merged) return;
    l.fold(this.parts.w, -1);
    l.merged = false;
    this.disposeFused(); // the stacked copies follow the base weights: the next inference call builds them again
  }

  private ensureFused(): void {
    if (!this.stackedProjections) this.disposeFused();
    else if (!this.parts.fused) this.parts.fused = fuseProjections(this.parts.w);
  }

  /**
   * Starts an inference call: builds the stacked copies if missing and, with an attached unmerged LoRA and no bank,
   * points the forward pass at the adapter's factors stacked the same way (fuseLora). Those are kept between calls
   * while the adapter's variables stay as they were (LoraState.version), and rebuilt after any write to them. Every
   * inference entry calls this first, so `parts.fusedLora` never outlives the adapter state it was built from.
   */
  private beginInference(): void {
    this.ensureFused();
    const l = this.parts.lora;
    this.parts.fusedLora = null;
    if (!this.parts.fused || !l || l.merged || this.parts.bank) return;
    const c = this.loraCopies;
    if (!c || c.state !== l || c.version !== l.version) {
      this.dropLoraCopies();
      this.loraCopies = { state: l, version: l.version, layers: fuseLora(this.config, l) };
    }
    this.parts.fusedLora = this.loraCopies!.layers;
  }

  private dropLoraCopies(): void {
    if (this.parts.fusedLora === this.loraCopies?.layers) this.parts.fusedLora = null;
    disposeFusedLora(this.loraCopies?.layers);
    this.loraCopies = null;
  }

  private disposeFused(): void {
    for (const f of this.parts.fused ?? []) { f.qkv.dispose(); f.o.dispose(); f.gateUp.dispose(); f.down.dispose(); f.qkvBias?.dispose(); }
    this.parts.fused = null;
  }

  forwardLogits(ids: number[][]): TensorData {
    this.live();
    if (ids.length === 0 || ids.some((s) => s.length === 0)) throw new Error('forwardLogits: every sequence needs at least one token');
    this.checkIds(ids, 'forwardLogits');
    this.ensurePositions(Math.max(...ids.map((s) => s.length)));
    this.beginInference();
    const out = tf.tidy(() => {
      const b = padRight(ids, this.padId, this.G);
      const { hidden } = forwardHidden(this.parts, b.ids, b.pos, b.bias);
      return headLogits(this.parts, hidden.reshape([-1, this.config.hiddenSize]) as tf.Tensor2D);
    });
    const data = out.dataSync() as Float32Array;
    out.dispose();
    return { data, shape: [ids.length, Math.max(...ids.map((s) => s.length)), this.config.vocabSize] };
  }

  /** Scores rows in batches of `batchSize` (sorted by length so padding stays small). */
  async scoreRows(rows: ScoreRow[], batchSize = 8): Promise<Array<{ lp: Float32Array; greedy: Uint8Array }>> {
    this.live();
    this.beginInference();
    const out: Array<{ lp: Float32Array; greedy: Uint8Array }> = new Array(rows.length);
    const order = rows.map((_, i) => i).sort((a, b) => rows[b]!.input.length - rows[a]!.input.length);
    for (let s = 0; s < order.length; s += batchSize) {
      const idx = order.slice(s, s + batchSize);
      const seqs = idx.map((i) => rows[i]!.input);
      this.checkIds([...seqs, ...idx.map((i) => rows[i]!.targets)], 'scoreRows');
      this.ensurePositions(Math.max(...seqs.map((q) => q.length)));
      const rowIdx: number[] = []; const targets: number[] = [];
      const T = Math.max(...seqs.map((q) => q.length));
      idx.forEach((i, b) => {
        const r = rows[i]!;
        const start = r.input.length - r.targets.length;
        r.targets.forEach((t, k) => { rowIdx.push(b * T + start + k); targets.push(t); });
      });
      const hiddenRows = tf.tidy(() => {
        const b = padRight(seqs, this.padId, this.G);
        const { hidden } = forwardHidden(this.parts, b.ids, b.pos, b.bias);
        return tf.gather(hidden.reshape([-1, this.config.hiddenSize]), tf.tensor1d(rowIdx, 'int32')) as tf.Tensor2D;
      });
      const res = (() => { try { return headScores(this.parts, hiddenRows, Int32Array.from(targets)); } finally { hiddenRows.dispose(); } })();
      let off = 0;
      for (const i of idx) {
        const n = rows[i]!.targets.length;
        out[i] = { lp: res.lp.slice(off, off + n), greedy: res.greedy.slice(off, off + n) };
        off += n;
      }
      await Promise.resolve();
    }
    return out;
  }

  async tokenLogprobs(ids: number[][]): Promise<Float32Array[]> {
    for (const s of ids) if (s.length < 2) throw new Error(`tokenLogprobs: each sequence needs at least 2 tokens, got ${s.length}`);
    const res = await this.scoreRows(ids.map((s) => ({ input: s.slice(0, -1), targets: s.slice(1) })));
    return res.map((r) => r.lp);
  }

  /** lm-eval-harness's split: trailing context spaces move to the continuation; empty context scores after EOS. */
  encodePair(context: string, continuation: string): { ctx: number[]; cont: number[] } {
    const tok = this.tokenizer;
    if (context === '') {
      const eos = tok.eosTokenIds[0] ?? this.config.eosTokenIds[0] ?? tok.bosTokenId;
      if (eos === null || eos === undefined) throw new Error('scoreContinuations: empty context needs an EOS or BOS token');
      return { ctx: [eos], cont: tok.encode(continuation) };
    }
    const nSpaces = context.length - context.trimEnd().length;
    if (nSpaces > 0) { continuation = context.slice(-nSpaces) + continuation; context = context.slice(0, -nSpaces); }
    const whole = tok.encode(context + continuation);
    const ctx = tok.encode(context);
    return { ctx, cont: whole.slice(ctx.length) };
  }

  /** Encodes requests lm-eval's way; a request longer than maxLength + 1 tokens keeps its tail (as lm-eval). */
  private encodeRequests(items: ScoreRequest[], maxLength: number, where: string): EncodedRequest[] {
    return items.map((it, i) => {
      const { ctx, cont } = this.encodePair(it.context, it.continuation);
      if (cont.length === 0) throw new Error(`${where}: item ${i} has an empty continuation after tokenization`);
      if (cont.length > maxLength) throw new Error(`${where}: item ${i}'s continuation has ${cont.length} tokens, over maxLength ${maxLength}`);
      const full = [...ctx, ...cont].slice(-(maxLength + 1));
      return { prefix: full.slice(0, full.length - cont.length), targets: cont };
    });
  }

  /** Shared-prefix scoring of encoded requests, under `bank` (K adapters) or the attached LoRA (K = 1). */
  private async scorePacked(reqs: EncodedRequest[], opts: ScoreOptions, bank: LoraBank | null): Promise<TokenScores[][]> {
    this.live();
    this.checkIds(reqs.flatMap((r) => [r.prefix, r.targets]), 'scoreContinuations');
    this.ensurePositions(Math.max(...reqs.map((r) => r.prefix.length + r.targets.length)));
    const rows = packRequests(reqs, opts.sharePrefix ?? true);
    if (bank) this.ensureFused(); else this.beginInference(); // a bank replaces the attached LoRA (stackedLayerForward reads it first)
    return scorePackedRows(this.parts, rows, reqs.length, opts.batchSize ?? 8, this.padId, bank, opts.maxTokensPerPass);
  }

  async scoreContinuations(items: ScoreRequest[], opts: ScoreOptions = {}): Promise<ScoreResult[]> {
    this.live();
    checkScoreOptions(opts, 'scoreContinuations');
    const reqs = this.encodeRequests(items, opts.maxLength ?? this.config.maxPositionEmbeddings, 'scoreContinuations');
    if (reqs.length === 0) return [];
    const res = opts.sharePrefix === false
      ? await this.scoreRows(reqs.map((r) => ({ input: [...r.prefix, ...r.targets].slice(0, -1), targets: r.targets })), opts.batchSize ?? 8)
      : (await this.scorePacked(reqs, opts, null))[0]!;
    return res.map(toScoreResult);
  }

  async scoreContinuationsMulti(adapters: (LoraAdapter | null)[], items: ScoreRequest[], opts: ScoreOptions = {}): Promise<ScoreResult[][]> {
    this.live();
    if (this.parts.lora?.merged) throw new Error('scoreContinuationsMulti: a merged LoRA is folded into the base weights; unmerge or detach it first');
    checkScoreOptions(opts, 'scoreContinuationsMulti');
    const reqs = this.encodeRequests(items, opts.maxLength ?? this.config.maxPositionEmbeddings, 'scoreContinuationsMulti');
    const bank = LoraBank.fromAdapters(adapters, this.config, 'scoreContinuationsMulti');
    try {
      if (reqs.length === 0) return adapters.map(() => []);
      const res = await this.scorePacked(reqs, opts, bank);
      return res.map((perAdapter) => perAdapter.map(toScoreResult));
    } finally {
      bank.dispose();
    }
  }

  async generate(prompts: string[], opts: GenerateOptions): Promise<string[]> {
    this.live();
    return (await this.generateBlocks(prompts, opts, 1, 'generate'))[0]!;
  }

  async generateMulti(adapters: (LoraAdapter | null)[], prompts: string[], opts: GenerateOptions): Promise<string[][]> {
    this.live();
    if (this.parts.lora?.merged) throw new Error('generateMulti: a merged LoRA is folded into the base weights; unmerge or detach it first');
    const bank = LoraBank.fromAdapters(adapters, this.config, 'generateMulti');
    const saved = this.parts.bank;
    this.parts.bank = bank;
    try {
      return await this.generateBlocks(prompts, opts, adapters.length, 'generateMulti');
    } finally {
      this.parts.bank = saved;
      bank.dispose();
    }
  }

  /**
   * Generates for `prompts` in batches; each batch runs as K adapter-major blocks of the same prompts (K = 1:
   * the attached LoRA; K > 1: the bank set on parts). Each block samples from its own seeded generator, so
   * block k gives what K = 1 gives under adapter k. Returns [K][prompts.length].
   */
  private async generateBlocks(prompts: string[], opts: GenerateOptions, K: number, where: string): Promise<string[][]> {
    if (!(Number.isInteger(opts.maxNewTokens) && opts.maxNewTokens >= 1)) throw new Error(`${where}: maxNewTokens must be an integer >= 1, got ${opts.maxNewTokens}`);
    const greedy = opts.greedy ?? true;
    const temperature = opts.temperature ?? 1;
    if (!greedy && !(temperature > 0)) throw new Error(`${where}: temperature must be > 0, got ${temperature}`);
    const rands = Array.from({ length: K }, () => mulberry32(opts.seed ?? 0));
    const bs = opts.batchSize ?? 8;
    if (!(Number.isInteger(bs) && bs >= 1)) throw new Error(`${where}: batchSize must be an integer >= 1, got ${bs}`);
    const encoded = prompts.map((p) => {
      const ids = this.tokenizer.encode(p);
      return ids.length ? ids : [this.tokenizer.bosTokenId ?? this.config.bosTokenId ?? [...this.eosIds][0] ?? 0];
    });
    this.checkIds(encoded, where);
    // Batches take the prompts longest first (a stable sort on token counts, as lm-eval's HFLM orders generation), so
    // each batch pads to lengths close to its own; a prompt's tokens are computed as they would be in any batch.
    const order = encoded.map((e, i) => i).sort((a, b) => encoded[b]!.length - encoded[a]!.length || a - b);
    const out: string[][] = Array.from({ length: K }, () => new Array<string>(prompts.length));
    for (let s = 0; s < order.length; s += bs) {
      const idx = order.slice(s, s + bs);
      const batch = idx.map((i) => encoded[i]!);
      const n = batch.length;
      const rows = Array.from({ length: K }, () => batch).flat();
      const stop = opts.stopWhen;
      const gen = this.generateIds(rows, opts.maxNewTokens, greedy, temperature, (row) => rands[Math.floor(row / n)]!, opts.dropFinished ?? true, stop && ((ids) => stop.done(this.tokenizer.decode(ids))));
      for (let k = 0; k < K; k++) idx.forEach((i, j) => { out[k]![i] = this.tokenizer.decode(gen[k * n + j]!); });
      await Promise.resolve();
    }
    return out;
  }

  /** Samples the next id from column `col` of vocab-major logits [V, n] (`n` columns). */
  private pick(logits: Float32Array, col: number, n: number, temperature: number, rand: () => number): number {
    const V = this.config.vocabSize;
    let best = 0;
    for (let i = 1; i < V; i++) if (logits[i * n + col]! > logits[best * n + col]!) best = i;
    const mx = logits[best * n + col]!;
    let z = 0;
    const p = new Float64Array(V);
    for (let i = 0; i < V; i++) { p[i] = Math.exp((logits[i * n + col]! - mx) / temperature); z += p[i]!; }
    let u = rand() * z;
    for (let i = 0; i < V; i++) { u -= p[i]!; if (u <= 0) return i; }
    return V - 1;
  }

  /**
   * Left-padded batched decoding with a KV cache; returns the new ids of each prompt (EOS excluded). Row b
   * samples from `randOf(b)` (one generator for all rows, or one per adapter block). Rows that have finished
   * leave the batch once they are a quarter of it (their cache rows are dropped), so the decode steps that
   * remain cost what the unfinished rows need; each row's arithmetic is unchanged. `stopAt(ids)`, asked after each
   * new token that is not EOS, ends a row there too (the token kept).
   */
  generateIds(prompts: number[][], maxNew: number, greedy: boolean, temperature: number, randOf: (row: number) => () => number, dropFinished = true, stopAt?: (ids: number[]) => boolean): number[][] {
    const B = prompts.length; const T = Math.max(...prompts.map((p) => p.length)); const G = this.G;
    this.ensurePositions(T + maxNew);
    this.beginInference();
    let keyMask = prompts.map((p) => { const m = new Uint8Array(T); m.fill(1, T - p.length); return m; });
    let lastPos = prompts.map((p) => p.length - 1);
    const ids = new Int32Array(B * T).fill(this.padId); const pos = new Int32Array(B * T);
    prompts.forEach((p, b) => p.forEach((id, t) => { ids[b * T + T - p.length + t] = id; pos[b * T + T - p.length + t] = t; }));
    let cache: KVCache | null = null;
    // Logits vocab-major [V, rows]; greedy reads only each row's argmax (TensorFlow's picks the first of equal maxima, as pick does).
    const head = (rows: tf.Tensor2D): tf.Tensor => (greedy ? tf.argMax(headLogitsVocabMajor(this.parts, rows), 0) : headLogitsVocabMajor(this.parts, rows));
    const result: number[][] = prompts.map(() => []);
    const done = new Array<boolean>(B).fill(false);
    let live = prompts.map((_, b) => b); // the batch's rows, as indices of prompts
    const bank = this.parts.bank ?? null;
    try {
      let logits: tf.Tensor;
      ({ cache, logits } = tidyStep(() => {
        const r = forwardHidden(this.parts, tf.tensor2d(ids, [B, T], 'int32'), tf.tensor2d(pos, [B, T], 'int32'), maskBias(keyMask, T, G));
        const last = r.hidden.slice([0, T - 1, 0], [B, 1, -1]).reshape([B, -1]) as tf.Tensor2D;
        return { cache: r.cache, logits: head(last) };
      }));
      for (let step = 0; step < maxNew; step++) {
        const lv = logits.dataSync();
        logits.dispose();
        let next = new Int32Array(live.length);
        live.forEach((b, i) => {
          if (done[b]) { next[i] = this.padId; return; }
          const id = greedy ? lv[i]! : this.pick(lv as Float32Array, i, live.length, temperature, randOf(b));
          if (this.eosIds.has(id)) done[b] = true;
          else {
            result[b]!.push(id);
            if (stopAt?.(result[b]!)) done[b] = true;
          }
          next[i] = id;
        });
        if (done.every(Boolean) || step === maxNew - 1) break;
        const keep = live.flatMap((b, i) => (done[b] ? [] : [i]));
        if (dropFinished && live.length - keep.length >= Math.max(1, live.length / 4)) {
          // Drop the finished rows: their cache rows, masks, positions and tokens; the bank follows the rows.
          const old: KVCache = cache!;
          const idx = tf.tensor1d(keep, 'int32');
          cache = { k: old.k.map((t) => tf.keep(tf.gather(t, idx))), v: old.v.map((t) => tf.keep(tf.gather(t, idx))) };
          idx.dispose();
          for (const t of [...old.k, ...old.v]) t.dispose();
          next = Int32Array.from(keep, (i) => next[i]!);
          keyMask = keep.map((i) => keyMask[i]!);
          lastPos = keep.map((i) => lastPos[i]!);
          live = keep.map((i) => live[i]!);
          if (bank) bank.useRows(live.map((b) => Math.floor(b / (B / bank.K))));
        }
        const n = live.length;
        for (let i = 0; i < n; i++) {
          const m = new Uint8Array(keyMask[i]!.length + 1); m.set(keyMask[i]!); m[m.length - 1] = 1; keyMask[i] = m;
          lastPos[i]! += 1;
        }
        const prev: KVCache = cache!;
        const tokens = next;
        ({ cache, logits } = tidyStep(() => {
          const r = forwardHidden(this.parts, tf.tensor2d(tokens, [n, 1], 'int32'), tf.tensor2d(Int32Array.from(lastPos), [n, 1], 'int32'), maskBias(keyMask, 1, G), { cache: prev });
          return { cache: r.cache, logits: head(r.hidden.reshape([n, -1]) as tf.Tensor2D) };
        }));
        for (const t of [...prev.k, ...prev.v]) t.dispose();
      }
      if (!logits.isDisposed) logits.dispose();
    } finally {
      if (cache) for (const t of [...cache.k, ...cache.v]) t.dispose();
      bank?.useRows(null);
    }
    return result;
  }

  dispose(): void {
    if (this.disposed) return;
    this.detachLora();
    for (const t of allTensors(this.parts.w)) t.dispose();
    this.disposeFused();
    this.parts.ropeCos.dispose(); this.parts.ropeSin.dispose(); this.parts.ropeRot?.dispose(); this.parts.normEps?.dispose();
    this.disposed = true;
  }
}

/**
 * Loads an HF model directory (config.json, model.safetensors, tokenizer.json[, generation_config.json]).
 * @example const lm = await loadCausalLM(`${process.env.HOME}/.cache/dnd/models/smollm2-135m-instruct`); ... lm.dispose();
 */
export async function loadCausalLM(dir: string): Promise<CausalLM> {
  const cfg = readHfConfig(dir);
  const tok = loadHfTokenizer(dir);
  const gen = readGenerationConfig(dir);
  const w = loadBaseWeights(dir, cfg);
  try {
    return new TfCausalLM(cfg, w, tok, dir, gen?.eosTokenIds ?? []);
  } catch (e) {
    for (const t of allTensors(w)) t.dispose();
    throw e;
  }
}

/**
 * A randomly initialised model for tests (HF's init, seeded). `config` overrides TINY_LLAMA_CONFIG; the default
 * tokenizer is the byte tokenizer (vocab 259), so keep vocabSize >= 259 unless you pass your own tokenizer.
 * @example const lm = createRandomCausalLM({}, 1); await lm.generate(['hi'], { maxNewTokens: 4 }); lm.dispose();
 */
export function createRandomCausalLM(config: Partial<HfModelConfig>, seed: number, tokenizer: TextTokenizer = new ByteTokenizer()): CausalLM {
  const cfg = mergeConfig(TINY_LLAMA_CONFIG, config, 'createRandomCausalLM config');
  validateHfModelConfig(cfg, 'createRandomCausalLM config');
  const w = randomBaseWeights(cfg, seed);
  try {
    return new TfCausalLM(cfg, w, tokenizer, '');
  } catch (e) {
    for (const t of allTensors(w)) t.dispose();
    throw e;
  }
}
