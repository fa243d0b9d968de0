// The portable generator directory, the one format `dnd` writes and reads for a trained generator:
// generator.safetensors (decoder parameters, PyTorch layouts), generator.json (everything needed to use it
// and to know what it is) and README.md (the model card). Relative names only: no host paths or URIs.
// Not training checkpoints (checkpoint.ts: optimiser state, resumable) and not generation (generate.ts).
import * as fs from 'fs';
import * as path from 'path';
import {
  BadInputError, CORE_VERSION, SafetensorsFile, canonicalJson, sha256File, sha256Hex, validateLoraAdapterConfig, writeSafetensors,
  type LoraAdapterConfig, type LoraTokenLayout, type TensorData, type TensorToWrite,
} from '@dnd/core';
import { checkChainMatchesTokens, decoderParamCount, decoderParamSpecs, validateDecoderConfig, type DecoderConfig } from './decoder-config';
import type { LoraTemplate } from './generate';
import { renderGeneratorCard } from './generator-card';
import { HyperConvDecoder } from './hyperconv';
import type { TrainConfig } from './train-config';

export const GENERATOR_DIR_FORMAT = 'dnd-generator';
export const GENERATOR_DIR_SCHEMA_VERSION = 1;
const MANIFEST = 'generator.json';
const WEIGHTS = 'generator.safetensors';
const CARD = 'README.md';

/** A model identified by a portable name and a content digest (sha256 hex). */
export interface NamedDigest {
  /** e.g. 'smollm2-135m-instruct', 'sentence-transformers/all-MiniLM-L6-v2': a name or hub id, never a host path. */
  name: string;
  digest: string;
}

/** How the generator was trained (recorded, not re-validated against data). */
export interface GeneratorTraining {
  sets: string[];
  heldOut: string[];
  /** The loss: per-token weighted MSE on token grids, with how the weights were chosen. */
  loss: { kind: 'weighted-mse'; tokenWeights: 'method' | 'uniform' };
  /** The decoder's TrainConfig (lr, schedule, noise, seed...), or null when unknown. */
  train: TrainConfig | null;
  steps: number;
  finalLoss: number | null;
  /** Other settings that shaped the data (split seed, pool size, batch size...). */
  settings?: Record<string, string | number | boolean | null>;
}

/** One held-out set's scores, for the model card. */
export interface GeneratorScore {
  set: string;
  n: number;
  metric: string;
  base: number;
  generated: number | null;
  trainingLoraMean: number | null;
}

/** generator.json. */
export interface GeneratorManifest {
  format: typeof GENERATOR_DIR_FORMAT;
  schemaVersion: number;
  /** The decoder: the (N, H, W) chain and kernel; its first feature is [N, L, C], its last the token grid. */
  decoder: DecoderConfig;
  condition: { promptsPerLora: number; textLength: number; dim: number };
  tokenGrid: [number, number, number]; // [Nw, r+2, w+2]
  /** What every generated adapter is: its PEFT config (base_model_name_or_path = baseModel.name) and token layout. */
  lora: { adapterConfig: LoraAdapterConfig; layout: LoraTokenLayout };
  /** The base model the LoRAs are for: name, content digest, architecture and the shapes LoRA wraps. */
  baseModel: NamedDigest & { architecture: string | null; numLayers: number; moduleShapes: Record<string, [number, number]> };
  encoder: NamedDigest & { kind: string };
  training: GeneratorTraining;
  evaluation: GeneratorScore[] | null;
  versions: Record<string, string>;
  weights: { file: typeof WEIGHTS; sha256: string; bytes: number; params: number };
}

/** What `writeGeneratorDir` needs. */
export interface GeneratorDirInput {
  /** Decoder parameters by state-dict name, PyTorch layouts (e.g. `loadCheckpoint(dir).params` or `generator.stateDict()`). */
  params: Map<string, TensorData>;
  decoder: DecoderConfig;
  template: LoraTemplate;
  encoder: NamedDigest & { kind: string };
  baseModel: NamedDigest & { architecture: string | null };
  training: GeneratorTraining;
  evaluation?: GeneratorScore[] | null;
  /** Extra package versions to record (this package's and @dnd/core's are always recorded). */
  versions?: Record<string, string>;
}

/** A loaded generator directory. */
export interface LoadedGeneratorDir {
  dir: string;
  manifest: GeneratorManifest;
  /** The generator's identity: `generatorDigest(manifest)`. */
  digest: string;
  template: LoraTemplate;
  generator: HyperConvDecoder;
}

/** What a caller expects of a generator: a mismatch is refused by name before any work. */
export interface GeneratorExpectations {
  baseModel?: Partial<NamedDigest>;
  encoder?: Partial<NamedDigest>;
}

function decoderVersion(): string {
  try {
    return (JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unresolved';
  }
}

/** Throws naming the field when a string in `v` is a host path or a file URI (the format is portable). */
function checkPortable(v: unknown, where: string): void {
  if (typeof v === 'string') {
    if (path.isAbsolute(v) || /^[A-Za-z]:[\\/]/.test(v) || /^file:/i.test(v) || v.startsWith('~')) throw new BadInputError(`${where}: ${JSON.stringify(v)} is a host path; a generator directory records names only`);
  } else if (Array.isArray(v)) v.forEach((x, i) => checkPortable(x, `${where}[${i}]`));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) checkPortable(x, `${where}.${k}`);
}

/** Per-module [in, out] and the layer count, from the token layout; throws when layers disagree. */
function moduleShapesOf(layout: LoraTokenLayout, where: string): { numLayers: number; moduleShapes: Record<string, [number, number]> } {
  const shapes: Record<string, [number, number]> = {};
  let numLayers = 0;
  for (const e of layout.entries) {
    numLayers = Math.max(numLayers, e.layer + 1);
    const s = shapes[e.module];
    if (s && (s[0] !== e.inFeatures || s[1] !== e.outFeatures)) throw new BadInputError(`${where}: ${e.module} is [${s}] in one layer and [${e.inFeatures},${e.outFeatures}] in layer ${e.layer}`);
    shapes[e.module] = [e.inFeatures, e.outFeatures];
  }
  return { numLayers, moduleShapes: shapes };
}

/** The consistency checks shared by writing and reading. */
function checkManifest(m: GeneratorManifest, where: string): void {
  if (m.format !== GENERATOR_DIR_FORMAT) throw new BadInputError(`${where}: format ${JSON.stringify(m.format)} is not ${GENERATOR_DIR_FORMAT}`);
  if (m.schemaVersion !== GENERATOR_DIR_SCHEMA_VERSION) throw new BadInputError(`${where}: schema version ${m.schemaVersion} is not supported (this @dnd/decoder reads ${GENERATOR_DIR_SCHEMA_VERSION})`);
  try {
    validateDecoderConfig(m.decoder, `${where} decoder`);
    checkChainMatchesTokens(m.decoder, m.lora.layout.tokenShape, where);
    validateLoraAdapterConfig(m.lora.adapterConfig);
  } catch (e) {
    throw new BadInputError((e as Error).message);
  }
  const [n, l, c] = m.decoder.features[0]!;
  const cond = m.condition;
  if (cond.promptsPerLora !== n || cond.textLength !== l || cond.dim !== c) throw new BadInputError(`${where}: condition [${cond.promptsPerLora},${cond.textLength},${cond.dim}] (N, L, C) but the chain starts at [${n},${l},${c}]`);
  if (canonicalJson(m.tokenGrid) !== canonicalJson(m.lora.layout.tokenShape)) throw new BadInputError(`${where}: tokenGrid [${m.tokenGrid}] but the layout's token shape is [${m.lora.layout.tokenShape}]`);
  if (m.lora.adapterConfig.r !== m.lora.layout.rank) throw new BadInputError(`${where}: adapter rank ${m.lora.adapterConfig.r} but the layout has rank ${m.lora.layout.rank}`);
  const modules = new Set(m.lora.layout.entries.map((e) => e.module));
  if ([...modules].sort().join() !== [...m.lora.adapterConfig.targetModules].sort().join()) throw new BadInputError(`${where}: target modules ${m.lora.adapterConfig.targetModules.join(',')} but the layout covers ${[...modules].join(',')}`);
  if (m.lora.adapterConfig.baseModelNameOrPath !== m.baseModel.name) throw new BadInputError(`${where}: the adapters name base model "${m.lora.adapterConfig.baseModelNameOrPath}" but the generator is for "${m.baseModel.name}"`);
  const shapes = moduleShapesOf(m.lora.layout, where);
  if (shapes.numLayers !== m.baseModel.numLayers || canonicalJson(shapes.moduleShapes) !== canonicalJson(m.baseModel.moduleShapes)) {
    throw new BadInputError(`${where}: the base model's shapes (${m.baseModel.numLayers} layers, ${canonicalJson(m.baseModel.moduleShapes)}) disagree with the LoRA layout (${shapes.numLayers} layers, ${canonicalJson(shapes.moduleShapes)})`);
  }
  for (const [what, v] of [['baseModel.name', m.baseModel.name], ['encoder.name', m.encoder.name]] as const) {
    if (typeof v !== 'string' || !v) throw new BadInputError(`${where}: ${what} must be a model name, got ${JSON.stringify(v)}`);
  }
  checkPortable(m, where);
}

/**
 * Writes a generator directory at `dir` (which must not exist, or be empty): built under a temporary
 * sibling and renamed into place, so a crash leaves nothing under the real name. Returns its manifest.
 * @example
 * const ck = loadCheckpoint('runs/decoder');
 * writeGeneratorDir('my-generator', { params: ck.params, decoder: ck.state.decoder, template: tpl,
 *   encoder: { name: 'all-MiniLM-L6-v2', digest: enc.digest, kind: 'bert' }, baseModel: { name: 'smollm2-135m-instruct', digest, architecture: 'LlamaForCausalLM' },
 *   training: { sets: ['arc-e'], heldOut: ['piqa'], loss: { kind: 'weighted-mse', tokenWeights: 'method' }, train: ck.state.train, steps: 500, finalLoss: ck.state.loss } });
 */
export function writeGeneratorDir(dir: string, input: GeneratorDirInput): GeneratorManifest {
  const where = `writeGeneratorDir(${dir})`;
  if (fs.existsSync(dir) && (!fs.statSync(dir).isDirectory() || fs.readdirSync(dir).length > 0)) throw new BadInputError(`${where}: ${dir} exists and is not an empty directory; choose a new one`);
  const { layout, adapterConfig } = input.template;
  const [n, l, c] = input.decoder.features[0]!;
  const manifest: GeneratorManifest = {
    format: GENERATOR_DIR_FORMAT, schemaVersion: GENERATOR_DIR_SCHEMA_VERSION,
    decoder: { features: input.decoder.features.map((f) => [...f] as [number, number, number]), kernelSize: input.decoder.kernelSize },
    condition: { promptsPerLora: n, textLength: l, dim: c },
    tokenGrid: [...layout.tokenShape] as [number, number, number],
    lora: { adapterConfig: { ...adapterConfig, targetModules: [...adapterConfig.targetModules], baseModelNameOrPath: input.baseModel.name }, layout },
    baseModel: { name: input.baseModel.name, digest: input.baseModel.digest, architecture: input.baseModel.architecture, ...moduleShapesOf(layout, where) },
    encoder: { name: input.encoder.name, digest: input.encoder.digest, kind: input.encoder.kind },
    training: input.training,
    evaluation: input.evaluation ?? null,
    versions: { ...(input.versions ?? {}), '@dnd/core': CORE_VERSION, '@dnd/decoder': decoderVersion() },
    weights: { file: WEIGHTS, sha256: '', bytes: 0, params: decoderParamCount(input.decoder) },
  };
  checkManifest(manifest, where);
  const tensors = new Map<string, TensorToWrite>();
  for (const s of decoderParamSpecs(input.decoder)) {
    const t = input.params.get(s.name);
    if (!t) throw new BadInputError(`${where}: parameter "${s.name}" is missing (does the decoder config match the parameters?)`);
    if (canonicalJson(t.shape) !== canonicalJson(s.shape)) throw new BadInputError(`${where}: parameter "${s.name}" is [${t.shape}], the config says [${s.shape}]`);
    tensors.set(s.name, { dtype: 'F32', shape: [...s.shape], data: t.data instanceof Float32Array ? t.data : Float32Array.from(t.data) });
  }
  const tmp = path.join(path.dirname(path.resolve(dir)), `.${path.basename(dir)}.tmp-${process.pid}`);
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  try {
    writeSafetensors(path.join(tmp, WEIGHTS), tensors, { format: 'pt', [GENERATOR_DIR_FORMAT]: String(GENERATOR_DIR_SCHEMA_VERSION) });
    manifest.weights.sha256 = sha256File(path.join(tmp, WEIGHTS));
    manifest.weights.bytes = fs.statSync(path.join(tmp, WEIGHTS)).size;
    fs.writeFileSync(path.join(tmp, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
    fs.writeFileSync(path.join(tmp, CARD), renderGeneratorCard(manifest));
    if (fs.existsSync(dir)) fs.rmdirSync(dir);
    fs.renameSync(tmp, dir);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  return manifest;
}

/**
 * The generator's identity: the sha256 of the canonical JSON of what determines its outputs (decoder, condition,
 * token grid, LoRA, base model, encoder, and the weights by their sha256), not of what describes it (training
 * record, scores, versions): the same trained generator exported from a run or from an alias has one digest.
 * @example generatorDigest(readGeneratorManifest('my-generator').manifest) // '3f2a...'
 */
export function generatorDigest(m: GeneratorManifest): string {
  const { format, schemaVersion, decoder, condition, tokenGrid, lora, baseModel, encoder, weights } = m;
  return sha256Hex(canonicalJson({ format, schemaVersion, decoder, condition, tokenGrid, lora, baseModel, encoder, weights: weights.sha256 }));
}

/**
 * Reads and checks generator.json (format, schema, shapes, names) without loading the weights.
 * @example const { manifest, digest } = readGeneratorManifest('my-generator'); manifest.encoder.name
 */
export function readGeneratorManifest(dir: string): { manifest: GeneratorManifest; digest: string } {
  const file = path.join(dir, MANIFEST);
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new BadInputError(`generator directory ${dir} not found`);
  if (!fs.existsSync(file)) throw new BadInputError(`${dir} is not a generator directory (no ${MANIFEST}); \`dnd export-generator <run> <dir>\` writes one`);
  const text = fs.readFileSync(file, 'utf8');
  let m: GeneratorManifest;
  try {
    m = JSON.parse(text) as GeneratorManifest;
  } catch (e) {
    throw new BadInputError(`${file}: invalid JSON (${(e as Error).message})`);
  }
  if (!m || typeof m !== 'object' || !m.decoder || !m.lora || !m.baseModel || !m.encoder || !m.condition || !m.weights) throw new BadInputError(`${file}: not a ${GENERATOR_DIR_FORMAT} manifest (decoder, condition, lora, baseModel, encoder or weights missing)`);
  checkManifest(m, file);
  return { manifest: m, digest: generatorDigest(m) };
}

/** Throws a BadInputError when `m` is not for the expected base model or encoder (by name, then digest). */
export function checkGeneratorExpectations(m: GeneratorManifest, expect: GeneratorExpectations, where = 'generator'): void {
  for (const [what, have, want] of [['base model', m.baseModel, expect.baseModel], ['encoder', m.encoder, expect.encoder]] as const) {
    if (!want) continue;
    if (want.name !== undefined && want.name !== have.name) throw new BadInputError(`${where}: trained for ${what} "${have.name}", not "${want.name}"`);
    if (want.digest !== undefined && want.digest !== have.digest) throw new BadInputError(`${where}: ${what} "${have.name}" has digest ${want.digest.slice(0, 12)}..., the generator was trained with ${have.digest.slice(0, 12)}... (another version of the model)`);
  }
}

/**
 * Loads a generator directory: checks the manifest, the weights' digest and every parameter's shape, and
 * the expectations (a generator for another base model or encoder is refused by name). Dispose `generator`.
 * @example
 * const g = readGeneratorDir('my-generator', { encoder: { name: 'all-MiniLM-L6-v2', digest: enc.digest } });
 * await generateLora(prompts, g.generator, { encoder: enc, ...g.template, outDir: 'lora' }); g.generator.dispose();
 */
export function readGeneratorDir(dir: string, expect: GeneratorExpectations = {}): LoadedGeneratorDir {
  const { manifest, digest } = readGeneratorManifest(dir);
  checkGeneratorExpectations(manifest, expect, `generator ${dir}`);
  const wfile = path.join(dir, WEIGHTS);
  if (!fs.existsSync(wfile)) throw new BadInputError(`${dir}: ${WEIGHTS} is missing`);
  const sha = sha256File(wfile);
  if (sha !== manifest.weights.sha256) throw new BadInputError(`${wfile}: sha256 ${sha.slice(0, 12)}... but ${MANIFEST} records ${manifest.weights.sha256.slice(0, 12)}... (corrupt or replaced weights)`);
  const params = new Map<string, TensorData>();
  let f: SafetensorsFile;
  try {
    f = SafetensorsFile.open(wfile);
  } catch (e) {
    throw new BadInputError(`${wfile}: ${(e as Error).message}`);
  }
  try {
    for (const n of f.names) params.set(n, f.readFloat(n));
  } finally {
    f.close();
  }
  const expected = new Set(decoderParamSpecs(manifest.decoder).map((s) => s.name));
  const extra = [...params.keys()].filter((n) => !expected.has(n));
  if (extra.length) throw new BadInputError(`${wfile}: unexpected tensors ${extra.slice(0, 3).join(', ')}${extra.length > 3 ? ', ...' : ''} for the decoder in ${MANIFEST}`);
  let generator: HyperConvDecoder;
  try {
    generator = HyperConvDecoder.fromStateDict(manifest.decoder, params);
  } catch (e) {
    throw new BadInputError(`${wfile}: ${(e as Error).message}`);
  }
  return { dir, manifest, digest, template: { layout: manifest.lora.layout, adapterConfig: manifest.lora.adapterConfig }, generator };
}
