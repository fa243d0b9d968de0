// The Sentence-BERT condition encoder (method §3): prompts -> WordPiece ids at fixed length L -> BERT
// last_hidden_state [N, L, C], with inputs longer than 512 split into independent 512-token chunks.
// Loads HF directories (all-MiniLM-L6-v2 and any BERT) or builds random ones for tests. Not the cache.
//
// Dimensions: N = prompts, L = padded length, T = chunk length (min(L, 512)), M = L / T chunks,
// C = hidden size, V = vocab.
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { canonicalJson, checkNumber, mergeConfig, mulberry32, SafetensorsFile, sha256File, type TensorData } from '@dnd/core';
import { readBertConfig, validateBertConfig, type BertConfig } from './bert-config';
import { BertModel, bertWeightShapes, type WeightSource } from './bert-model';
import { meanPoolNormalize } from './pooling';
import type { EncodeOptions, EncodeResult, TextEncoder } from './types';
import { bertTokenizerJson, charVocab, loadWordPieceTokenizer, tokenizerFromJson, type WordPieceTokenizer } from './wordpiece';

/** How the encoder runs (not what it computes, except `chunkLength`). */
export interface BertEncoderConfig {
  /** Sequences (chunks) per forward pass: bounds the [B, H, T, T] attention memory; output does not depend on it. */
  batchSize: number;
  /** T: inputs longer than this are split into independent chunks of T tokens (method §3 uses 512); capped at the model's max_position_embeddings. */
  chunkLength: number;
}

export const DEFAULT_BERT_ENCODER_CONFIG: BertEncoderConfig = {
  batchSize: 64,
  chunkLength: 512,
};

/** Throws naming the field and the value. */
export function validateBertEncoderConfig(c: BertEncoderConfig, model?: BertConfig): void {
  checkNumber('BertEncoderConfig', 'batchSize', c.batchSize, { min: 1, integer: true });
  checkNumber('BertEncoderConfig', 'chunkLength', c.chunkLength, { min: 3, integer: true });
  if (model) validateBertConfig(model);
}

function sha256(...parts: Array<string | Buffer>): string {
  const h = crypto.createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex');
}

/** A BERT text encoder: token-level conditions and pooled sentence embeddings. */
export class BertEncoder implements TextEncoder {
  readonly kind = 'bert' as const;
  readonly dim: number;

  constructor(
    readonly model: BertModel,
    readonly tokenizer: WordPieceTokenizer,
    readonly digest: string,
    readonly config: BertEncoderConfig = DEFAULT_BERT_ENCODER_CONFIG,
  ) {
    validateBertEncoderConfig(config, model.config);
    if (tokenizer.vocabSize > model.config.vocabSize) {
      throw new Error(`BERT encoder: tokenizer has ${tokenizer.vocabSize} tokens but the model's vocab_size is ${model.config.vocabSize}`);
    }
    this.dim = model.config.hiddenSize;
  }

  /** The chunk length actually used: min(config.chunkLength, max_position_embeddings). */
  get chunkLength(): number { return Math.min(this.config.chunkLength, this.model.config.maxPositionEmbeddings); }

  /** Checks the prompts and L; returns the chunk length T. */
  private check(prompts: string[], opts: EncodeOptions): number {
    if (!Array.isArray(prompts) || prompts.length === 0) throw new Error('BERT encoder.encode: the prompt list is empty');
    const L = opts?.maxLength;
    checkNumber('BERT encoder.encode', 'maxLength', L, { min: this.tokenizer.specialCount + 1, integer: true });
    const T = Math.min(L, this.chunkLength);
    if (L % T !== 0) throw new Error(`BERT encoder.encode: maxLength ${L} exceeds the chunk length ${T} and is not a multiple of it (method §3 splits into ${T}-token chunks)`);
    return T;
  }

  /**
   * Condition `[N, L, C]` for a prompt batch: truncate/pad to L, encode each T-token chunk independently.
   * @example const r = await enc.encode(['Which is a mammal?'], { maxLength: 128 }); // r.condition.shape = [1, 128, 384]
   */
  async encode(prompts: string[], opts: EncodeOptions): Promise<EncodeResult> {
    const T = this.check(prompts, opts);
    const L = opts.maxLength;
    const N = prompts.length;
    const C = this.dim;
    const batch = this.tokenizer.encodeBatch(prompts, L);
    const S = N * (L / T); // chunk sequences, row-major [N, M, T] == [S, T]
    const out = new Float32Array(N * L * C);
    for (let s0 = 0; s0 < S; s0 += this.config.batchSize) {
      const B = Math.min(this.config.batchSize, S - s0);
      const ids = batch.ids.subarray(s0 * T, (s0 + B) * T);
      const mask = batch.mask.subarray(s0 * T, (s0 + B) * T);
      const h = this.model.forward(ids, mask, B, T); // [B, T, C]
      try {
        out.set(await h.data() as Float32Array, s0 * T * C);
      } finally {
        h.dispose();
      }
    }
    return { condition: { data: out, shape: [N, L, C] }, mask: batch.mask, truncated: batch.truncatedIndices.length, truncatedIndices: batch.truncatedIndices };
  }

  /**
   * Sentence embeddings as sentence-transformers computes them: masked mean + L2 normalisation.
   * @example const e = await enc.embed(['a cat', 'a dog'], { maxLength: 128 }); // e.shape = [2, 384]
   */
  async embed(prompts: string[], opts: EncodeOptions): Promise<TensorData> {
    const r = await this.encode(prompts, opts);
    return meanPoolNormalize(r.condition, r.mask);
  }

  dispose(): void { this.model.dispose(); }
}

/** Finds the HF name prefix ('' or 'bert.') used by a safetensors file. */
function weightPrefix(f: SafetensorsFile, file: string): string {
  const names = new Set(f.names);
  for (const p of ['', 'bert.', 'model.']) if (names.has(`${p}embeddings.word_embeddings.weight`)) return p;
  throw new Error(`BERT encoder: ${file} has no embeddings.word_embeddings.weight (with or without a "bert." prefix): not BERT weights`);
}

/**
 * Loads an HF BERT directory (config.json + model.safetensors + tokenizer.json or vocab.txt).
 * @example const enc = await loadBertEncoder(path.join(process.env.DND_CACHE!, 'models/all-MiniLM-L6-v2'));
 */
export async function loadBertEncoder(dir: string, config?: Partial<BertEncoderConfig>): Promise<BertEncoder> {
  const cfg = mergeConfig(DEFAULT_BERT_ENCODER_CONFIG, config, 'BertEncoderConfig');
  const bert = readBertConfig(dir);
  validateBertEncoderConfig(cfg, bert);
  const weightsFile = path.join(dir, 'model.safetensors');
  if (!fs.existsSync(weightsFile)) throw new Error(`BERT encoder: ${dir} has no model.safetensors`);
  const tokenizer = loadWordPieceTokenizer(dir);
  const tokFiles = ['tokenizer.json', 'vocab.txt', 'tokenizer_config.json'].map((n) => path.join(dir, n)).filter((f) => fs.existsSync(f));
  const digest = sha256(canonicalJson({
    kind: 'bert', bert, chunkLength: Math.min(cfg.chunkLength, bert.maxPositionEmbeddings), weights: sha256File(weightsFile),
    tokenizer: tokFiles.map((f) => [path.basename(f), sha256File(f)]),
  }));
  const f = SafetensorsFile.open(weightsFile);
  try {
    const prefix = weightPrefix(f, weightsFile);
    const names = new Set(f.names);
    const get: WeightSource = (name, shape) => {
      const full = prefix + name;
      if (!names.has(full)) throw new Error(`BERT encoder: ${weightsFile} is missing tensor ${full}`);
      const t = f.readFloat(full);
      if (t.shape.join(',') !== shape.join(',')) throw new Error(`BERT encoder: ${weightsFile} tensor ${full} has shape [${t.shape}], config.json implies [${shape}]`);
      return t.data;
    };
    return new BertEncoder(new BertModel(bert, get), tokenizer, digest, cfg);
  } finally {
    f.close();
  }
}

/** Seeded N(0, 1) stream (mulberry32 + Box-Muller): the same seed gives the same model everywhere. */
function gaussian(seed: number): () => number {
  const uni = mulberry32(seed);
  return () => Math.sqrt(-2 * Math.log(uni() + 1e-12)) * Math.cos(2 * Math.PI * uni());
}

/** Random BERT weights in HF names (std 0.02; LayerNorm gains near 1), deterministic in `seed`. */
export function randomBertWeights(config: BertConfig, seed: number): Map<string, { shape: number[]; data: Float32Array }> {
  validateBertConfig(config);
  const g = gaussian(seed);
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, shape] of bertWeightShapes(config)) {
    const data = new Float32Array(shape.reduce((x, y) => x * y, 1));
    const isGain = name.endsWith('LayerNorm.weight');
    for (let i = 0; i < data.length; i++) data[i] = (isGain ? 1 : 0) + (isGain || name.endsWith('.bias') ? 0.1 : 0.02) * g();
    out.set(name, { shape, data });
  }
  return out;
}

/**
 * A random BERT encoder with a character-level WordPiece vocabulary (any text tokenizes), for tests.
 * `config.vocabSize` must be at least `charVocab().length` (88).
 * @example const enc = createRandomBert(TINY_BERT_CONFIG, 1); const r = await enc.encode(['hi'], { maxLength: 8 });
 */
export function createRandomBert(config: BertConfig, seed: number, encoderConfig?: Partial<BertEncoderConfig>): BertEncoder {
  const cfg = mergeConfig(DEFAULT_BERT_ENCODER_CONFIG, encoderConfig, 'BertEncoderConfig');
  const vocab = charVocab();
  if (config.vocabSize < vocab.length) throw new Error(`createRandomBert: vocabSize ${config.vocabSize} is below the ${vocab.length} tokens of the character vocabulary`);
  const weights = randomBertWeights(config, seed);
  const tokenizer = tokenizerFromJson(bertTokenizerJson(vocab, true));
  const digest = sha256(canonicalJson({ kind: 'bert-random', config, seed, chunkLength: Math.min(cfg.chunkLength, config.maxPositionEmbeddings) }));
  return new BertEncoder(new BertModel(config, (n) => weights.get(n)!.data), tokenizer, digest, cfg);
}
