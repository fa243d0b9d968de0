// LoRA state attached to a base model: one (A, B) pair of trainable tf.Variables per wrapped projection,
// PEFT's init (A kaiming-uniform a=sqrt(5), B = 0) and names, fit checks against the base, merge/unmerge.
// Not the adapter file format (@dnd/core peft.ts) and not the forward pass (transformer.ts).
//
// Dimensions: r rank, in / out the projection's features. delta W = B A * scaling  [out, in].
import * as tf from '@tensorflow/tfjs';
import { loraScaling, peftTensorName, validateLoraAdapter, validateLoraAdapterConfig, type HfModelConfig, type LoraAdapter, type LoraAdapterConfig, type TensorData } from '@dnd/core';
import { mulberry32, uniformArray } from '@dnd/core';
import { projShape, type BaseWeights, type ProjName } from './weights';

/** A variable initialised from `init`, which is disposed (tf.variable keeps its own reference). */
export function ownedVariable(init: tf.Tensor, trainable: boolean): tf.Variable {
  const v = tf.variable(init, trainable);
  init.dispose();
  return v;
}

/** One wrapped projection. */
export interface LoraPair {
  A: tf.Variable; // [r, in]
  B: tf.Variable; // [out, r]
  name: { A: string; B: string }; // PEFT names
}

/** The LoRA attached to a model. */
export class LoraState {
  readonly scaling: number;
  readonly pairs = new Map<string, LoraPair>(); // key `${layer}.${proj}`
  merged = false;
  /** Bumped by every write to the variables (assign, a trainer step): copies built from them are stale once it moves. */
  version = 0;

  private constructor(readonly config: LoraAdapterConfig, readonly modelConfig: HfModelConfig) {
    this.scaling = loraScaling(config);
  }

  /** Fresh LoRA on every layer's target modules; A ~ U(-1/sqrt(in), 1/sqrt(in)) (PEFT's kaiming_uniform a=sqrt(5)), B = 0. */
  static create(config: LoraAdapterConfig, modelConfig: HfModelConfig, seed: number): LoraState {
    validateLoraAdapterConfig(config, 'attachLora config');
    const s = new LoraState({ ...config, targetModules: [...config.targetModules] }, modelConfig);
    const rand = mulberry32(seed);
    for (let l = 0; l < modelConfig.numHiddenLayers; l++) {
      for (const proj of config.targetModules as ProjName[]) {
        const [out, inF] = projShape(modelConfig, proj);
        const A = ownedVariable(tf.tensor2d(uniformArray(config.r * inF, 1 / Math.sqrt(inF), rand), [config.r, inF]), true);
        const B = ownedVariable(tf.zeros([out, config.r]), true);
        s.pairs.set(`${l}.${proj}`, { A, B, name: { A: peftTensorName(l, proj, 'A'), B: peftTensorName(l, proj, 'B') } });
      }
    }
    return s;
  }

  get(layer: number, proj: ProjName): LoraPair | undefined {
    return this.pairs.get(`${layer}.${proj}`);
  }

  /** Trainable variables with their PEFT names. */
  variables(): Array<[string, tf.Variable]> {
    const out: Array<[string, tf.Variable]> = [];
    for (const p of this.pairs.values()) out.push([p.name.A, p.A], [p.name.B, p.B]);
    return out;
  }

  /**
   * Checks that `adapter` fits this state exactly (every layer x target module, shapes [r, in] / [out, r]
   * of the base), then assigns. On error nothing changes. `where` names the source in errors.
   */
  assign(adapter: LoraAdapter, where = 'setLoraWeights'): void {
    validateLoraAdapter(adapter, where);
    const mc = this.modelConfig;
    for (const name of adapter.tensors.keys()) {
      const layer = Number(/layers\.(\d+)\./.exec(name)?.[1]);
      if (layer >= mc.numHiddenLayers) throw new Error(`${where}: tensor "${name}" is for layer ${layer}, but the base model has ${mc.numHiddenLayers} layers`);
    }
    for (const p of this.pairs.values()) {
      for (const part of ['A', 'B'] as const) {
        const t = adapter.tensors.get(p.name[part]);
        if (!t) throw new Error(`${where}: missing tensor "${p.name[part]}"`);
        const want = p[part].shape;
        if (t.shape.length !== 2 || t.shape[0] !== want[0] || t.shape[1] !== want[1]) {
          throw new Error(`${where}: tensor "${p.name[part]}" has shape [${t.shape}] but the base model needs [${want}]`);
        }
      }
    }
    for (const p of this.pairs.values()) {
      for (const part of ['A', 'B'] as const) {
        const t = adapter.tensors.get(p.name[part])!;
        tf.tidy(() => p[part].assign(tf.tensor(t.data, t.shape)));
      }
    }
    this.version++;
  }

  /** Weights as a PEFT adapter (copies). */
  toAdapter(): LoraAdapter {
    const tensors = new Map<string, TensorData>();
    for (const [name, v] of this.variables()) tensors.set(name, { data: v.dataSync() as Float32Array, shape: [...v.shape] });
    return { config: { ...this.config, targetModules: [...this.config.targetModules] }, tensors };
  }

  /** Adds (sign +1) or removes (-1) scaling * B A from the base weights, replacing the tensors in `w`. */
  fold(w: BaseWeights, sign: 1 | -1): void {
    for (const [key, p] of this.pairs) {
      const [l, proj] = key.split('.') as [string, ProjName];
      const layer = w.layers[Number(l)]!;
      const old = layer[proj];
      layer[proj] = tf.tidy(() => old.add(tf.matMul(p.B, p.A).mul(sign * this.scaling))) as tf.Tensor2D;
      old.dispose();
    }
  }

  dispose(): void {
    for (const p of this.pairs.values()) { p.A.dispose(); p.B.dispose(); }
    this.pairs.clear();
  }
}
