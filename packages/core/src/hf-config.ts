// Hugging Face `config.json` (and `generation_config.json`) for the Llama and Qwen2 causal-LM families,
// parsed and validated into one typed record. The ONE module that reads that format. Not the model itself
// (@dnd/lm) and not the tokenizer (tokenizer.ts).
import * as fs from 'fs';
import * as path from 'path';
import { checkNumber } from './config';

/** RoPE frequency scaling; `null` = plain RoPE. */
export type RopeScaling =
  | null
  | { type: 'linear'; factor: number }
  | { type: 'llama3'; factor: number; lowFreqFactor: number; highFreqFactor: number; originalMaxPositionEmbeddings: number };

/** A decoder-only Llama / Qwen2 model's hyper-parameters (HF config.json, camelCase, defaults filled in). */
export interface HfModelConfig {
  architecture: 'LlamaForCausalLM' | 'Qwen2ForCausalLM';
  modelType: 'llama' | 'qwen2';
  vocabSize: number;
  hiddenSize: number; // D
  intermediateSize: number; // F (SwiGLU width)
  numHiddenLayers: number;
  numAttentionHeads: number; // H
  numKeyValueHeads: number; // KV (GQA: H % KV == 0)
  headDim: number; // HD (usually D / H)
  maxPositionEmbeddings: number;
  rmsNormEps: number;
  ropeTheta: number;
  ropeScaling: RopeScaling;
  tieWordEmbeddings: boolean;
  /** Bias on q/k/v projections (Qwen2: true; Llama: attention_bias, usually false). o_proj bias follows it for Llama only. */
  qkvBias: boolean;
  /** Bias on o_proj (Llama attention_bias=true; never for Qwen2). */
  oBias: boolean;
  bosTokenId: number | null;
  eosTokenIds: number[];
  padTokenId: number | null;
}

/** A tiny Llama for tests (2 layers, D 64, GQA 4/2); vocab fits the byte tokenizer (256 bytes + 3 specials). */
export const TINY_LLAMA_CONFIG: HfModelConfig = {
  architecture: 'LlamaForCausalLM', // the family SmolLM2 belongs to
  modelType: 'llama',
  vocabSize: 259, // 256 bytes + bos/eos/pad of the byte tokenizer
  hiddenSize: 64, // small enough for sub-second tests
  intermediateSize: 128, // 2 D, SwiGLU
  numHiddenLayers: 2, // two layers catch per-layer indexing bugs
  numAttentionHeads: 4, // H
  numKeyValueHeads: 2, // GQA with G = 2, as SmolLM2 uses (9 / 3)
  headDim: 16, // D / H
  maxPositionEmbeddings: 512, // longer than any test input
  rmsNormEps: 1e-5, // SmolLM2's value
  ropeTheta: 10000, // Llama's classic base
  ropeScaling: null, // plain RoPE
  tieWordEmbeddings: true, // SmolLM2 ties its head
  qkvBias: false, // Llama has none
  oBias: false,
  bosTokenId: 256,
  eosTokenIds: [257],
  padTokenId: 258,
};

const ARCHS: Record<string, 'llama' | 'qwen2'> = { LlamaForCausalLM: 'llama', Qwen2ForCausalLM: 'qwen2' };

function idList(v: unknown): number[] {
  if (v === null || v === undefined) return [];
  return Array.isArray(v) ? v.map(Number) : [Number(v)];
}

/** Throws naming the field and the value unless `c` is internally consistent. */
export function validateHfModelConfig(c: HfModelConfig, where = 'HfModelConfig'): void {
  for (const f of ['vocabSize', 'hiddenSize', 'intermediateSize', 'numHiddenLayers', 'numAttentionHeads', 'numKeyValueHeads', 'headDim', 'maxPositionEmbeddings'] as const) {
    checkNumber(where, f, c[f], { min: 1, integer: true });
  }
  checkNumber(where, 'rmsNormEps', c.rmsNormEps, { min: 0 });
  checkNumber(where, 'ropeTheta', c.ropeTheta, { min: 1 });
  if (c.numAttentionHeads % c.numKeyValueHeads !== 0) {
    throw new Error(`${where}.numKeyValueHeads=${c.numKeyValueHeads} must divide numAttentionHeads=${c.numAttentionHeads}`);
  }
  if (c.headDim % 2 !== 0) throw new Error(`${where}.headDim must be even for RoPE, got ${c.headDim}`);
  if (c.ropeScaling) checkNumber(`${where}.ropeScaling`, 'factor', c.ropeScaling.factor, { min: 1e-6 });
  for (const id of [c.bosTokenId, c.padTokenId, ...c.eosTokenIds]) {
    if (id !== null && !(Number.isInteger(id) && id >= 0 && id < c.vocabSize)) throw new Error(`${where}: special token id ${id} is outside the vocabulary [0, ${c.vocabSize})`);
  }
}

function parseRopeScaling(raw: any, file: string): RopeScaling {
  // transformers >= 5 writes `rope_parameters` ({rope_type, rope_theta, ...}); older ones `rope_scaling`.
  const rs = raw.rope_scaling ?? raw.rope_parameters ?? null;
  if (!rs) return null;
  const type = rs.rope_type ?? rs.type ?? 'default';
  if (type === 'default') return null;
  if (type === 'linear') return { type: 'linear', factor: Number(rs.factor) };
  if (type === 'llama3') {
    return {
      type: 'llama3',
      factor: Number(rs.factor),
      lowFreqFactor: Number(rs.low_freq_factor),
      highFreqFactor: Number(rs.high_freq_factor),
      originalMaxPositionEmbeddings: Number(rs.original_max_position_embeddings),
    };
  }
  throw new Error(`${file}: rope scaling type ${JSON.stringify(type)} is not supported (supported: default, linear, llama3)`);
}

/**
 * Maps a parsed config.json object to HfModelConfig, filling HF's defaults; throws naming the file and field.
 * @example parseHfConfig(JSON.parse(fs.readFileSync('m/config.json', 'utf8')), 'm/config.json').numKeyValueHeads
 */
export function parseHfConfig(raw: Record<string, any>, file = 'config.json'): HfModelConfig {
  const arch = Array.isArray(raw.architectures) ? raw.architectures[0] : undefined;
  const modelType = (typeof arch === 'string' && Object.hasOwn(ARCHS, arch) ? ARCHS[arch] : undefined) ?? (raw.model_type === 'llama' || raw.model_type === 'qwen2' ? raw.model_type : undefined);
  if (!modelType) {
    throw new Error(`${file}: unknown architecture ${JSON.stringify(raw.architectures ?? raw.model_type)} (supported: ${Object.keys(ARCHS).join(', ')})`);
  }
  if (raw.hidden_act !== undefined && raw.hidden_act !== 'silu') throw new Error(`${file}: hidden_act ${JSON.stringify(raw.hidden_act)} is not supported (only "silu")`);
  if (raw.mlp_bias === true) throw new Error(`${file}: mlp_bias=true is not supported`);
  if (modelType === 'qwen2' && raw.use_sliding_window === true) throw new Error(`${file}: use_sliding_window=true is not supported`);
  const heads = raw.num_attention_heads;
  const rp = raw.rope_parameters ?? {};
  const cfg: HfModelConfig = {
    architecture: modelType === 'llama' ? 'LlamaForCausalLM' : 'Qwen2ForCausalLM',
    modelType,
    vocabSize: raw.vocab_size,
    hiddenSize: raw.hidden_size,
    intermediateSize: raw.intermediate_size,
    numHiddenLayers: raw.num_hidden_layers,
    numAttentionHeads: heads,
    numKeyValueHeads: raw.num_key_value_heads ?? heads,
    headDim: raw.head_dim ?? (Number.isInteger(raw.hidden_size / heads) ? raw.hidden_size / heads : NaN),
    maxPositionEmbeddings: raw.max_position_embeddings ?? 2048,
    rmsNormEps: raw.rms_norm_eps ?? 1e-6,
    ropeTheta: raw.rope_theta ?? rp.rope_theta ?? 10000,
    ropeScaling: parseRopeScaling(raw, file),
    tieWordEmbeddings: raw.tie_word_embeddings ?? false, // LlamaConfig and Qwen2Config both default to untied
    qkvBias: modelType === 'qwen2' ? true : raw.attention_bias === true,
    oBias: modelType === 'llama' && raw.attention_bias === true,
    bosTokenId: raw.bos_token_id ?? null,
    eosTokenIds: idList(raw.eos_token_id),
    padTokenId: raw.pad_token_id ?? null,
  };
  validateHfModelConfig(cfg, file);
  return cfg;
}

/** HfModelConfig back to a config.json object that transformers loads. */
export function toHfConfigJson(c: HfModelConfig): Record<string, unknown> {
  const rope = c.ropeScaling === null ? null
    : c.ropeScaling.type === 'linear' ? { rope_type: 'linear', factor: c.ropeScaling.factor }
      : {
        rope_type: 'llama3', factor: c.ropeScaling.factor, low_freq_factor: c.ropeScaling.lowFreqFactor,
        high_freq_factor: c.ropeScaling.highFreqFactor, original_max_position_embeddings: c.ropeScaling.originalMaxPositionEmbeddings,
      };
  return {
    architectures: [c.architecture], model_type: c.modelType, vocab_size: c.vocabSize, hidden_size: c.hiddenSize,
    intermediate_size: c.intermediateSize, num_hidden_layers: c.numHiddenLayers, num_attention_heads: c.numAttentionHeads,
    num_key_value_heads: c.numKeyValueHeads, head_dim: c.headDim, max_position_embeddings: c.maxPositionEmbeddings,
    rms_norm_eps: c.rmsNormEps, rope_theta: c.ropeTheta, rope_scaling: rope, tie_word_embeddings: c.tieWordEmbeddings,
    hidden_act: 'silu', torch_dtype: 'float32',
    ...(c.modelType === 'llama' ? { attention_bias: c.qkvBias, mlp_bias: false } : { use_sliding_window: false }),
    bos_token_id: c.bosTokenId, eos_token_id: c.eosTokenIds.length === 1 ? c.eosTokenIds[0] : c.eosTokenIds, pad_token_id: c.padTokenId,
  };
}

function readJsonObject(file: string): Record<string, any> {
  let text: string;
  try { text = fs.readFileSync(file, 'utf8'); } catch (e) { throw new Error(`${file}: cannot read (${(e as Error).message})`); }
  let v: unknown;
  try { v = JSON.parse(text); } catch (e) { throw new Error(`${file}: invalid JSON (${(e as Error).message})`); }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error(`${file}: expected a JSON object`);
  return v as Record<string, any>;
}

/** Reads `<dir>/config.json`. @example readHfConfig('~/.cache/dnd/models/smollm2-135m-instruct').hiddenSize // 576 */
export function readHfConfig(dir: string): HfModelConfig {
  const file = path.join(dir, 'config.json');
  return parseHfConfig(readJsonObject(file), file);
}

/** Decoding defaults from generation_config.json (all optional). */
export interface HfGenerationConfig {
  bosTokenId: number | null;
  eosTokenIds: number[];
  padTokenId: number | null;
  temperature: number | null;
  topP: number | null;
  doSample: boolean | null;
  maxNewTokens: number | null;
}

/** Reads `<dir>/generation_config.json`, or null when the file is absent. */
export function readGenerationConfig(dir: string): HfGenerationConfig | null {
  const file = path.join(dir, 'generation_config.json');
  if (!fs.existsSync(file)) return null;
  const raw = readJsonObject(file);
  return {
    bosTokenId: raw.bos_token_id ?? null,
    eosTokenIds: idList(raw.eos_token_id),
    padTokenId: raw.pad_token_id ?? null,
    temperature: raw.temperature ?? null,
    topP: raw.top_p ?? null,
    doSample: raw.do_sample ?? null,
    maxNewTokens: raw.max_new_tokens ?? null,
  };
}
