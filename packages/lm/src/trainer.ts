// LoRA fine-tuning of a TfCausalLM: AdamW (PyTorch semantics, decoupled weight decay) on the LoRA tensors
// only, loss = mean NLL of the answer tokens (plus a closing EOS). Logits exist only for answer positions,
// never [B*T, V]. Not a data loader and not a schedule: the caller picks batches and the learning rate.
//
// Dimensions: B batch, T padded length, D hidden, N answer tokens in the batch, V vocab.
import * as tf from '@tensorflow/tfjs';
import { AdamW, checkNumber, mergeConfig } from '@dnd/core';
import { padRight, TfCausalLM } from './causal-lm';
import { embed, finalNorm, headLogits, layerForward, type LayerContext } from './transformer';
import type { CausalLM, LoraTrainer, LoraTrainerConfig, LoraTrainerState, TrainBatch } from './types';

/** Defaults; one "why" each. */
export const DEFAULT_LORA_TRAINER_CONFIG: LoraTrainerConfig = {
  lr: 1e-4, // PEFT's common LoRA learning rate for small models
  weightDecay: 0, // LoRA checkpoints in the zoo should differ by data, not by shrinkage
  betas: [0.9, 0.999], // PyTorch AdamW defaults
  eps: 1e-8, // PyTorch AdamW default
  seed: 0, // LoRA dropout masks
  maxGradNorm: 1, // HF Trainer's default clipping
  gradientCheckpointing: true, // recompute each layer in backward: ~1.3x time, activation memory of one layer (11 GB -> ~2 GB on SmolLM2 at 8 x 128)
};

/** Throws naming the field and value. */
export function validateLoraTrainerConfig(c: LoraTrainerConfig): void {
  const w = 'LoraTrainerConfig';
  checkNumber(w, 'lr', c.lr, { min: 0 });
  checkNumber(w, 'weightDecay', c.weightDecay, { min: 0 });
  if (!Array.isArray(c.betas) || c.betas.length !== 2) throw new Error(`${w}.betas must be [beta1, beta2], got ${JSON.stringify(c.betas)}`);
  checkNumber(w, 'betas[0]', c.betas[0], { min: 0, max: 0.999999 });
  checkNumber(w, 'betas[1]', c.betas[1], { min: 0, max: 0.999999 });
  checkNumber(w, 'eps', c.eps, { min: 0 });
  checkNumber(w, 'seed', c.seed, { integer: true });
  checkNumber(w, 'maxGradNorm', c.maxGradNorm, { min: 0 });
  if (typeof c.gradientCheckpointing !== 'boolean') throw new Error(`${w}.gradientCheckpointing must be a boolean, got ${JSON.stringify(c.gradientCheckpointing)}`);
}

/** Token ids of one example cut to maxLen: input (all but the last token) and the answer targets at its tail. */
export function encodeExample(model: TfCausalLM, prompt: string, answer: string, maxLen: number): { input: number[]; targets: number[] } {
  const tok = model.tokenizer;
  const eos = tok.eosTokenIds[0] ?? model.config.eosTokenIds[0];
  let p = tok.encode(prompt);
  let a = tok.encode(answer);
  if (eos !== undefined) a = [...a, eos];
  if (a.length === 0) throw new Error('trainer: an answer tokenized to nothing and the model has no EOS');
  if (p.length === 0) p = [tok.bosTokenId ?? model.config.bosTokenId ?? eos ?? 0];
  if (a.length > maxLen - 1) a = a.slice(0, maxLen - 1);
  if (p.length + a.length > maxLen) p = p.slice(p.length - (maxLen - a.length));
  const full = [...p, ...a];
  return { input: full.slice(0, -1), targets: a };
}

type Batch = ReturnType<typeof padRight>;

class AdamWLoraTrainer implements LoraTrainer {
  private readonly opt: AdamW;

  constructor(private readonly model: TfCausalLM, readonly config: LoraTrainerConfig) {
    const { weightDecay, betas, eps, maxGradNorm } = config;
    // The LoRA tensors of the moment: attachLora may replace them between steps.
    this.opt = new AdamW(() => new Map(this.lora().variables()), { weightDecay, betas, eps, maxGradNorm });
  }

  private lora() {
    const l = this.model.parts.lora;
    if (!l) throw new Error('LoraTrainer: the model has no LoRA attached (call attachLora first)');
    if (l.merged) throw new Error('LoraTrainer: LoRA is merged; call unmergeLora() before training');
    return l;
  }

  async step(batch: TrainBatch, maxLen: number): Promise<{ loss: number; tokens: number }> {
    if (batch.prompts.length !== batch.answers.length || batch.prompts.length === 0) {
      throw new Error(`LoraTrainer.step: need as many prompts as answers (>= 1), got ${batch.prompts.length} and ${batch.answers.length}`);
    }
    checkNumber('LoraTrainer.step', 'maxLen', maxLen, { min: 2, integer: true });
    this.lora(); // throws when no LoRA is attached or it is merged
    const model = this.model;
    const ex = batch.prompts.map((p, i) => encodeExample(model, p, batch.answers[i]!, maxLen));
    model.checkIds(ex.flatMap((e) => [e.input, e.targets]), 'LoraTrainer.step');
    const T = Math.max(...ex.map((e) => e.input.length));
    model.ensurePositions(T);
    const rowIdx: number[] = []; const targets: number[] = [];
    ex.forEach((e, b) => e.targets.forEach((t, k) => { rowIdx.push(b * T + e.input.length - e.targets.length + k); targets.push(t); }));
    const inputs = padRight(ex.map((e) => e.input), model.tokenizer.padTokenId ?? model.config.padTokenId ?? 0, model.config.numAttentionHeads / model.config.numKeyValueHeads);
    const rows = tf.tensor1d(rowIdx, 'int32'); const tgt = tf.tensor1d(targets, 'int32');
    const seed = this.config.seed * 1000003 + this.opt.step;
    let loss: tf.Scalar | undefined; let grads: Map<string, tf.Tensor> | undefined;
    try {
      ({ loss, grads } = this.config.gradientCheckpointing
        ? this.checkpointedGrads(inputs, rows, tgt, seed)
        : this.tapeGrads(inputs, rows, tgt, seed));
      this.lora().version++; // the adapter's inference copies (causal-lm.ts) go stale, even if apply stops halfway
      this.opt.apply(grads, this.config.lr);
      const value = (await loss.data())[0]!;
      return { loss: value, tokens: targets.length };
    } finally {
      loss?.dispose();
      if (grads) for (const g of grads.values()) g.dispose();
      for (const x of [inputs.ids, inputs.pos, inputs.bias, rows, tgt]) x.dispose();
    }
  }

  /** Mean answer-token NLL from pre-norm hidden rows [N_all, D] (only the answer rows get logits). */
  private lossFromHidden(x: tf.Tensor2D, rows: tf.Tensor1D, tgt: tf.Tensor1D): tf.Scalar {
    const parts = this.model.parts;
    const logits = headLogits(parts, tf.gather(finalNorm(parts, x), rows) as tf.Tensor2D); // [N, V]
    const picked = tf.sum(tf.mul(logits, tf.oneHot(tgt, this.model.config.vocabSize)), 1);
    return tf.mean(tf.logSumExp(logits, 1).sub(picked)) as tf.Scalar;
  }

  /** Plain backprop: one tape over the whole model (fastest, holds every layer's activations). */
  private tapeGrads(inputs: Batch, rows: tf.Tensor1D, tgt: tf.Tensor1D, seed: number): { loss: tf.Scalar; grads: Map<string, tf.Tensor> } {
    const parts = this.model.parts;
    const vars = this.lora().variables().map(([, x]) => x);
    const { value, grads } = tf.variableGrads(() => {
      const e = embed(parts, inputs.ids, inputs.pos, inputs.bias);
      let x = e.x;
      for (let l = 0; l < parts.cfg.numHiddenLayers; l++) {
        const xin = x;
        x = tf.tidy(() => layerForward(parts, l, xin, e.ctx, { training: true, dropoutSeed: seed }).x);
      }
      return this.lossFromHidden(x, rows, tgt);
    }, vars);
    return { loss: value, grads: new Map(Object.entries(grads)) };
  }

  /**
   * Gradient checkpointing: a forward without tape keeps only each layer's input [N, D]; the backward then
   * recomputes one layer at a time under its own tape (same dropout seeds), chaining dx from the head down.
   */
  private checkpointedGrads(inputs: Batch, rows: tf.Tensor1D, tgt: tf.Tensor1D, seed: number): { loss: tf.Scalar; grads: Map<string, tf.Tensor> } {
    const parts = this.model.parts;
    const L = parts.cfg.numHiddenLayers;
    const opts = { training: true, dropoutSeed: seed };
    const lora = this.lora();
    const [x0, cos, sin] = tf.tidy(() => {
      const e = embed(parts, inputs.ids, inputs.pos, inputs.bias);
      return [e.x, e.ctx.cos, e.ctx.sin];
    }) as [tf.Tensor2D, tf.Tensor4D, tf.Tensor4D];
    const ctx: LayerContext = { B: inputs.ids.shape[0], T: inputs.ids.shape[1], cos, sin, bias: inputs.bias };
    const xs: tf.Tensor2D[] = [x0];
    const grads = new Map<string, tf.Tensor>();
    let dx: tf.Tensor | undefined;
    try {
      for (let l = 0; l < L; l++) xs.push(tf.tidy(() => layerForward(parts, l, xs[l]!, ctx, opts).x));
      const head = tf.valueAndGrad((h: tf.Tensor) => this.lossFromHidden(h as tf.Tensor2D, rows, tgt));
      const { value: loss, grad } = head(xs[L]!);
      dx = grad;
      for (let l = L - 1; l >= 0; l--) {
        const layerVars: tf.Variable[] = [];
        for (const [key, p] of lora.pairs) if (key.startsWith(`${l}.`)) layerVars.push(p.A, p.B);
        const g = tf.grads((xin: tf.Tensor) => layerForward(parts, l, xin as tf.Tensor2D, ctx, opts).x)([xs[l]!, ...layerVars], dx);
        dx.dispose();
        dx = g[0]!;
        layerVars.forEach((v, i) => grads.set(v.name, g[i + 1]!));
      }
      return { loss: loss as tf.Scalar, grads };
    } finally {
      dx?.dispose();
      for (const t of [...xs, cos, sin]) t.dispose();
    }
  }

  exportState(): LoraTrainerState {
    const { m, v } = this.opt.moments();
    return { step: this.opt.step, m, v, lora: this.model.getLoraWeights() };
  }

  importState(s: LoraTrainerState): void {
    checkNumber('LoraTrainerState', 'step', s.step, { min: 0, integer: true });
    this.model.setLoraWeights(s.lora);
    const names = new Set(this.lora().variables().map(([n]) => n));
    for (const [k, t] of [...s.m, ...s.v]) {
      if (!names.has(k)) throw new Error(`LoraTrainerState: moment "${k}" has no LoRA parameter`);
      if (t.data.length !== t.shape.reduce((a, b) => a * b, 1)) throw new Error(`LoraTrainerState: moment "${k}" data does not fit shape [${t.shape}]`);
    }
    this.opt.loadMoments(s.step, s.m, s.v);
  }

  dispose(): void {
    this.opt.dispose();
  }
}

/**
 * A LoRA trainer for `model` (from loadCausalLM / createRandomCausalLM, with LoRA attached).
 * @example lm.attachLora({ ...DEFAULT_LORA_ADAPTER_CONFIG }, 0); const tr = createLoraTrainer(lm, { lr: 1e-3 });
 *          const { loss } = await tr.step({ prompts: ['Q: 2+2?\nA:'], answers: [' 4'] }, 128);
 */
export function createLoraTrainer(model: CausalLM, config: Partial<LoraTrainerConfig> = {}): LoraTrainer {
  if (!(model instanceof TfCausalLM)) throw new Error('createLoraTrainer: model must come from loadCausalLM or createRandomCausalLM');
  const cfg = mergeConfig(DEFAULT_LORA_TRAINER_CONFIG, config, 'LoraTrainerConfig');
  validateLoraTrainerConfig(cfg);
  return new AdamWLoraTrainer(model, cfg);
}
