// The two model operations scoring needs (a subset of @dnd/lm's CausalLM), and the host that puts an
// adapter on a base model with a compatibility check. Not a model: @dnd/lm implements these; tests may
// hand-write a deterministic one.
import type { LoraAdapter } from '@dnd/core';

/** A continuation to score: log P(continuation | context), lm-evaluation-harness style. */
export interface ContinuationRequest {
  context: string;
  continuation: string;
}

/** Result per request: summed log-probability, its token count, and whether greedy decoding would produce it. */
export interface ContinuationScore {
  logprob: number;
  numTokens: number;
  isGreedy: boolean;
}

/** Generation options (greedy unless told otherwise). */
export interface GenerateOptions {
  maxNewTokens: number;
  greedy?: boolean;
  temperature?: number;
  seed?: number;
  /** End a row once `done(text so far)` holds (@dnd/lm's GenerateOptions.stopWhen); `rule` names it in cache keys. */
  stopWhen?: { readonly rule: string; done(text: string): boolean };
}

/** What the scorers call. @dnd/lm's CausalLM satisfies it. */
export interface ScoringModel {
  scoreContinuations(items: ContinuationRequest[], opts?: Record<string, unknown>): Promise<ContinuationScore[]>;
  generate(prompts: string[], opts: GenerateOptions): Promise<string[]>;
  /**
   * Optional: the same requests under K adapters (null = the bare base) in one pass, [K][items.length]; the
   * numbers of useAdapter(adapters[k]) + scoreContinuations up to float rounding. The attached adapter is ignored.
   */
  scoreContinuationsMulti?(adapters: (LoraAdapter | null)[], items: ContinuationRequest[], opts?: Record<string, unknown>): Promise<ContinuationScore[][]>;
  /**
   * Optional: the same prompts generated under K adapters in one batch, [K][prompts.length]; what useAdapter(adapters[k])
   * + generate gives, up to float rounding. The attached adapter is ignored.
   */
  generateMulti?(adapters: (LoraAdapter | null)[], prompts: string[], opts: GenerateOptions & { batchSize?: number }): Promise<string[][]>;
}

/** A scoring model whose adapter can be switched: null = the bare base model. */
export interface EvalModel extends ScoringModel {
  /** The base model's name or path as adapters record it (PEFT's base_model_name_or_path). */
  readonly baseModelNameOrPath: string;
  /** Puts `adapter` on the base (or removes any with null). Throws AdapterMismatchError when it does not fit. */
  useAdapter(adapter: LoraAdapter | null): Promise<void>;
}

/** Thrown when an adapter was made for another base model (name or tensor shapes differ). */
export class AdapterMismatchError extends Error {
  override name = 'AdapterMismatchError';
}

/** The last path component, lower case, without a trailing slash: "Qwen/Qwen2.5-0.5B" and "/m/qwen2.5-0.5b/" agree. */
export function baseModelKey(nameOrPath: string): string {
  const parts = nameOrPath.trim().replace(/[\\/]+$/, '').split(/[\\/]/);
  return (parts[parts.length - 1] ?? '').toLowerCase();
}

/**
 * Checks that `adapter` fits a base: the recorded base name agrees (by last path component; an empty
 * name on either side is not compared) and every tensor has the shape the base expects for that name.
 * `expected` maps PEFT tensor names to shapes (from the base with the same LoRA config attached).
 * @example checkAdapterFits(adapter, 'Qwen/Qwen2.5-0.5B', expectedShapes, 'generated[0]')
 */
export function checkAdapterFits(adapter: LoraAdapter, baseName: string, expected: ReadonlyMap<string, readonly number[]> | null, what: string): void {
  const a = baseModelKey(adapter.config.baseModelNameOrPath);
  const b = baseModelKey(baseName);
  if (a !== '' && b !== '' && a !== b) {
    throw new AdapterMismatchError(`${what}: adapter was made for base model "${adapter.config.baseModelNameOrPath}", but the evaluated base is "${baseName}"`);
  }
  if (!expected) return;
  for (const [name, t] of adapter.tensors) {
    const want = expected.get(name);
    if (!want) throw new AdapterMismatchError(`${what}: tensor "${name}" has no place in base "${baseName}" (layer or module absent)`);
    if (want.length !== t.shape.length || want.some((d, i) => d !== t.shape[i])) {
      throw new AdapterMismatchError(`${what}: tensor "${name}" has shape [${t.shape}], but base "${baseName}" needs [${want}]`);
    }
  }
  for (const name of expected.keys()) {
    if (!adapter.tensors.has(name)) throw new AdapterMismatchError(`${what}: tensor "${name}" is missing for base "${baseName}"`);
  }
}

/** The LoRA side of @dnd/lm's CausalLM that `hostCausalLM` needs (structural, so any conforming model works). */
export interface LoraCapableLM extends ScoringModel {
  attachLora(cfg: LoraAdapter['config'], seed: number): unknown;
  setLoraWeights(adapter: LoraAdapter): unknown;
  getLoraWeights(): LoraAdapter;
  detachLora(): unknown;
}

/**
 * Wraps a @dnd/lm CausalLM as an EvalModel: useAdapter(a) attaches a LoRA with a's config, reads the
 * shapes the base expects, checks a against them (and the base name), then loads a's weights.
 * scoreContinuationsMulti and generateMulti (when the LM has them) check base names and leave the shape checks to the LM.
 * @example const model = hostCausalLM(await loadCausalLM(dir), 'Qwen/Qwen2.5-0.5B'); await model.useAdapter(adapter);
 */
export function hostCausalLM(lm: LoraCapableLM, baseModelNameOrPath: string): EvalModel {
  let attached = false;
  return {
    baseModelNameOrPath,
    scoreContinuations: (items, opts) => lm.scoreContinuations(items, opts),
    ...(lm.scoreContinuationsMulti ? {
      scoreContinuationsMulti: (adapters: (LoraAdapter | null)[], items: ContinuationRequest[], opts?: Record<string, unknown>) => {
        adapters.forEach((a, k) => { if (a) checkAdapterFits(a, baseModelNameOrPath, null, `adapter ${k}`); });
        return lm.scoreContinuationsMulti!(adapters, items, opts);
      },
    } : {}),
    ...(lm.generateMulti ? {
      generateMulti: (adapters: (LoraAdapter | null)[], prompts: string[], opts: GenerateOptions & { batchSize?: number }) => {
        adapters.forEach((a, k) => { if (a) checkAdapterFits(a, baseModelNameOrPath, null, `adapter ${k}`); });
        return lm.generateMulti!(adapters, prompts, opts);
      },
    } : {}),
    generate: (prompts, opts) => lm.generate(prompts, opts),
    async useAdapter(adapter) {
      if (attached) { await lm.detachLora(); attached = false; }
      if (!adapter) return;
      checkAdapterFits(adapter, baseModelNameOrPath, null, 'adapter');
      await lm.attachLora(adapter.config, 0);
      attached = true;
      const expected = new Map<string, number[]>();
      for (const [n, t] of lm.getLoraWeights().tensors) expected.set(n, t.shape);
      try {
        checkAdapterFits(adapter, baseModelNameOrPath, expected, 'adapter');
        await lm.setLoraWeights(adapter);
      } catch (e) {
        await lm.detachLora();
        attached = false;
        throw e;
      }
    },
  };
}
