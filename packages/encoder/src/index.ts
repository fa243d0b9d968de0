// Public API of @dnd/encoder: everything other packages may use is exported here by name.
export type { EncodeOptions, EncodeResult, TextEncoder, TextEncoderSpec } from './types';
export type { BertConfig } from './bert-config';
export { TINY_BERT_CONFIG, readBertConfig, validateBertConfig } from './bert-config';
export type { BertEncoderConfig } from './bert-encoder';
export { BertEncoder, DEFAULT_BERT_ENCODER_CONFIG, validateBertEncoderConfig, loadBertEncoder, createRandomBert, randomBertWeights } from './bert-encoder';
export type { TokenBatch } from './wordpiece';
export { WordPieceTokenizer, loadWordPieceTokenizer, charVocab } from './wordpiece';
export { meanPoolNormalize } from './pooling';
export { tinyBertFixtureDir } from './fixtures';
export type { WordVectorConfig, WordVectors } from './word-vectors';
export { WordVectorEncoder, DEFAULT_WORD_VECTOR_CONFIG, validateWordVectorConfig, loadWordVectorEncoder, parseTextVectors, parseWinkVectors, splitWords } from './word-vectors';
export { loadTextEncoder } from './load';
export type { ConditionCacheConfig, CachedCondition, CachedEncodeResult } from './condition-cache';
export { ConditionCache, DEFAULT_CONDITION_CACHE_CONFIG, validateConditionCacheConfig, CONDITION_CACHE_SCHEMA_VERSION, encodeWithCache, promptHash } from './condition-cache';
