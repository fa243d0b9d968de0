// What `dnd generate` and `dnd serve` share: opening a generator (a portable directory, or an alias of a
// trained one) with its encoder checked by digest, and writing K generated PEFT adapters plus dnd.json
// (generator digest, prompt hashes, seed, seconds) under a temporary name renamed into place. The same
// function serves both, so the adapter `dnd serve` returns is byte-identical to `dnd generate`'s.
// Not the method (@dnd/decoder's generateLoraSamples) and not the formats (generator-dir.ts, prompt-input.ts).
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { BadInputError, writeFileAtomic } from '@dnd/core';
import { checkGeneratorExpectations, generateLoraSamples, readGeneratorDir, type LoadedGeneratorDir } from '@dnd/decoder';
import { loadTextEncoder, promptHash, type TextEncoder } from '@dnd/encoder';
import { modelsDir, resolveModelDir } from '../assets';
import { exportGenerator } from './export-generator';

/** A generator ready to generate: weights, template, and its encoder (digest-checked). */
export interface OpenGenerator extends LoadedGeneratorDir {
  encoder: TextEncoder;
  /** The encoder's directory. */
  encoderDir: string;
  dispose(): void;
}

/** How to open a generator. */
export interface OpenGeneratorOptions {
  /** The encoder directory or name (default: the generator's encoder name, under the model cache). */
  encoder?: string;
  /** Refuse unless the generator is for this base model (a name, or a model directory whose name is compared). */
  baseModel?: string;
  /** Artifact store for aliases. */
  artifactsDir?: string;
  runsDir?: string;
}

/**
 * Opens a generator directory (or exports an alias's / run's trained generator to a temporary one first),
 * loads its encoder and checks its digest. Call `dispose()`.
 * @example const g = await openGenerator('generators/commonsense'); ... g.dispose();
 */
export async function openGenerator(ref: string, o: OpenGeneratorOptions = {}): Promise<OpenGenerator> {
  let dir = ref;
  let tmp: string | null = null;
  if (!fs.existsSync(ref)) {
    if (!/^[A-Za-z0-9._-]+$/.test(ref)) throw new BadInputError(`generator directory ${ref} not found`);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dnd-generator-'));
    dir = path.join(tmp, 'generator');
    try {
      await exportGenerator(ref, dir, { artifactsDir: o.artifactsDir, runsDir: o.runsDir });
    } catch (e) {
      fs.rmSync(tmp, { recursive: true, force: true });
      throw e;
    }
  }
  try {
    const g = readGeneratorDir(dir, o.baseModel ? { baseModel: { name: path.basename(o.baseModel) } } : {});
    let encoderDir: string;
    let encoder: TextEncoder;
    try {
      encoderDir = resolveModelDir(o.encoder ?? g.manifest.encoder.name, o.encoder ? '--encoder' : `the generator's encoder "${g.manifest.encoder.name}" (looked up under ${modelsDir()}; --encoder <dir> to point at it)`);
      encoder = await loadTextEncoder(encoderDir);
    } catch (e) {
      g.generator.dispose();
      throw e;
    }
    try {
      checkGeneratorExpectations(g.manifest, { encoder: { digest: encoder.digest } }, `generator ${ref} with the encoder at ${encoderDir}`);
      if (encoder.dim !== g.manifest.condition.dim) throw new BadInputError(`generator ${ref}: the encoder at ${encoderDir} is ${encoder.dim}-d, the generator takes ${g.manifest.condition.dim}-d`);
    } catch (e) {
      g.generator.dispose();
      encoder.dispose();
      throw e;
    }
    return { ...g, dir: ref, encoder, encoderDir, dispose: () => { g.generator.dispose(); encoder.dispose(); } };
  } finally {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** One generation request. */
export interface GenerateRequest {
  prompts: string[];
  /** K adapters, each from its own seeded sample of N prompts. */
  samples: number;
  seed: number;
}

/** dnd.json: what made the adapters. */
export interface GenerationRecord {
  format: 'dnd-generation';
  version: 1;
  generator: { digest: string; baseModel: string; encoder: string; promptsPerLora: number };
  seed: number;
  /** sha256 (hex, UTF-8) of every prompt given, in order. */
  promptHashes: string[];
  samples: Array<{ dir: string; sample: number; promptIndices: number[]; truncated: number; seconds: number }>;
  /** Prompts longer than the encoder's L positions (truncated to L, as the method does). */
  truncated: number;
  seconds: number;
}

/** The adapter directory name of sample k in a K > 1 output. */
export const sampleDirName = (k: number): string => `lora-${k}`;

/** Checks a request against the generator; throws BadInputError naming the problem. */
export function checkRequest(g: OpenGenerator, req: GenerateRequest): void {
  const N = g.manifest.condition.promptsPerLora;
  if (!Number.isInteger(req.samples) || req.samples < 1) throw new BadInputError(`samples must be an integer >= 1, got ${req.samples}`);
  if (!Number.isInteger(req.seed) || req.seed < 0) throw new BadInputError(`seed must be an integer >= 0, got ${req.seed}`);
  if (req.prompts.length === 0) throw new BadInputError('no prompts');
  if (req.prompts.length < N) throw new BadInputError(`${req.prompts.length} prompts given, the generator takes N = ${N} per LoRA (give at least ${N} prompts of the task)`);
  const blank = req.prompts.findIndex((p) => typeof p !== 'string' || !p.trim());
  if (blank >= 0) throw new BadInputError(`prompt ${blank + 1} is empty or not a string`);
}

/**
 * Writes the adapters for `req` at `outDir` (must not exist): K = 1 makes `outDir` the adapter directory,
 * K > 1 puts `lora-<k>` adapter directories under it; dnd.json goes beside. Built under a temporary sibling
 * and renamed into place: on any error nothing is left under `outDir`.
 * @example const rec = await generateAdapters(g, { prompts, samples: 1, seed: 0 }, 'my-lora'); rec.seconds
 */
export async function generateAdapters(g: OpenGenerator, req: GenerateRequest, outDir: string): Promise<GenerationRecord> {
  checkRequest(g, req);
  if (fs.existsSync(outDir)) throw new BadInputError(`${outDir} exists; choose a new output directory`);
  const t0 = performance.now();
  const parent = path.dirname(path.resolve(outDir));
  fs.mkdirSync(parent, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(parent, `.${path.basename(outDir)}.tmp-`));
  try {
    const made = await generateLoraSamples(req.prompts, g.generator, {
      samples: req.samples, seed: req.seed, name: 'lora', encoder: g.encoder, template: g.template, maxLength: g.manifest.condition.textLength, outDir: tmp,
      extra: (k) => ({ sample: String(k), 'dnd.generator': g.digest, 'dnd.seed': String(req.seed) }),
    });
    const one = req.samples === 1;
    const record: GenerationRecord = {
      format: 'dnd-generation', version: 1,
      generator: { digest: g.digest, baseModel: g.manifest.baseModel.name, encoder: g.manifest.encoder.name, promptsPerLora: g.manifest.condition.promptsPerLora },
      seed: req.seed, promptHashes: req.prompts.map(promptHash),
      samples: made.map((s) => ({ dir: one ? '.' : sampleDirName(s.sample), sample: s.sample, promptIndices: s.promptIndices, truncated: s.truncated, seconds: s.seconds })),
      truncated: made.reduce((a, s) => a + s.truncated, 0),
      seconds: 0,
    };
    const root = one ? path.join(tmp, `lora-0`) : tmp;
    record.seconds = (performance.now() - t0) / 1000;
    writeFileAtomic(path.join(root, 'dnd.json'), `${JSON.stringify(record, null, 2)}\n`);
    fs.renameSync(root, outDir);
    return record;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
