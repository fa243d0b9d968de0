// The HF BERT `config.json`, parsed and validated in this one module and mapped to a typed record.
// Not the model itself (bert-model.ts) nor the tokenizer (wordpiece.ts).
import * as fs from 'fs';
import * as path from 'path';
import { checkNumber } from '@dnd/core';

/** The architecture numbers of a BERT-family encoder (HF names in camelCase). */
export interface BertConfig {
  vocabSize: number;
  hiddenSize: number; // C
  numHiddenLayers: number;
  numAttentionHeads: number; // H; C % H == 0
  intermediateSize: number; // F
  maxPositionEmbeddings: number; // P
  typeVocabSize: number;
  layerNormEps: number;
  padTokenId: number;
}

/** A tiny BERT for tests (the shape of test/fixtures/tiny-bert): builds in milliseconds, has every part. */
export const TINY_BERT_CONFIG: BertConfig = {
  vocabSize: 88,
  hiddenSize: 32,
  numHiddenLayers: 2,
  numAttentionHeads: 4,
  intermediateSize: 64,
  maxPositionEmbeddings: 64,
  typeVocabSize: 2,
  layerNormEps: 1e-12,
  padTokenId: 0,
};

/** Throws naming the field and value unless `c` is a usable BERT config. */
export function validateBertConfig(c: BertConfig, where = 'BertConfig'): void {
  checkNumber(where, 'vocabSize', c.vocabSize, { min: 1, integer: true });
  checkNumber(where, 'hiddenSize', c.hiddenSize, { min: 1, integer: true });
  checkNumber(where, 'numHiddenLayers', c.numHiddenLayers, { min: 1, integer: true });
  checkNumber(where, 'numAttentionHeads', c.numAttentionHeads, { min: 1, integer: true });
  checkNumber(where, 'intermediateSize', c.intermediateSize, { min: 1, integer: true });
  checkNumber(where, 'maxPositionEmbeddings', c.maxPositionEmbeddings, { min: 2, integer: true });
  checkNumber(where, 'typeVocabSize', c.typeVocabSize, { min: 1, integer: true });
  checkNumber(where, 'layerNormEps', c.layerNormEps, { min: 0, max: 1 });
  checkNumber(where, 'padTokenId', c.padTokenId, { min: 0, max: c.vocabSize - 1, integer: true });
  if (c.hiddenSize % c.numAttentionHeads !== 0) {
    throw new Error(`${where}.hiddenSize (${c.hiddenSize}) must be divisible by numAttentionHeads (${c.numAttentionHeads})`);
  }
}

/** Converts a BertConfig back to HF `config.json` fields (for writing a model directory). */
export function bertConfigToHf(c: BertConfig): Record<string, unknown> {
  return {
    architectures: ['BertModel'], model_type: 'bert', hidden_act: 'gelu', position_embedding_type: 'absolute',
    vocab_size: c.vocabSize, hidden_size: c.hiddenSize, num_hidden_layers: c.numHiddenLayers,
    num_attention_heads: c.numAttentionHeads, intermediate_size: c.intermediateSize,
    max_position_embeddings: c.maxPositionEmbeddings, type_vocab_size: c.typeVocabSize,
    layer_norm_eps: c.layerNormEps, pad_token_id: c.padTokenId,
    hidden_dropout_prob: 0.0, attention_probs_dropout_prob: 0.0, initializer_range: 0.02,
  };
}

/**
 * Reads `<dir>/config.json` and checks it describes a BERT encoder we can run (absolute positions, GELU).
 * @example const cfg = readBertConfig('/cache/models/all-MiniLM-L6-v2'); // cfg.hiddenSize = 384
 */
export function readBertConfig(dir: string): BertConfig {
  const file = path.join(dir, 'config.json');
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new Error(`BERT encoder: ${dir} is not a directory`);
  if (!fs.existsSync(file)) throw new Error(`BERT encoder: ${dir} is not an HF model directory (no config.json)`);
  let raw: any;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`BERT encoder: ${file} is not valid JSON (${(e as Error).message})`);
  }
  const type = raw.model_type;
  const archs: string[] = Array.isArray(raw.architectures) ? raw.architectures : [];
  if (type !== 'bert' && !archs.some((a) => /^Bert/.test(a))) {
    throw new Error(`BERT encoder: ${dir} is not a BERT model (model_type=${JSON.stringify(type)}, architectures=${JSON.stringify(archs)})`);
  }
  const act = raw.hidden_act ?? 'gelu';
  if (act !== 'gelu') throw new Error(`BERT encoder: ${file}: hidden_act ${JSON.stringify(act)} is not supported (only "gelu", the erf form)`);
  const pos = raw.position_embedding_type ?? 'absolute';
  if (pos !== 'absolute') throw new Error(`BERT encoder: ${file}: position_embedding_type ${JSON.stringify(pos)} is not supported (only "absolute")`);
  const c: BertConfig = {
    vocabSize: raw.vocab_size,
    hiddenSize: raw.hidden_size,
    numHiddenLayers: raw.num_hidden_layers,
    numAttentionHeads: raw.num_attention_heads,
    intermediateSize: raw.intermediate_size,
    maxPositionEmbeddings: raw.max_position_embeddings,
    typeVocabSize: raw.type_vocab_size ?? 2,
    layerNormEps: raw.layer_norm_eps ?? 1e-12,
    padTokenId: raw.pad_token_id ?? 0,
  };
  validateBertConfig(c, `BERT encoder ${file}`);
  return c;
}
