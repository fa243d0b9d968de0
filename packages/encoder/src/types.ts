// The @dnd/encoder contract: what a frozen text encoder hands the rest of the pipeline (typed data,
// never tensors). Not an implementation: BERT lives in bert-encoder.ts, word vectors in word-vectors.ts.
//
// Dimensions: N = prompts in the batch, L = padded length (tokens or words), C = hidden size / vector dim.
import type { TensorData } from '@dnd/core';

/** Options for one `encode` call. */
export interface EncodeOptions {
  /** L: every prompt is truncated / padded to exactly this many positions (method §3 `max_text_length`). */
  maxLength: number;
}

/** The condition for a prompt batch (method §3): token-level states at a fixed padded length. */
export interface EncodeResult {
  /** Token-level states; pad positions keep whatever the encoder produced there (as the method does). */
  condition: TensorData; // [N, L, C]
  /** 1 for a real token (incl. [CLS]/[SEP]), 0 for padding. */
  mask: Uint8Array; // [N * L]
  /** How many prompts were longer than L and were truncated (for manifests). */
  truncated: number;
  /** Indices (into the prompt list) of the truncated prompts. */
  truncatedIndices: number[];
}

/** A frozen text encoder. Long-lived: call `dispose()` when done. */
export interface TextEncoder {
  /** 'bert' (Sentence-BERT family, token states) or 'word-vectors' (GloVe-style lookup). */
  readonly kind: 'bert' | 'word-vectors';
  /** sha256 hex of everything that determines the output (weights, tokenizer, config): a cache key. */
  readonly digest: string;
  /** C, the width of one position's state. */
  readonly dim: number;
  /**
   * Encodes a prompt batch into the condition `[N, L, C]` with its mask.
   * @example const { condition, mask } = await enc.encode(['What is 2+2?'], { maxLength: 128 }); // condition.shape = [1, 128, C]
   */
  encode(prompts: string[], opts: EncodeOptions): Promise<EncodeResult>;
  /**
   * Sentence embeddings: masked mean over the token states, then L2-normalised (Sentence-BERT pooling).
   * @example const e = await enc.embed(['a cat'], { maxLength: 128 }); // e.shape = [1, C]
   */
  embed(prompts: string[], opts: EncodeOptions): Promise<TensorData>; // [N, C]
  /** Frees weights (tensors) held by the encoder. */
  dispose(): void;
}

/** What `loadTextEncoder` loads: an HF BERT directory, or word vectors (wink npm package or a file). */
export type TextEncoderSpec =
  | string // shorthand for { kind: 'bert', dir }
  | { kind: 'bert'; dir: string; config?: Partial<import('./bert-encoder').BertEncoderConfig> }
  | { kind: 'word-vectors'; source: 'wink' | string; config?: Partial<import('./word-vectors').WordVectorConfig> };
