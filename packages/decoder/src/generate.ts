// Prompt-to-LoRA generation (method §4.5, §6): encode the prompts with the frozen encoder, run the
// decoder, de-tokenise with the zoo's layout, write a PEFT adapter directory, and time it all.
// Not training, and not the encoder itself (@dnd/encoder; passed in, typed structurally here).
import * as fs from 'fs';
import * as path from 'path';
import { detokenizeLora, loraTokenLayoutOf, readPeftAdapter, writePeftAdapter, type LoraAdapterConfig, type LoraTokenLayout, type TensorData } from '@dnd/core';
import { checkChainMatchesCondition, checkChainMatchesTokens } from './decoder-config';
import { loadCheckpoint } from './checkpoint';
import { HyperConvDecoder } from './hyperconv';

/** What generation needs of a text encoder (@dnd/encoder's TextEncoder satisfies it). */
export interface ConditionEncoder {
  encode(prompts: string[], opts: { maxLength: number }): Promise<{ condition: TensorData /* [N, L, C] */; truncated?: number }>;
}

/** The zoo's structure: the token layout and the adapter config every generated adapter carries. */
export interface LoraTemplate {
  layout: LoraTokenLayout;
  adapterConfig: LoraAdapterConfig;
}

export interface GenerateLoraOptions extends LoraTemplate {
  encoder: ConditionEncoder;
  /** The adapter directory to write (adapter_config.json + adapter_model.safetensors). */
  outDir: string;
  /** Text length L the decoder was trained with (features[0][1]). Default: that. */
  maxLength?: number;
  /** Extra safetensors metadata (strings), e.g. provenance digests. */
  extra?: Record<string, string>;
}

export interface GenerateLoraResult {
  dir: string;
  /** Wall time of encode + decode + de-tokenise + write, seconds. */
  seconds: number;
  encodeSeconds: number;
  decodeSeconds: number;
  truncated: number;
}

/**
 * The template of a zoo: read one of its adapters and lay it out at chunk width `width`.
 * @example const tpl = loraTemplateFromAdapter('zoo/arc-e/ckpt-0050', 64);
 */
export function loraTemplateFromAdapter(adapterDir: string, width: number): LoraTemplate {
  const adapter = readPeftAdapter(adapterDir);
  return { layout: loraTokenLayoutOf(adapter, width), adapterConfig: adapter.config };
}

/**
 * Prompts -> a PEFT LoRA adapter directory, through `generator`. The prompt count must be the chain's N.
 * @example const r = await generateLora(prompts, gen, { encoder, ...tpl, outDir: 'runs/gen/arc-c-0' }); r.seconds
 */
export async function generateLora(prompts: string[], generator: HyperConvDecoder, opts: GenerateLoraOptions): Promise<GenerateLoraResult> {
  const [n, l] = generator.config.features[0]!;
  if (prompts.length !== n) throw new Error(`generateLora: got ${prompts.length} prompts, the generator takes N=${n}`);
  checkChainMatchesTokens(generator.config, opts.layout.tokenShape, 'generateLora');
  if (opts.adapterConfig.r !== opts.layout.rank) throw new Error(`generateLora: adapterConfig.r=${opts.adapterConfig.r} but the layout has rank ${opts.layout.rank}`);
  const t0 = performance.now();
  const enc = await opts.encoder.encode(prompts, { maxLength: opts.maxLength ?? l });
  const t1 = performance.now();
  checkChainMatchesCondition(generator.config, enc.condition.shape, 'generateLora');
  const tokens = generator.predict(enc.condition); // [Nw, r+2, w+2]
  const t2 = performance.now();
  const adapter = detokenizeLora(tokens, opts.layout, opts.adapterConfig);
  fs.mkdirSync(path.dirname(path.resolve(opts.outDir)), { recursive: true });
  writePeftAdapter(opts.outDir, adapter, { source: 'dnd-decoder', ...(opts.extra ?? {}) });
  const t3 = performance.now();
  return { dir: opts.outDir, seconds: (t3 - t0) / 1000, encodeSeconds: (t1 - t0) / 1000, decodeSeconds: (t2 - t1) / 1000, truncated: enc.truncated ?? 0 };
}

/**
 * The generator of a checkpoint (a step directory, or a checkpoint root with latest.json), with the
 * state.json record (its `meta` carries whatever the trainer was given, e.g. the token layout).
 * @example const { generator } = loadGenerator('runs/decoder'); ... generator.dispose();
 */
export function loadGenerator(where: string): { generator: HyperConvDecoder; state: ReturnType<typeof loadCheckpoint>['state'] } {
  const ck = loadCheckpoint(where);
  return { generator: HyperConvDecoder.fromStateDict(ck.state.decoder, ck.params), state: ck.state };
}
