// The public contract of @dnd/lm: what a loaded causal LM can do, as whole operations on strings and
// typed arrays (tensors never cross the package API). Declarations only; the model is in causal-lm.ts.
import type { HfModelConfig, LoraAdapter, LoraAdapterConfig, TensorData, TextTokenizer } from '@dnd/core';

/** One lm-eval-harness style request: log P(continuation | context). */
export interface ScoreRequest {
  context: string;
  continuation: string;
}

/** Result of one ScoreRequest. */
export interface ScoreResult {
  /** Sum of the continuation tokens' log-probabilities (natural log). */
  logprob: number;
  /** Number of continuation tokens scored. */
  numTokens: number;
  /** Whether every continuation token is the argmax at its position (lm-eval's `is_greedy`). */
  isGreedy: boolean;
}

/** Options for scoreContinuations. */
export interface ScoreOptions {
  /** Requests per forward pass (padded together); with K adapters, batchSize / K of each (at least one context's requests). */
  batchSize?: number;
  /**
   * Most padded tokens per forward pass, over all K adapters' copies (default 1024: where a pass ran fastest per
   * token on 2 cores); a pass ends at whichever of this and batchSize comes first, and holds at least one context.
   * Shared-prefix path only.
   */
  maxTokensPerPass?: number;
  /**
   * Run each distinct context once and let every continuation of it attend to its keys and values (default
   * true); false runs context + continuation per request as lm-eval does. Both give the same log-likelihoods
   * up to float rounding (tested within 1e-4).
   */
  sharePrefix?: boolean;
  /** Longest context+continuation in tokens; longer requests are cut from the left (as lm-eval does). */
  maxLength?: number;
}

/** Options for generate. */
export interface GenerateOptions {
  maxNewTokens: number;
  /** Greedy decoding (default true); false samples with `temperature`. */
  greedy?: boolean;
  temperature?: number;
  /** Seed of the sampler. */
  seed?: number;
  /** Prompts per batch (left-padded together). */
  batchSize?: number;
  /** Drop rows that have stopped from the batch (default true; same outputs). false keeps every row to the end: the plain path, for benchmarks. */
  dropFinished?: boolean;
  /**
   * Ends a row, as an EOS would, as soon as `done` holds for its text so far (the token that made it hold is
   * kept): for a caller whose reading of the output can no longer change (an answer parser that has decided).
   * Each row's text is then its unstopped text cut at that token. `rule` names the rule where options must
   * serialize (cache keys): JSON drops the function and keeps the name.
   */
  stopWhen?: StopRule;
}

/** A named test on a row's generated text so far (see GenerateOptions.stopWhen). */
export interface StopRule {
  readonly rule: string;
  done(text: string): boolean;
}

/** A loaded decoder-only LM (Llama / Qwen2 family) with optional LoRA. Call dispose() when done. */
export interface CausalLM {
  readonly config: HfModelConfig;
  readonly tokenizer: TextTokenizer;
  /** Where it was loaded from ('' for random models). */
  readonly source: string;
  /**
   * true (default): inference runs q|k|v and gate|up as one stacked matmul each, and every projection from a copy
   * transposed to [in, out], copies built on the first inference call (a model that only trains never holds them).
   * false: one matmul per projection on the base weights, copies freed.
   */
  stackedProjections: boolean;
  /** Number of base-model parameters (tied embeddings counted once). */
  numParameters(): number;
  /** Adds fresh LoRA on `cfg.targetModules` of every layer: A ~ PEFT's kaiming-uniform, B = 0. Replaces any attached LoRA. */
  attachLora(cfg: LoraAdapterConfig, seed: number): void;
  /** Attaches (if needed, with adapter.config) and loads PEFT-named weights; throws if shapes do not fit the base model. */
  setLoraWeights(adapter: LoraAdapter): void;
  /** Current LoRA weights under PEFT names. */
  getLoraWeights(): LoraAdapter;
  /** Removes LoRA (unmerging first if merged). */
  detachLora(): void;
  /** Folds scaling * B A into the base weights (faster inference); LoRA cannot train while merged. */
  mergeLora(): void;
  /** Undoes mergeLora. */
  unmergeLora(): void;
  /** The LoRA config attached now, or null. */
  loraConfig(): LoraAdapterConfig | null;
  /** Raw logits for token ids, right-padded in one batch: returns [B, T, V] (pad positions hold garbage). For tests and tools. */
  forwardLogits(ids: number[][]): TensorData; // [B, T, V]
  /** Per-token log P(ids[t] | ids[<t]) for t >= 1 of each sequence: ragged, one Float32Array of length len-1 per sequence. */
  tokenLogprobs(ids: number[][]): Promise<Float32Array[]>;
  scoreContinuations(items: ScoreRequest[], opts?: ScoreOptions): Promise<ScoreResult[]>;
  /**
   * Scores the same requests under K adapters in one forward pass per batch (per-row LoRA: the base weights are
   * shared, rows of adapter k add its own B A; null = the bare base). Returns [K][items.length]; the same numbers
   * as setLoraWeights(adapters[k]) + scoreContinuations, up to float rounding. Ignores any attached (unmerged) LoRA.
   */
  scoreContinuationsMulti(adapters: (LoraAdapter | null)[], items: ScoreRequest[], opts?: ScoreOptions): Promise<ScoreResult[][]>;
  generate(prompts: string[], opts: GenerateOptions): Promise<string[]>;
  /**
   * Generates for the same prompts under K adapters in one batch per step (per-row LoRA, as scoreContinuationsMulti;
   * null = the bare base). Returns [K][prompts.length]: what setLoraWeights(adapters[k]) + generate gives, up to
   * float rounding (a greedy near-tie may go the other way). Each adapter samples from its own seeded generator.
   */
  generateMulti(adapters: (LoraAdapter | null)[], prompts: string[], opts: GenerateOptions): Promise<string[][]>;
  dispose(): void;
}

/** Options of the LoRA trainer (AdamW on LoRA parameters only, PyTorch's AdamW semantics). */
export interface LoraTrainerConfig {
  lr: number;
  weightDecay: number;
  betas: [number, number];
  eps: number;
  /** Seed of LoRA dropout. */
  seed: number;
  /** Clip the global grad norm to this (0 = off). */
  maxGradNorm: number;
  /** Recompute layers in the backward pass to hold one layer's activations instead of all (slower, far less memory). */
  gradientCheckpointing: boolean;
}

/** A training batch: loss is on the answer tokens (and a closing EOS) only. */
export interface TrainBatch {
  prompts: string[];
  answers: string[];
}

/** Resumable optimizer state: Adam moments under PEFT names, the step count, and the LoRA weights. */
export interface LoraTrainerState {
  step: number;
  m: Map<string, TensorData>;
  v: Map<string, TensorData>;
  lora: LoraAdapter;
}

/** A LoRA trainer bound to one model. */
export interface LoraTrainer {
  readonly config: LoraTrainerConfig;
  /** One AdamW step on the batch; sequences are cut to maxLen tokens (prompt cut from the left). Returns the mean answer-token NLL. */
  step(batch: TrainBatch, maxLen: number): Promise<{ loss: number; tokens: number }>;
  exportState(): LoraTrainerState;
  importState(s: LoraTrainerState): void;
  /** Frees the optimizer state (not the model). */
  dispose(): void;
}
