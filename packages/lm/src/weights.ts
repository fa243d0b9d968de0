// Base-model weights of a Llama / Qwen2 decoder as tfjs tensors: loaded from an HF directory's
// model.safetensors (or its sharded index) with name, shape and dtype checks, or drawn at random for tests.
// Not the forward pass (transformer.ts) and not LoRA (lora.ts).
//
// Dimensions: V vocab, D hidden, F intermediate, H heads, KV key/value heads, HD head dim.
// Linear weights keep HF's [out, in] layout; the forward multiplies with transposeB.
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { SafetensorsFile, type HfModelConfig } from '@dnd/core';
import { mulberry32, normalArray } from '@dnd/core';

/** One decoder layer's tensors. */
export interface LayerWeights {
  inputNorm: tf.Tensor1D; // [D]
  postNorm: tf.Tensor1D; // [D]
  q_proj: tf.Tensor2D; // [H*HD, D]
  k_proj: tf.Tensor2D; // [KV*HD, D]
  v_proj: tf.Tensor2D; // [KV*HD, D]
  o_proj: tf.Tensor2D; // [D, H*HD]
  gate_proj: tf.Tensor2D; // [F, D]
  up_proj: tf.Tensor2D; // [F, D]
  down_proj: tf.Tensor2D; // [D, F]
  q_bias: tf.Tensor1D | null; // [H*HD]
  k_bias: tf.Tensor1D | null; // [KV*HD]
  v_bias: tf.Tensor1D | null; // [KV*HD]
  o_bias: tf.Tensor1D | null; // [D]
}

/** All base tensors. `lmHead` is null when tied to `embed`. */
export interface BaseWeights {
  embed: tf.Tensor2D; // [V, D]
  layers: LayerWeights[];
  norm: tf.Tensor1D; // [D]
  lmHead: tf.Tensor2D | null; // [V, D]
}

export type ProjName = 'q_proj' | 'k_proj' | 'v_proj' | 'o_proj' | 'gate_proj' | 'up_proj' | 'down_proj';

/** [out, in] of each projection. */
export function projShape(cfg: HfModelConfig, proj: ProjName): [number, number] {
  const D = cfg.hiddenSize; const F = cfg.intermediateSize;
  const q = cfg.numAttentionHeads * cfg.headDim; const kv = cfg.numKeyValueHeads * cfg.headDim;
  switch (proj) {
    case 'q_proj': return [q, D];
    case 'k_proj': case 'v_proj': return [kv, D];
    case 'o_proj': return [D, q];
    case 'gate_proj': case 'up_proj': return [F, D];
    case 'down_proj': return [D, F];
  }
}

const PROJ_BLOCK: Record<ProjName, string> = {
  q_proj: 'self_attn', k_proj: 'self_attn', v_proj: 'self_attn', o_proj: 'self_attn', gate_proj: 'mlp', up_proj: 'mlp', down_proj: 'mlp',
};
export const PROJS = Object.keys(PROJ_BLOCK) as ProjName[];

/** Projections that read the same input, as inference stacks them (transformer.ts fuseProjections, fuseLora; lora-bank.ts). */
export type GroupName = 'qkv' | 'o' | 'gateUp' | 'down';
export const GROUPS: ReadonlyArray<readonly [GroupName, readonly ProjName[]]> = [
  ['qkv', ['q_proj', 'k_proj', 'v_proj']], ['o', ['o_proj']], ['gateUp', ['gate_proj', 'up_proj']], ['down', ['down_proj']],
];

/** Every HF tensor name the config implies, with its shape. */
export function expectedTensors(cfg: HfModelConfig): Map<string, number[]> {
  const D = cfg.hiddenSize;
  const m = new Map<string, number[]>();
  m.set('model.embed_tokens.weight', [cfg.vocabSize, D]);
  for (let i = 0; i < cfg.numHiddenLayers; i++) {
    const p = `model.layers.${i}`;
    m.set(`${p}.input_layernorm.weight`, [D]);
    m.set(`${p}.post_attention_layernorm.weight`, [D]);
    for (const proj of PROJS) {
      const shape = projShape(cfg, proj);
      m.set(`${p}.${PROJ_BLOCK[proj]}.${proj}.weight`, shape);
      const bias = proj === 'o_proj' ? cfg.oBias : ['q_proj', 'k_proj', 'v_proj'].includes(proj) && cfg.qkvBias;
      if (bias) m.set(`${p}.${PROJ_BLOCK[proj]}.${proj}.bias`, [shape[0]]);
    }
  }
  m.set('model.norm.weight', [D]);
  if (!cfg.tieWordEmbeddings) m.set('lm_head.weight', [cfg.vocabSize, D]);
  return m;
}

function assemble(cfg: HfModelConfig, get: (name: string, shape: number[]) => tf.Tensor): BaseWeights {
  const exp = expectedTensors(cfg);
  const t = (name: string): tf.Tensor => get(name, exp.get(name)!);
  const opt = (name: string): tf.Tensor1D | null => (exp.has(name) ? (t(name) as tf.Tensor1D) : null);
  const layers: LayerWeights[] = [];
  for (let i = 0; i < cfg.numHiddenLayers; i++) {
    const p = `model.layers.${i}`;
    const w: Partial<LayerWeights> = {
      inputNorm: t(`${p}.input_layernorm.weight`) as tf.Tensor1D,
      postNorm: t(`${p}.post_attention_layernorm.weight`) as tf.Tensor1D,
    };
    for (const proj of PROJS) (w as any)[proj] = t(`${p}.${PROJ_BLOCK[proj]}.${proj}.weight`);
    w.q_bias = opt(`${p}.self_attn.q_proj.bias`); w.k_bias = opt(`${p}.self_attn.k_proj.bias`);
    w.v_bias = opt(`${p}.self_attn.v_proj.bias`); w.o_bias = opt(`${p}.self_attn.o_proj.bias`);
    layers.push(w as LayerWeights);
  }
  return {
    embed: t('model.embed_tokens.weight') as tf.Tensor2D,
    layers,
    norm: t('model.norm.weight') as tf.Tensor1D,
    lmHead: cfg.tieWordEmbeddings ? null : (t('lm_head.weight') as tf.Tensor2D),
  };
}

/** Which file holds each tensor: model.safetensors, or the shards of model.safetensors.index.json. */
function tensorFiles(dir: string): Map<string, string> {
  const single = path.join(dir, 'model.safetensors');
  const index = path.join(dir, 'model.safetensors.index.json');
  const out = new Map<string, string>();
  if (fs.existsSync(single)) {
    const f = SafetensorsFile.open(single);
    try { for (const n of f.names) out.set(n, single); } finally { f.close(); }
    return out;
  }
  if (fs.existsSync(index)) {
    const map = JSON.parse(fs.readFileSync(index, 'utf8')).weight_map as Record<string, string>;
    for (const [n, file] of Object.entries(map ?? {})) out.set(n, path.join(dir, file));
    return out;
  }
  if (fs.existsSync(path.join(dir, 'pytorch_model.bin'))) throw new Error(`${dir}: pytorch_model.bin is not supported; convert to model.safetensors`);
  throw new Error(`${single}: not found (nor model.safetensors.index.json)`);
}

const IGNORED = /(rotary_emb\.inv_freq$)|(^lm_head\.weight$)/;

/**
 * Loads and checks every base tensor. Throws naming the file and tensor on a missing or unexpected tensor,
 * a shape mismatch, or a non-float dtype; nothing is left allocated on error.
 */
export function loadBaseWeights(dir: string, cfg: HfModelConfig): BaseWeights {
  const files = tensorFiles(dir);
  const exp = expectedTensors(cfg);
  for (const name of files.keys()) {
    if (!exp.has(name) && !IGNORED.test(name)) throw new Error(`${files.get(name)}: unexpected tensor "${name}" for a ${cfg.architecture} with this config.json`);
  }
  const open = new Map<string, SafetensorsFile>();
  const made: tf.Tensor[] = [];
  try {
    return assemble(cfg, (name, shape) => {
      const file = files.get(name);
      if (!file) throw new Error(`${path.join(dir, 'model.safetensors')}: missing tensor "${name}" (expected shape [${shape}])`);
      let f = open.get(file);
      if (!f) { f = SafetensorsFile.open(file); open.set(file, f); }
      const info = f.info(name);
      if (!['F32', 'F16', 'BF16'].includes(info.dtype)) throw new Error(`${file}: tensor "${name}" has unsupported dtype ${info.dtype} (need F32, F16 or BF16)`);
      if (info.shape.length !== shape.length || info.shape.some((d, i) => d !== shape[i])) {
        throw new Error(`${file}: tensor "${name}" has shape [${info.shape}] but config.json implies [${shape}]`);
      }
      const t = tf.tensor(f.readFloat(name).data, shape, 'float32');
      made.push(t);
      return t;
    });
  } catch (e) {
    for (const t of made) t.dispose();
    throw e;
  } finally {
    for (const f of open.values()) f.close();
  }
}

/** Random weights as HF initialises them (normal(0, 0.02), norms 1, biases 0), from a seed. */
export function randomBaseWeights(cfg: HfModelConfig, seed: number): BaseWeights {
  const rand = mulberry32(seed);
  return assemble(cfg, (name, shape) => {
    const n = shape.reduce((a, b) => a * b, 1);
    if (name.endsWith('norm.weight')) return tf.ones(shape);
    if (name.endsWith('.bias')) return tf.zeros(shape);
    return tf.tensor(normalArray(n, 0.02, rand), shape);
  });
}

/** All tensors of `w` (for counting and disposal). */
export function allTensors(w: BaseWeights): tf.Tensor[] {
  const out: tf.Tensor[] = [w.embed, w.norm];
  if (w.lmHead) out.push(w.lmHead);
  for (const l of w.layers) {
    for (const v of Object.values(l)) if (v) out.push(v as tf.Tensor);
  }
  return out;
}
