// The one entry point that turns a TextEncoderSpec into a loaded TextEncoder (BERT directory or word
// vectors). Not an encoder itself.
import { loadBertEncoder } from './bert-encoder';
import type { TextEncoder, TextEncoderSpec } from './types';
import { loadWordVectorEncoder } from './word-vectors';

/**
 * Loads a frozen text encoder.
 * @example const enc = await loadTextEncoder('/cache/models/all-MiniLM-L6-v2');      // BERT directory
 * @example const glove = await loadTextEncoder({ kind: 'word-vectors', source: 'wink' }); // 100-d word vectors
 */
export async function loadTextEncoder(spec: TextEncoderSpec): Promise<TextEncoder> {
  if (typeof spec === 'string') return loadBertEncoder(spec);
  if (!spec || typeof spec !== 'object') throw new Error(`loadTextEncoder: spec must be a directory path or {kind, ...}, got ${JSON.stringify(spec)}`);
  switch (spec.kind) {
    case 'bert': return loadBertEncoder(spec.dir, spec.config);
    case 'word-vectors': return loadWordVectorEncoder(spec.source, spec.config);
    default: throw new Error(`loadTextEncoder: spec.kind must be "bert" or "word-vectors", got ${JSON.stringify((spec as { kind: unknown }).kind)}`);
  }
}
