// PEFT LoRA adapters on disk: adapter_config.json (PEFT's snake_case LoraConfig) + adapter_model.safetensors
// with PEFT's tensor names verbatim. The ONE module that parses and writes that format. Not the LoRA math
// (that lives in @dnd/lm) and not the token-grid mapping (lora-tokens.ts).
//
// Dimensions: r = LoRA rank, in / out = the wrapped Linear's input / output features.
// Names: base_model.model.model.layers.{i}.self_attn.{q,k,v,o}_proj.lora_A.weight  [r, in]
//        base_model.model.model.layers.{i}.self_attn.{q,k,v,o}_proj.lora_B.weight  [out, r]
//        base_model.model.model.layers.{i}.mlp.{gate,up,down}_proj.lora_{A,B}.weight
// delta W = B A * scaling, scaling = lora_alpha / r (lora_alpha / sqrt(r) with rsLoRA).
import * as fs from 'fs';
import * as path from 'path';
import { checkNumber } from './config';
import { writeFileAtomic } from './atomic-write';
import { SafetensorsFile, writeSafetensors, type TensorToWrite } from './safetensors';
import { assertShape, type TensorData } from './tensor-data';

/** The LoRA hyper-parameters we read and write (PEFT's LoraConfig fields, camelCase). */
export interface LoraAdapterConfig {
  /** LoRA rank r. */
  r: number;
  /** lora_alpha; scaling is alpha / r (alpha / sqrt(r) with rsLoRA). */
  loraAlpha: number;
  /** Dropout on the LoRA input branch during training (0 = none). */
  loraDropout: number;
  /** Subset of LORA_MODULES, e.g. ['q_proj', 'v_proj']. */
  targetModules: string[];
  /** The base model the adapter was trained on (a hub id or a path); informational. */
  baseModelNameOrPath: string;
  /** Rank-stabilised LoRA scaling (alpha / sqrt(r)). */
  useRslora: boolean;
}

/** An adapter: config + tensors keyed by PEFT names verbatim (lora_A [r, in], lora_B [out, r]). */
export interface LoraAdapter {
  config: LoraAdapterConfig;
  tensors: Map<string, TensorData>;
}

/** The projections of a Llama / Qwen2 decoder layer that LoRA may wrap, in canonical order. */
export const LORA_MODULES = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const;
export type LoraModule = (typeof LORA_MODULES)[number];

/** Defaults for a new adapter (PEFT's common choices); each "why" in a comment. */
export const DEFAULT_LORA_ADAPTER_CONFIG: LoraAdapterConfig = {
  r: 8, // small enough to keep the token grid small, large enough to fit a task (DnD uses small ranks)
  loraAlpha: 16, // alpha = 2r, the usual PEFT setting: scaling 2
  loraDropout: 0, // the decoder generates weights; dropout only matters when training the zoo
  targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'], // all projections, as in the paper's setups
  baseModelNameOrPath: '', // filled by whoever knows the base
  useRslora: false, // plain alpha / r, PEFT's default
};

const ADAPTER_CONFIG = 'adapter_config.json';
const ADAPTER_WEIGHTS = 'adapter_model.safetensors';

/** Throws naming the field and the value unless `cfg` is a usable LoRA config. */
export function validateLoraAdapterConfig(cfg: LoraAdapterConfig, where = 'LoraAdapterConfig'): void {
  checkNumber(where, 'r', cfg.r, { min: 1, integer: true });
  checkNumber(where, 'loraAlpha', cfg.loraAlpha, { min: 0 });
  checkNumber(where, 'loraDropout', cfg.loraDropout, { min: 0, max: 0.999 });
  if (!Array.isArray(cfg.targetModules) || cfg.targetModules.length === 0) {
    throw new Error(`${where}.targetModules must be a non-empty list of ${LORA_MODULES.join(', ')}; got ${JSON.stringify(cfg.targetModules)}`);
  }
  for (const m of cfg.targetModules) {
    if (!(LORA_MODULES as readonly string[]).includes(m)) {
      throw new Error(`${where}.targetModules: unsupported module ${JSON.stringify(m)} (supported: ${LORA_MODULES.join(', ')})`);
    }
  }
  if (new Set(cfg.targetModules).size !== cfg.targetModules.length) throw new Error(`${where}.targetModules has duplicates: ${JSON.stringify(cfg.targetModules)}`);
  if (typeof cfg.baseModelNameOrPath !== 'string') throw new Error(`${where}.baseModelNameOrPath must be a string, got ${JSON.stringify(cfg.baseModelNameOrPath)}`);
  if (typeof cfg.useRslora !== 'boolean') throw new Error(`${where}.useRslora must be a boolean, got ${JSON.stringify(cfg.useRslora)}`);
}

/** The factor on B A: alpha / r, or alpha / sqrt(r) with rsLoRA. @example loraScaling({ ...DEFAULT_LORA_ADAPTER_CONFIG, r: 8, loraAlpha: 16 }) // 2 */
export function loraScaling(cfg: Pick<LoraAdapterConfig, 'r' | 'loraAlpha' | 'useRslora'>): number {
  return cfg.useRslora ? cfg.loraAlpha / Math.sqrt(cfg.r) : cfg.loraAlpha / cfg.r;
}

/** The HF module path of a projection: `model.layers.{layer}.self_attn.q_proj` / `model.layers.{layer}.mlp.up_proj`. */
export function loraModulePath(layer: number, module: LoraModule | string): string {
  const block = ['gate_proj', 'up_proj', 'down_proj'].includes(module) ? 'mlp' : 'self_attn';
  return `model.layers.${layer}.${block}.${module}`;
}

/** PEFT's saved tensor name, e.g. peftTensorName(0, 'q_proj', 'A') = 'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight'. */
export function peftTensorName(layer: number, module: LoraModule | string, part: 'A' | 'B'): string {
  return `base_model.model.${loraModulePath(layer, module)}.lora_${part}.weight`;
}

const NAME_RE = /^base_model\.model\.model\.layers\.(\d+)\.(self_attn|mlp)\.([a-z_]+)\.lora_([AB])\.weight$/;

/** Parses a PEFT LoRA tensor name; null if it is not one of ours (wrong block for the module counts as not ours). */
export function parsePeftTensorName(name: string): { layer: number; module: LoraModule; part: 'A' | 'B' } | null {
  const m = NAME_RE.exec(name);
  if (!m) return null;
  const module = m[3] as LoraModule;
  if (!(LORA_MODULES as readonly string[]).includes(module)) return null;
  if (loraModulePath(Number(m[1]), module) !== `model.layers.${m[1]}.${m[2]}.${module}`) return null;
  return { layer: Number(m[1]), module, part: m[4] as 'A' | 'B' };
}

/**
 * Checks an adapter's internal consistency: config valid, every name PEFT's, modules in targetModules,
 * A [r, in] and B [out, r] in pairs. Returns the modules found as `{layer, module, in, out}`.
 * Fit to a base model (in/out per module) is checked by the model that loads it.
 */
export function validateLoraAdapter(adapter: LoraAdapter, where = 'LoRA adapter'): Array<{ layer: number; module: LoraModule; inFeatures: number; outFeatures: number }> {
  validateLoraAdapterConfig(adapter.config, `${where} config`);
  const { r, targetModules } = adapter.config;
  const seen = new Map<string, { layer: number; module: LoraModule; a?: TensorData; b?: TensorData }>();
  for (const [name, t] of adapter.tensors) {
    const p = parsePeftTensorName(name);
    if (!p) throw new Error(`${where}: tensor "${name}" is not a PEFT LoRA name (expected base_model.model.model.layers.{i}.{self_attn|mlp}.<proj>.lora_{A|B}.weight)`);
    if (!targetModules.includes(p.module)) throw new Error(`${where}: tensor "${name}" is for ${p.module}, which is not in target_modules [${targetModules.join(', ')}]`);
    assertShape(t, null, `${where}: tensor "${name}"`);
    if (t.shape.length !== 2) throw new Error(`${where}: tensor "${name}" must be 2-D, got shape [${t.shape}]`);
    if (p.part === 'A' && t.shape[0] !== r) throw new Error(`${where}: tensor "${name}" (lora_A) must be [r=${r}, in], got [${t.shape}]`);
    if (p.part === 'B' && t.shape[1] !== r) throw new Error(`${where}: tensor "${name}" (lora_B) must be [out, r=${r}], got [${t.shape}]`);
    const key = `${p.layer}.${p.module}`;
    const e = seen.get(key) ?? { layer: p.layer, module: p.module };
    if (p.part === 'A') e.a = t; else e.b = t;
    seen.set(key, e);
  }
  const out: Array<{ layer: number; module: LoraModule; inFeatures: number; outFeatures: number }> = [];
  for (const e of seen.values()) {
    if (!e.a || !e.b) throw new Error(`${where}: ${peftTensorName(e.layer, e.module, e.a ? 'B' : 'A')} is missing (lora_A and lora_B come in pairs)`);
    out.push({ layer: e.layer, module: e.module, inFeatures: e.a.shape[1]!, outFeatures: e.b.shape[0]! });
  }
  if (out.length === 0) throw new Error(`${where}: no LoRA tensors`);
  out.sort((x, y) => x.layer - y.layer || LORA_MODULES.indexOf(x.module) - LORA_MODULES.indexOf(y.module));
  return out;
}

function readJson(file: string): Record<string, any> {
  let text: string;
  try { text = fs.readFileSync(file, 'utf8'); } catch (e) { throw new Error(`${file}: cannot read (${(e as Error).message})`); }
  try {
    const v = JSON.parse(text);
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('not a JSON object');
    return v;
  } catch (e) { throw new Error(`${file}: invalid JSON (${(e as Error).message})`); }
}

/** Parses PEFT's adapter_config.json object into our record, rejecting LoRA variants we do not implement. */
export function parsePeftAdapterConfig(raw: Record<string, any>, file = ADAPTER_CONFIG): LoraAdapterConfig {
  if (raw.peft_type !== undefined && raw.peft_type !== 'LORA') throw new Error(`${file}: peft_type ${JSON.stringify(raw.peft_type)} is not supported (only "LORA")`);
  const unsupported: Array<[string, boolean]> = [
    ['fan_in_fan_out', raw.fan_in_fan_out === true],
    ['bias', raw.bias !== undefined && raw.bias !== 'none'],
    ['use_dora', raw.use_dora === true],
    ['rank_pattern', raw.rank_pattern != null && Object.keys(raw.rank_pattern).length > 0],
    ['alpha_pattern', raw.alpha_pattern != null && Object.keys(raw.alpha_pattern).length > 0],
    ['modules_to_save', Array.isArray(raw.modules_to_save) && raw.modules_to_save.length > 0],
    ['layer_replication', raw.layer_replication != null],
  ];
  for (const [k, bad] of unsupported) if (bad) throw new Error(`${file}: ${k}=${JSON.stringify(raw[k])} is not supported`);
  let targets = raw.target_modules;
  if (typeof targets === 'string') {
    if (!(LORA_MODULES as readonly string[]).includes(targets)) throw new Error(`${file}: target_modules as a regex (${JSON.stringify(targets)}) is not supported; list the modules`);
    targets = [targets];
  }
  if (!Array.isArray(targets)) throw new Error(`${file}: target_modules must be a list, got ${JSON.stringify(targets)}`);
  targets = [...targets].sort((a: string, b: string) => LORA_MODULES.indexOf(a as LoraModule) - LORA_MODULES.indexOf(b as LoraModule));
  const cfg: LoraAdapterConfig = {
    r: raw.r,
    loraAlpha: raw.lora_alpha,
    loraDropout: raw.lora_dropout ?? 0,
    targetModules: targets,
    baseModelNameOrPath: raw.base_model_name_or_path ?? '',
    useRslora: raw.use_rslora ?? false,
  };
  validateLoraAdapterConfig(cfg, file);
  return cfg;
}

/** Our record as PEFT's adapter_config.json object (LoraConfig.to_dict() keys, snake_case). */
export function toPeftAdapterConfig(cfg: LoraAdapterConfig): Record<string, unknown> {
  return {
    alpha_pattern: {},
    auto_mapping: null,
    base_model_name_or_path: cfg.baseModelNameOrPath,
    bias: 'none',
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    layers_pattern: null,
    layers_to_transform: null,
    lora_alpha: cfg.loraAlpha,
    lora_dropout: cfg.loraDropout,
    modules_to_save: null,
    peft_type: 'LORA',
    r: cfg.r,
    rank_pattern: {},
    revision: null,
    target_modules: [...cfg.targetModules],
    task_type: 'CAUSAL_LM',
    use_dora: false,
    use_rslora: cfg.useRslora,
  };
}

/**
 * Reads a PEFT adapter directory (adapter_config.json + adapter_model.safetensors); F16/BF16 become fp32.
 * Errors name the file and the tensor.
 * @example const a = readPeftAdapter('out/adapter'); a.tensors.get('base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight') // [r, in]
 */
export function readPeftAdapter(dir: string): LoraAdapter {
  const cfgFile = path.join(dir, ADAPTER_CONFIG);
  const wFile = path.join(dir, ADAPTER_WEIGHTS);
  if (!fs.existsSync(wFile)) {
    const bin = path.join(dir, 'adapter_model.bin');
    throw new Error(fs.existsSync(bin) ? `${bin}: pickled adapters are not supported; save with safe_serialization=True` : `${wFile}: not found`);
  }
  const config = parsePeftAdapterConfig(readJson(cfgFile), cfgFile);
  const f = SafetensorsFile.open(wFile);
  const tensors = new Map<string, TensorData>();
  try {
    for (const name of f.names) {
      const info = f.info(name);
      if (info.dtype !== 'F32' && info.dtype !== 'F16' && info.dtype !== 'BF16') throw new Error(`${wFile}: tensor "${name}" has dtype ${info.dtype}; LoRA weights must be F32, F16 or BF16`);
      tensors.set(name, f.readFloat(name));
    }
  } finally {
    f.close();
  }
  const adapter = { config, tensors };
  validateLoraAdapter(adapter, wFile);
  return adapter;
}

/**
 * Writes `adapter` as PEFT does (adapter_model.safetensors in F32 with {format: 'pt'} metadata, then
 * adapter_config.json), each file atomically. Validates first: on bad input nothing is written.
 * `extra` goes into the safetensors `__metadata__` (string values; e.g. provenance digests).
 * @example writePeftAdapter('out/adapter', adapter, { source: 'dnd-decoder' }); // PeftModel.from_pretrained(base, 'out/adapter') loads it
 */
export function writePeftAdapter(dir: string, adapter: LoraAdapter, extra?: Record<string, string>): void {
  validateLoraAdapter(adapter, `writePeftAdapter(${dir})`);
  const names = [...adapter.tensors.keys()].sort();
  const out = new Map<string, TensorToWrite>();
  for (const n of names) {
    const t = adapter.tensors.get(n)!;
    out.set(n, { dtype: 'F32', shape: [...t.shape], data: t.data });
  }
  for (const [k, v] of Object.entries(extra ?? {})) {
    if (typeof v !== 'string') throw new Error(`writePeftAdapter(${dir}): extra.${k} must be a string (safetensors metadata), got ${JSON.stringify(v)}`);
  }
  fs.mkdirSync(dir, { recursive: true });
  writeSafetensors(path.join(dir, ADAPTER_WEIGHTS), out, { ...(extra ?? {}), format: 'pt' });
  writeFileAtomic(path.join(dir, ADAPTER_CONFIG), `${JSON.stringify(toPeftAdapterConfig(adapter.config), null, 2)}\n`);
}
