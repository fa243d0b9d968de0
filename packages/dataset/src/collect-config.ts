// CollectConfig: everything that decides a set's checkpoint collection (LoRA shape, the two phases'
// lengths and learning rates, batch, sequence length, seeds, split), with defaults and one validator.
// Not the collection loop (collect.ts).
import { BadInputError, checkNumber, checkOneOf, mergeConfig, validateLoraAdapterConfig, LORA_MODULES, DEFAULT_LORA_ADAPTER_CONFIG } from '@dnd/core';
import { COLLECT_TARGETS, type CollectTarget } from './training-examples';

export interface CollectConfig {
  /** LoRA rank r (method §1.1: 8 for the common-sense zoo). */
  rank: number;
  /** lora_alpha (scaling alpha / r). */
  loraAlpha: number;
  /** LoRA dropout while collecting. */
  loraDropout: number;
  /** Projections wrapped, PEFT names. */
  targetModules: string[];
  /** Phase 1 length W: a warm-up fine-tune whose steps are not kept. */
  warmupSteps: number;
  /** Phase 2 length S: one PEFT snapshot per step. */
  snapshotSteps: number;
  /** AdamW learning rate in the warm-up. */
  warmupLr: number;
  /** AdamW learning rate in the continued (snapshot) run. */
  lr: number;
  weightDecay: number;
  betas: [number, number];
  eps: number;
  /** Global grad-norm clip (0 = off). */
  maxGradNorm: number;
  /** Recompute each layer in the backward pass (@dnd/lm): ~1.3x time, one layer's activations in memory. */
  gradientCheckpointing: boolean;
  /** Examples per optimizer step. */
  batchSize: number;
  /** Tokens per example (prompt cut from the left). */
  maxSeqLen: number;
  /** Seed of the LoRA init, dropout, and batch draws. */
  seed: number;
  /** Seed and train share of the split made for single-split sets (piqa, social_i_qa). */
  splitSeed: number;
  trainFraction: number;
  /**
   * How a record becomes the fine-tune's prompt: "{prompt}" is replaced by the instruction (+ "\n\n" + input);
   * the answer is the record's `output`. Give the evaluator the same template (it is in the manifest).
   */
  promptTemplate: string;
  /** Skip malformed records of the task files (counted in the manifest) instead of failing. */
  skipBad: boolean;
  /**
   * What the LoRA is fine-tuned to produce (issue 16): 'label' (the record's `output`, the paper's label format),
   * 'knowledge' ("Question: ...\nAnswer:" -> " " + the gold choice text, the knowledge protocol's form), or
   * 'both'. Undefined means 'label'; it stays undefined by default so that existing zoos keep their config digest.
   */
  trainOn?: CollectTarget;
}

export const DEFAULT_COLLECT_CONFIG: CollectConfig = {
  rank: 8, // the paper's common-sense rank (§1.1)
  loraAlpha: 16, // alpha = 2r, LLaMA-Factory's default, as the paper's adapters
  loraDropout: 0, // the paper's adapters use 0.0
  targetModules: [...DEFAULT_LORA_ADAPTER_CONFIG.targetModules], // all 7 projections (`lora_target: all`)
  warmupSteps: 75, // paper Table 9, common sense pretrain steps
  snapshotSteps: 50, // paper Table 9 finetune steps = checkpoints per set (real_length 50)
  warmupLr: 1e-4, // paper Table 9 pretrain lr
  lr: 1e-5, // paper Table 9 finetune lr (the repo's yamls use 1e-4; method §1.3)
  weightDecay: 0, // HF Trainer default
  betas: [0.9, 0.999], // HF / PyTorch AdamW default
  eps: 1e-8, // HF / PyTorch AdamW default
  maxGradNorm: 1, // HF Trainer default
  gradientCheckpointing: true, // SmolLM2 at 8 x 128: ~2 GB instead of ~11 GB of activations (the machine's budget is ~6 GB)
  batchSize: 8, // the CPU budget; the paper's is 32
  maxSeqLen: 128, // the instructions here fit in ~128 tokens; the paper's cutoff is 2048
  seed: 42, // HF's default: every set starts from the same lora_A init, as in the reference (matters for §4.4)
  splitSeed: 0, // fixed, so every step and report sees the same piqa / social_i_qa split
  trainFraction: 0.5, // half to the LoRA-training pool, half to the eval pool
  promptTemplate: '{prompt}\n', // a newline between the instruction and "the correct answer is ...", no chat markup
  skipBad: false, // bad data fails loudly unless asked
  trainOn: undefined, // = 'label', the paper's form; undefined keeps the canonical config (and every zoo digest) as it was
};

/** Throws naming the field and value unless `cfg` is usable. */
export function validateCollectConfig(cfg: CollectConfig): void {
  const w = 'CollectConfig';
  checkNumber(w, 'rank', cfg.rank, { integer: true, min: 1 });
  checkNumber(w, 'warmupSteps', cfg.warmupSteps, { integer: true, min: 0 });
  checkNumber(w, 'snapshotSteps', cfg.snapshotSteps, { integer: true, min: 2 });
  checkNumber(w, 'warmupLr', cfg.warmupLr, { min: 0, max: 1 });
  checkNumber(w, 'lr', cfg.lr, { min: 0, max: 1 });
  checkNumber(w, 'weightDecay', cfg.weightDecay, { min: 0 });
  checkNumber(w, 'eps', cfg.eps, { min: 0 });
  checkNumber(w, 'maxGradNorm', cfg.maxGradNorm, { min: 0 });
  if (!Array.isArray(cfg.betas) || cfg.betas.length !== 2) throw new BadInputError(`${w}.betas must be [beta1, beta2], got ${JSON.stringify(cfg.betas)}`);
  checkNumber(w, 'betas[0]', cfg.betas[0], { min: 0, max: 0.999999 });
  checkNumber(w, 'betas[1]', cfg.betas[1], { min: 0, max: 0.999999 });
  checkNumber(w, 'batchSize', cfg.batchSize, { integer: true, min: 1 });
  checkNumber(w, 'maxSeqLen', cfg.maxSeqLen, { integer: true, min: 2 });
  checkNumber(w, 'seed', cfg.seed, { integer: true, min: 0 });
  checkNumber(w, 'splitSeed', cfg.splitSeed, { integer: true, min: 0 });
  checkNumber(w, 'trainFraction', cfg.trainFraction, { min: 0.01, max: 0.99 });
  if (typeof cfg.gradientCheckpointing !== 'boolean') throw new BadInputError(`${w}.gradientCheckpointing must be a boolean, got ${JSON.stringify(cfg.gradientCheckpointing)}`);
  if (typeof cfg.skipBad !== 'boolean') throw new BadInputError(`${w}.skipBad must be a boolean, got ${JSON.stringify(cfg.skipBad)}`);
  if (cfg.trainOn !== undefined) checkOneOf(w, 'trainOn', cfg.trainOn, COLLECT_TARGETS);
  if (typeof cfg.promptTemplate !== 'string' || !cfg.promptTemplate.includes('{prompt}')) throw new BadInputError(`${w}.promptTemplate must contain "{prompt}", got ${JSON.stringify(cfg.promptTemplate)}`);
  for (const m of cfg.targetModules ?? []) {
    if (!(LORA_MODULES as readonly string[]).includes(m)) throw new BadInputError(`${w}.targetModules: unknown module ${JSON.stringify(m)} (known: ${LORA_MODULES.join(', ')})`);
  }
  validateLoraAdapterConfig({ r: cfg.rank, loraAlpha: cfg.loraAlpha, loraDropout: cfg.loraDropout, targetModules: cfg.targetModules, baseModelNameOrPath: '', useRslora: false }, w);
}

/** Defaults + a (partial) preset, validated. */
export function resolveCollectConfig(preset?: Partial<CollectConfig>): CollectConfig {
  const cfg = mergeConfig(DEFAULT_COLLECT_CONFIG, preset, 'CollectConfig');
  validateCollectConfig(cfg);
  return cfg;
}
