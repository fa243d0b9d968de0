// LoRA fine-tuning of a TfCausalLM: AdamW (PyTorch semantics, decoupled weight decay) on the LoRA tensors
// only, loss = mean NLL of the answer tokens (plus a closing EOS). Logits exist only for answer positions,
// never [B*T, V]. Not a data loader and not a schedule: the caller picks batches and the learning rate.
//
// Dimensions: B batch, T padded length, D hidden, N answer tokens in the batch, V vocab.
import * as tf from '@tensorflow/tfjs';
import { checkNumber, mergeConfig, type TensorData } from '@dnd/core';
import { padRight, TfCausalLM } from './causal-lm';
import { ownedVariable } from './lora';
import { forwardHidden, headLogits } from './transformer';
import type { CausalLM, LoraTrainer, LoraTrainerConfig, LoraTrainerState, TrainBatch } from './types';

/** Defaults; one "why" each. */
export const DEFAULT_LORA_TRAINER_CONFIG: LoraTrainerConfig = {
  lr: 1e-4, // PEFT's common LoRA learning rate for small models
  weightDecay: 0, // LoRA checkpoints in the zoo should differ by data, not by shrinkage
  betas: [0.9, 0.999], // PyTorch AdamW defaults
  eps: 1e-8, // PyTorch AdamW default
  seed: 0, // LoRA dropout masks
  maxGradNorm: 1, // HF Trainer's default clipping
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

class AdamWLoraTrainer implements LoraTrainer {
  private t = 0;
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();

  constructor(private readonly model: TfCausalLM, readonly config: LoraTrainerConfig) {}

  private lora() {
    const l = this.model.parts.lora;
    if (!l) throw new Error('LoraTrainer: the model has no LoRA attached (call attachLora first)');
    if (l.merged) throw new Error('LoraTrainer: LoRA is merged; call unmergeLora() before training');
    return l;
  }

  private moment(map: Map<string, tf.Variable>, name: string, shape: number[]): tf.Variable {
    let x = map.get(name);
    if (x && x.shape.join() !== shape.join()) { x.dispose(); x = undefined; }
    if (!x) { x = ownedVariable(tf.zeros(shape), false); map.set(name, x); }
    return x;
  }

  async step(batch: TrainBatch, maxLen: number): Promise<{ loss: number; tokens: number }> {
    if (batch.prompts.length !== batch.answers.length || batch.prompts.length === 0) {
      throw new Error(`LoraTrainer.step: need as many prompts as answers (>= 1), got ${batch.prompts.length} and ${batch.answers.length}`);
    }
    checkNumber('LoraTrainer.step', 'maxLen', maxLen, { min: 2, integer: true });
    const lora = this.lora();
    const model = this.model;
    const ex = batch.prompts.map((p, i) => encodeExample(model, p, batch.answers[i]!, maxLen));
    model.checkIds(ex.flatMap((e) => [e.input, e.targets]), 'LoraTrainer.step');
    const T = Math.max(...ex.map((e) => e.input.length));
    model.ensurePositions(T);
    const rowIdx: number[] = []; const targets: number[] = [];
    ex.forEach((e, b) => e.targets.forEach((t, k) => { rowIdx.push(b * T + e.input.length - e.targets.length + k); targets.push(t); }));
    const vars = lora.variables();
    const D = model.config.hiddenSize; const V = model.config.vocabSize;
    const inputs = padRight(ex.map((e) => e.input), model.tokenizer.padTokenId ?? model.config.padTokenId ?? 0, model.config.numAttentionHeads / model.config.numKeyValueHeads);
    const rows = tf.tensor1d(rowIdx, 'int32'); const tgt = tf.tensor1d(targets, 'int32');
    const seed = this.config.seed * 1000003 + this.t;
    let value: tf.Scalar | undefined; let grads: tf.NamedTensorMap | undefined;
    try {
      ({ value, grads } = tf.variableGrads(() => {
        const { hidden } = forwardHidden(model.parts, inputs.ids, inputs.pos, inputs.bias, { training: true, dropoutSeed: seed });
        const logits = headLogits(model.parts, tf.gather(hidden.reshape([-1, D]), rows) as tf.Tensor2D); // [N, V]
        const picked = tf.sum(tf.mul(logits, tf.oneHot(tgt, V)), 1);
        return tf.mean(tf.logSumExp(logits, 1).sub(picked)) as tf.Scalar;
      }, vars.map(([, x]) => x)));
      this.t += 1;
      this.apply(vars, grads);
      const loss = (await value.data())[0]!;
      return { loss, tokens: targets.length };
    } finally {
      value?.dispose();
      if (grads) for (const g of Object.values(grads)) g.dispose();
      for (const x of [inputs.ids, inputs.pos, inputs.bias, rows, tgt]) x.dispose();
    }
  }

  private apply(vars: Array<[string, tf.Variable]>, grads: tf.NamedTensorMap): void {
    const { lr, weightDecay, betas: [b1, b2], eps, maxGradNorm } = this.config;
    const bc1 = 1 - b1 ** this.t; const bc2 = 1 - b2 ** this.t;
    tf.tidy(() => {
      let coef = 1;
      if (maxGradNorm > 0) {
        const total = Math.sqrt(vars.reduce((a, [, x]) => a + tf.sum(tf.square(grads[x.name]!)).dataSync()[0]!, 0));
        coef = Math.min(1, maxGradNorm / (total + 1e-6));
      }
      for (const [name, p] of vars) {
        const g = coef === 1 ? grads[p.name]! : grads[p.name]!.mul(coef);
        const m = this.moment(this.m, name, p.shape); const v = this.moment(this.v, name, p.shape);
        m.assign(m.mul(b1).add(g.mul(1 - b1)));
        v.assign(v.mul(b2).add(g.square().mul(1 - b2)));
        const denom = v.sqrt().div(Math.sqrt(bc2)).add(eps);
        p.assign(p.mul(1 - lr * weightDecay).sub(m.div(denom).mul(lr / bc1)));
      }
    });
  }

  exportState(): LoraTrainerState {
    const dump = (map: Map<string, tf.Variable>): Map<string, TensorData> => new Map([...map].map(([k, x]) => [k, { data: x.dataSync() as Float32Array, shape: [...x.shape] }]));
    return { step: this.t, m: dump(this.m), v: dump(this.v), lora: this.model.getLoraWeights() };
  }

  importState(s: LoraTrainerState): void {
    checkNumber('LoraTrainerState', 'step', s.step, { min: 0, integer: true });
    this.model.setLoraWeights(s.lora);
    const names = new Set(this.lora().variables().map(([n]) => n));
    for (const [k, t] of [...s.m, ...s.v]) {
      if (!names.has(k)) throw new Error(`LoraTrainerState: moment "${k}" has no LoRA parameter`);
      if (t.data.length !== t.shape.reduce((a, b) => a * b, 1)) throw new Error(`LoraTrainerState: moment "${k}" data does not fit shape [${t.shape}]`);
    }
    this.dispose();
    for (const [map, src] of [[this.m, s.m], [this.v, s.v]] as const) {
      for (const [k, t] of src) map.set(k, ownedVariable(tf.tensor(t.data, t.shape), false));
    }
    this.t = s.step;
  }

  dispose(): void {
    for (const x of [...this.m.values(), ...this.v.values()]) x.dispose();
    this.m.clear(); this.v.clear();
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
