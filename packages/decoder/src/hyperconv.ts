// The cascaded hyper-convolutional decoder in TensorFlow.js (method §5.1, as the authors coded it):
// per layer, LayerNorm over (H, W) -> (conv_W -> conv_H) + tanh(conv_H -> conv_W) + bias, / 3 -> Conv_L over N;
// residual when a layer keeps the shape. Not training (trainer.ts) and not generation (generate.ts).
//
// Dimensions: B batch, N prompts / tokens, H rows, W columns, k kernel. Between layers the activation is
// [B, N, H, W], as in PyTorch. Inside a layer both branches work on [B, H, N, W], where each of the four
// H/W convs has its channels on axis 1 (NCHW) or axis 3 (NHWC), so none needs a transpose; two transposes
// per layer remain (into and out of that layout). Spatial axes per conv (PyTorch order):
//   conv1w: channels W, spatial (H, N)     conv1h: channels H, spatial (N, W')
//   conv2h: channels H, spatial (N, W)     conv2w: channels W, spatial (H', N)     Conv_L: channels N, spatial (H', W')
import * as tf from '@tensorflow/tfjs';
import { assertShape, mulberry32, sizeOf, type TensorData } from '@dnd/core';
import { conv2dChannelsFirst } from './channels-first-conv';
import { layerNorm } from './layer-norm';
import { decoderParamSpecs, validateDecoderConfig, type DecoderConfig, type ParamSpec } from './decoder-config';

let nextId = 0; // tfjs variable names must be unique per process

// Layouts of the non-conv parameters, broadcastable against the activations that use them (same data order).
function internalShape(s: ParamSpec): number[] {
  const [a, b] = s.shape as [number, number];
  if (s.shape.length === 1) return [1, a, 1, 1]; // Conv_L bias, on [B, N', H', W']
  if (s.name.endsWith('.linear1.bias')) return [1, a, 1, b]; // hyper-conv bias, on [B, H', N, W']
  return [1, 1, a, b]; // LayerNorm affine, on [B, N, H, W]
}

// OIHW (PyTorch) <-> HWIO (tfjs conv2d filter)
const OIHW_TO_HWIO = [2, 3, 1, 0];
const HWIO_TO_OIHW = [3, 2, 0, 1];

interface LayerVars {
  gamma: tf.Variable; // [1, 1, Hi, Wi]
  beta: tf.Variable; // [1, 1, Hi, Wi]
  conv1w: tf.Variable; // [k, k, Wi, Wo]
  conv1h: tf.Variable; // [k, k, Hi, Ho]
  conv2h: tf.Variable; // [k, k, Hi, Ho]
  conv2w: tf.Variable; // [k, k, Wi, Wo]
  bias: tf.Variable; // [1, Ho, 1, Wo]
  convL: tf.Variable; // [k, k, N, N']
  convLBias: tf.Variable; // [1, N', 1, 1]
}

/** The generator: a decoder with its parameters as tfjs variables. Call dispose() when done. */
export class HyperConvDecoder {
  readonly config: DecoderConfig;
  /** Variables in state-dict order, keyed by state-dict name (tfjs layouts). */
  readonly variables: Map<string, tf.Variable>;
  private readonly specs: ParamSpec[];
  private readonly layers: LayerVars[];

  private constructor(config: DecoderConfig, values: Map<string, Float32Array>) {
    validateDecoderConfig(config);
    this.config = structuredClone(config);
    this.specs = decoderParamSpecs(config);
    this.variables = new Map();
    for (const s of this.specs) {
      const v = values.get(s.name);
      if (!v) throw new Error(`HyperConvDecoder: parameter "${s.name}" is missing`);
      if (v.length !== sizeOf(s.shape)) throw new Error(`HyperConvDecoder: parameter "${s.name}" has ${v.length} values, expected [${s.shape}]`);
      const t = tf.tidy(() => {
        const x = tf.tensor(v, s.shape, 'float32');
        return s.conv ? tf.transpose(x, OIHW_TO_HWIO) : x.reshape(internalShape(s));
      });
      this.variables.set(s.name, tf.variable(t, true, `dnd-decoder-${nextId++}/${s.name}`));
      t.dispose();
    }
    this.layers = [];
    for (let l = 0; l + 1 < config.features.length; l++) {
      const p = `model.decoder.module_list.${l}`;
      const g = (n: string) => this.variables.get(`${p}.${n}`)!;
      this.layers.push({
        gamma: g('linear1.norm.weight'), beta: g('linear1.norm.bias'), conv1w: g('linear1.conv1w.weight'), conv1h: g('linear1.conv1h.weight'),
        conv2h: g('linear1.conv2h.weight'), conv2w: g('linear1.conv2w.weight'), bias: g('linear1.bias'), convL: g('linear2.weight'), convLBias: g('linear2.bias'),
      });
    }
  }

  /**
   * A freshly initialised decoder (PyTorch's default init: conv U(+-1/sqrt(fan_in)), LayerNorm (1, 0),
   * hyper-conv bias U(+-1/(Ho*Wo))), seeded.
   * @example const dec = HyperConvDecoder.create(DECODER_PRESETS['cpu-tiny'], 999);
   */
  static create(config: DecoderConfig, seed: number): HyperConvDecoder {
    const rand = mulberry32(seed);
    const values = new Map<string, Float32Array>();
    for (const s of decoderParamSpecs(config)) {
      const a = new Float32Array(sizeOf(s.shape));
      if (s.init.kind === 'const') a.fill(s.init.value);
      else { const b = s.init.bound; for (let i = 0; i < a.length; i++) a[i] = (2 * rand() - 1) * b; }
      values.set(s.name, a);
    }
    return new HyperConvDecoder(config, values);
  }

  /** A decoder from a state dict in PyTorch layouts and names (e.g. one we saved, or a PyTorch reference). */
  static fromStateDict(config: DecoderConfig, state: Map<string, TensorData>): HyperConvDecoder {
    const values = new Map<string, Float32Array>();
    for (const s of decoderParamSpecs(config)) {
      const t = state.get(s.name);
      if (!t) throw new Error(`HyperConvDecoder.fromStateDict: "${s.name}" is missing (does the config match the checkpoint?)`);
      assertShape(t, s.shape, `HyperConvDecoder.fromStateDict: ${s.name}`);
      values.set(s.name, t.data);
    }
    return new HyperConvDecoder(config, values);
  }

  /** The parameters in PyTorch layouts, keyed by state-dict name. */
  stateDict(): Map<string, TensorData> {
    const out = new Map<string, TensorData>();
    for (const s of this.specs) out.set(s.name, { data: this.toTorchLayout(s.name, this.variables.get(s.name)!), shape: [...s.shape] });
    return out;
  }

  // The spec and variable of parameter `name`; with `data`, also that it has the parameter's number of values.
  private param(name: string, data?: Float32Array): { s: ParamSpec; v: tf.Variable } {
    const v = this.variables.get(name);
    const s = this.specs.find((p) => p.name === name);
    if (!v || !s) throw new Error(`HyperConvDecoder: unknown parameter "${name}"`);
    if (data && data.length !== v.size) throw new Error(`HyperConvDecoder: "${name}" needs ${v.size} values, got ${data.length}`);
    return { s, v };
  }

  /** A tensor (or its data) in this decoder's internal layout for `name`, converted to PyTorch's layout (Float32Array). */
  toTorchLayout(name: string, x: tf.Tensor | Float32Array): Float32Array {
    const { s, v } = this.param(name, x instanceof tf.Tensor ? undefined : x);
    if (!(x instanceof tf.Tensor)) {
      if (!s.conv) return new Float32Array(x); // both layouts keep the same data order: a copy
      const t = tf.tensor(x, v.shape);
      try {
        return this.toTorchLayout(name, t);
      } finally {
        t.dispose();
      }
    }
    // new Float32Array: a copy in this realm (tfjs-node hands back arrays that fail instanceof under jest's vm).
    // Read outside tf.tidy: tidy walks whatever its callback returns looking for tensors, index by index for a
    // typed array (about 1 s for a 2M-parameter decoder, 11 s for 13M, before this was moved out).
    const torchLayout = s.conv ? tf.transpose(x, HWIO_TO_OIHW) : x;
    try {
      return new Float32Array(torchLayout.dataSync() as Float32Array);
    } finally {
      if (torchLayout !== x) torchLayout.dispose();
    }
  }

  /** A PyTorch-layout array for `name` as a tensor in this decoder's internal layout. */
  fromTorchLayout(name: string, data: Float32Array): tf.Tensor {
    const { s, v } = this.param(name, data);
    return tf.tidy(() => (s.conv ? tf.transpose(tf.tensor(data, s.shape), OIHW_TO_HWIO) : tf.tensor(data, v.shape)));
  }

  /** fromTorchLayout as data (e.g. optimiser moments from a checkpoint, for AdamW.loadMoments). */
  internalLayout(name: string, data: Float32Array): Float32Array {
    if (!this.param(name, data).s.conv) return new Float32Array(data); // the same data order: a copy
    const t = this.fromTorchLayout(name, data);
    try {
      return new Float32Array(t.dataSync() as Float32Array);
    } finally {
      t.dispose();
    }
  }

  /** Number of parameters. */
  get numParams(): number {
    let n = 0;
    for (const v of this.variables.values()) n += v.size;
    return n;
  }

  /**
   * Forward pass: condition [B, N, L, C] -> token grids [B, Nw, r+2, w+2]. Differentiable (use inside
   * tf.variableGrads / tf.tidy). `conditionGrad: false` (training, where only the parameters need
   * gradients) skips the condition's gradient through the first LayerNorm: it comes back as zeros.
   */
  forward(condition: tf.Tensor4D, { conditionGrad = true }: { conditionGrad?: boolean } = {}): tf.Tensor4D {
    const f0 = this.config.features[0]!;
    const s = condition.shape;
    if (s[1] !== f0[0] || s[2] !== f0[1] || s[3] !== f0[2]) {
      throw new Error(`HyperConvDecoder.forward: condition is [${s}] but the chain starts at [B, ${f0}]`);
    }
    let x = condition; // [B, N, H, W]
    this.layers.forEach((lv, i) => {
      const y = this.layer(x, lv, this.config.features[i + 1]!, i > 0 || conditionGrad);
      x = y.shape.every((d, j) => d === x.shape[j]) ? tf.add(x, y) : y; // residual when shapes match
    });
    return x; // [B, Nw, r+2, w+2]
  }

  // One HyperConvLayer on x [B, N, Hi, Wi] -> [B, N', Ho, Wo].
  private layer(x: tf.Tensor4D, v: LayerVars, out: readonly number[], inputGrad: boolean): tf.Tensor4D {
    const ho = out[1]!, wo = out[2]!;
    const xn = layerNorm(x, v.gamma, v.beta, inputGrad); // [B, N, H, W]
    const t = tf.transpose(xn, [0, 2, 1, 3]) as tf.Tensor4D; // [B, H, N, W]
    // width first: conv_W (channels W last, spatial (H, N)) then conv_H (channels H first, spatial (N, W'))
    const a = conv2dChannelsFirst(tf.conv2d(t, v.conv1w as tf.Tensor4D, 1, 'same'), v.conv1h as tf.Tensor4D); // [B, H, N, Wo] -> [B, Ho, N, Wo]
    // height first: conv_H (channels H first, spatial (N, W)) then conv_W (channels W last, spatial (H', N)), tanh
    const b = tf.tanh(tf.conv2d(conv2dChannelsFirst(t, v.conv2h as tf.Tensor4D), v.conv2w as tf.Tensor4D, 1, 'same')); // [B, Ho, N, W] -> [B, Ho, N, Wo]
    const h = tf.div(tf.add(tf.add(a, b), v.bias), 3) as tf.Tensor4D; // [B, Ho, N, Wo]
    if (h.shape[1] !== ho || h.shape[3] !== wo) throw new Error(`HyperConvDecoder: layer produced [${h.shape}], expected H=${ho}, W=${wo}`);
    // Conv_L: channels N, spatial (H', W'), with bias: changes N
    const hn = tf.transpose(h, [0, 2, 1, 3]) as tf.Tensor4D; // [B, N, Ho, Wo]
    return tf.add(conv2dChannelsFirst(hn, v.convL as tf.Tensor4D), v.convLBias) as tf.Tensor4D; // [B, N', Ho, Wo]
  }

  /**
   * Inference on plain data: condition [B, N, L, C] or [N, L, C] -> token grids [B, Nw, r+2, w+2]
   * (or [Nw, r+2, w+2] for an unbatched condition).
   * @example const tokens = dec.predict(await encoder.encode(prompts, { maxLength: 32 }).then((e) => e.condition));
   */
  predict(condition: TensorData): TensorData {
    assertShape(condition, null, 'HyperConvDecoder.predict: condition');
    const batched = condition.shape.length === 4;
    if (!batched && condition.shape.length !== 3) throw new Error(`HyperConvDecoder.predict: condition must be [N, L, C] or [B, N, L, C], got [${condition.shape}]`);
    const shape4 = (batched ? condition.shape : [1, ...condition.shape]) as [number, number, number, number];
    const out = tf.tidy(() => this.forward(tf.tensor4d(condition.data, shape4)));
    try {
      const data = new Float32Array(out.dataSync() as Float32Array);
      return { data, shape: batched ? out.shape.slice() : out.shape.slice(1) };
    } finally {
      out.dispose();
    }
  }

  /** Frees the variables. */
  dispose(): void {
    for (const v of this.variables.values()) v.dispose();
    this.variables.clear();
  }
}
