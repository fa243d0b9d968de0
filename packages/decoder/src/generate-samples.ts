// K LoRAs from one prompt pool (method §6 reports the mean over K generated LoRAs): sample k conditions the
// generator on N prompts drawn by `seededRandom(seed, 'generate', name, k).sample(texts.length, N)`, the
// draw the pipeline's evaluate step has always used, and writes `<outDir>/<name>-<k>` as a PEFT adapter.
// Not the single-LoRA generation (generate.ts) and not scoring (@dnd/evaluator).
import * as path from 'path';
import { BadInputError, seededRandom } from '@dnd/core';
import { generateLora, type ConditionEncoder, type GenerateLoraResult, type LoraTemplate } from './generate';
import type { HyperConvDecoder } from './hyperconv';

/** Options of `generateLoraSamples`. */
export interface GenerateLoraSamplesOptions {
  /** K: LoRAs to generate, each from its own seeded sample of N prompts. */
  samples: number;
  /** N prompts per LoRA; must equal the generator chain's first N. Default: that N. */
  promptsPerLora?: number;
  /** Seed of the draws (the run seed in the pipeline). */
  seed: number;
  /** The pool's name (a task set): part of the draw's key and of each adapter's directory name. */
  name: string;
  encoder: ConditionEncoder;
  /** Token layout and adapter config of the generated adapters. */
  template: LoraTemplate;
  /** L, the encoder length the generator was trained with. Default: the chain's first L. */
  maxLength?: number;
  /** Parent directory: sample k goes to `<outDir>/<name>-<k>`. */
  outDir: string;
  /** Safetensors metadata of sample k (default `{ sample: String(k) }`). */
  extra?: (k: number) => Record<string, string>;
  /** Awaited before each sample (cancellation checks, yielding to the event loop). */
  beforeSample?: (k: number) => void | Promise<void>;
  /** Called after each sample with its result. */
  onSample?: (k: number, r: GenerateLoraResult) => void;
}

/** One generated sample: where it went and which prompts conditioned it. */
export interface GeneratedLoraSample extends GenerateLoraResult {
  sample: number;
  /** Indices into `texts`, in draw order. */
  promptIndices: number[];
}

/**
 * The prompt indices of sample `k` (exactly the draw `generateLoraSamples` makes).
 * @example samplePromptIndices(42, 'piqa', 0, 100, 8) // [49, 48, 26, 94, 57, 31, 54, 58]
 */
export function samplePromptIndices(seed: number, name: string, k: number, poolSize: number, n: number): number[] {
  return seededRandom(seed, 'generate', name, k).sample(poolSize, n);
}

/**
 * K PEFT adapters from a pool of unlabeled prompts, one seeded sample of N prompts each.
 * A pool smaller than N is a BadInputError (nothing is written).
 * @example
 * const out = await generateLoraSamples(texts, generator, { samples: 3, seed: 42, name: 'piqa', encoder, template, outDir: 'runs/gen' });
 * out.map((s) => s.dir) // ['runs/gen/piqa-0', 'runs/gen/piqa-1', 'runs/gen/piqa-2']
 */
export async function generateLoraSamples(texts: string[], generator: HyperConvDecoder, opts: GenerateLoraSamplesOptions): Promise<GeneratedLoraSample[]> {
  const [chainN] = generator.config.features[0]!;
  const N = opts.promptsPerLora ?? chainN;
  if (!Number.isInteger(opts.samples) || opts.samples < 1) throw new BadInputError(`generateLoraSamples: samples must be an integer >= 1, got ${opts.samples}`);
  if (N !== chainN) throw new BadInputError(`generateLoraSamples: promptsPerLora = ${N} but the generator takes N = ${chainN}`);
  if (texts.length < N) throw new BadInputError(`generateLoraSamples: "${opts.name}" has ${texts.length} prompts, the generator takes N = ${N}`);
  const out: GeneratedLoraSample[] = [];
  for (let k = 0; k < opts.samples; k++) {
    await opts.beforeSample?.(k);
    const idx = samplePromptIndices(opts.seed, opts.name, k, texts.length, N);
    const r = await generateLora(idx.map((i) => texts[i]!), generator, {
      encoder: opts.encoder, ...opts.template, maxLength: opts.maxLength, outDir: path.join(opts.outDir, `${opts.name}-${k}`),
      extra: opts.extra ? opts.extra(k) : { sample: String(k) },
    });
    opts.onSample?.(k, r);
    out.push({ ...r, sample: k, promptIndices: idx });
  }
  return out;
}
