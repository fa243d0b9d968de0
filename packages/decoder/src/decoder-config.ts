// DecoderConfig (the feature chain and kernel), its presets, validation and parameter bookkeeping
// (names, PyTorch shapes, counts) for the cascaded hyper-convolutional decoder (method §5).
// Not the tensor math (hyperconv.ts) and not training (train-config.ts).
//
// Dimensions: a feature (N, H, W) = (prompts or tokens, rows, columns); the chain starts at the condition
// (N, L, C) = (prompts, text length, encoder dim) and ends at the token grid (Nw, r+2, w+2); k = kernel.
import { checkNumber } from '@dnd/core';

/** One feature of the chain: [N, H, W]. */
export type Feature = [number, number, number];

export interface DecoderConfig {
  /** The (N, H, W) chain: features[0] = condition [N, L, C]; last = token grid [Nw, r+2, w+2]. */
  features: Feature[];
  /** Odd or even 'same' k x k kernel of every conv (PyTorch 'same' semantics). */
  kernelSize: number;
}

/** A CPU-sized default: 8 prompts of 32 tokens from a 384-d encoder down to a small rank-2 grid. */
export const DEFAULT_DECODER_CONFIG: DecoderConfig = {
  features: [[8, 32, 384], [16, 16, 128], [32, 8, 64], [64, 4, 34]], // 3 layers: the paper's shape of chain, scaled to seconds per step on 2 cores
  kernelSize: 3, // the paper uses 9 (common sense) / 11; 3 keeps the CPU cost of each conv 9x smaller
};

/** Presets: the paper's common-sense chain (shape checks only: ~1.113B params) and small CPU chains. */
export const DECODER_PRESETS: Record<string, DecoderConfig> = {
  // method §5.2: Qwen2.5-0.5B r8 w128, 128 prompts x 384 tokens of all-MiniLM (384-d), k 9
  'paper-common-sense': {
    features: [[128, 384, 384], [128, 200, 300], [128, 100, 256], [256, 50, 200], [512, 50, 200], [1024, 25, 200], [1024, 10, 200], [2048, 10, 200], [4296, 10, 130]],
    kernelSize: 9,
  },
  'cpu-small': DEFAULT_DECODER_CONFIG,
  // for unit tests: milliseconds per step
  'cpu-tiny': { features: [[4, 8, 16], [8, 6, 12], [12, 4, 6]], kernelSize: 3 },
};

/** Throws naming the field and the value unless `cfg` is a usable decoder config. */
export function validateDecoderConfig(cfg: DecoderConfig, where = 'DecoderConfig'): void {
  checkNumber(where, 'kernelSize', cfg.kernelSize, { min: 1, integer: true });
  if (!Array.isArray(cfg.features) || cfg.features.length < 2) {
    throw new Error(`${where}.features must list at least 2 (N, H, W) features (input and output), got ${JSON.stringify(cfg.features)}`);
  }
  cfg.features.forEach((f, i) => {
    if (!Array.isArray(f) || f.length !== 3 || !f.every((d) => Number.isInteger(d) && d >= 1)) {
      throw new Error(`${where}.features[${i}] must be [N, H, W] of positive integers, got ${JSON.stringify(f)}`);
    }
  });
}

/** Checks that the chain's last feature is the token grid `tokenShape` [Nw, r+2, w+2]. */
export function checkChainMatchesTokens(cfg: DecoderConfig, tokenShape: readonly number[], where = 'decoder'): void {
  const last = cfg.features[cfg.features.length - 1]!;
  if (tokenShape.length !== 3 || last.some((d, i) => d !== tokenShape[i])) {
    throw new Error(`${where}: the feature chain ends at [${last}] but the token grid is [${tokenShape}]; the last feature must be [Nw, r+2, w+2]`);
  }
}

/** Checks that the chain's first feature is the condition [N, L, C]. */
export function checkChainMatchesCondition(cfg: DecoderConfig, conditionShape: readonly number[], where = 'decoder'): void {
  const first = cfg.features[0]!;
  if (conditionShape.length !== 3 || first.some((d, i) => d !== conditionShape[i])) {
    throw new Error(`${where}: the condition is [${conditionShape}] (N, L, C) but the feature chain starts at [${first}]`);
  }
}

/**
 * A chain from `from` to `to` in `layers` steps, each dimension interpolated geometrically (rounded,
 * so the paper's "shrink L and C, grow N" shape). For building a CPU config around a token grid.
 * @example interpolatedChain([16, 64, 384], [1260, 10, 66], 4)
 */
export function interpolatedChain(from: Feature, to: Feature, layers: number): Feature[] {
  checkNumber('interpolatedChain', 'layers', layers, { min: 1, integer: true });
  const out: Feature[] = [];
  for (let i = 0; i <= layers; i++) {
    const t = i / layers;
    out.push(from.map((a, d) => (i === 0 ? a : i === layers ? to[d]! : Math.max(1, Math.round(a * Math.pow(to[d]! / a, t))))) as Feature);
  }
  return out;
}

/** One parameter: its state-dict name (the reference's), PyTorch shape, and how it is initialised. */
export interface ParamSpec {
  name: string;
  shape: number[]; // PyTorch layout: conv weights [out, in, k, k]
  init: { kind: 'uniform'; bound: number } | { kind: 'const'; value: number };
  /** Conv weights are stored HWIO inside tfjs and OIHW (PyTorch) in files. */
  conv: boolean;
}

/** The state-dict prefix of layer `i`. */
export function layerPrefix(i: number): string {
  return `model.decoder.module_list.${i}`;
}

/** Every parameter of the decoder, in state-dict order, with PyTorch's default initialisation. */
export function decoderParamSpecs(cfg: DecoderConfig): ParamSpec[] {
  validateDecoderConfig(cfg);
  const k = cfg.kernelSize;
  const specs: ParamSpec[] = [];
  const conv = (name: string, o: number, i: number): ParamSpec => ({ name, shape: [o, i, k, k], init: { kind: 'uniform', bound: 1 / Math.sqrt(i * k * k) }, conv: true });
  for (let l = 0; l + 1 < cfg.features.length; l++) {
    const [n, hi, wi] = cfg.features[l]!;
    const [n2, ho, wo] = cfg.features[l + 1]!;
    const p = layerPrefix(l);
    specs.push(
      { name: `${p}.linear1.norm.weight`, shape: [hi, wi], init: { kind: 'const', value: 1 }, conv: false },
      { name: `${p}.linear1.norm.bias`, shape: [hi, wi], init: { kind: 'const', value: 0 }, conv: false },
      conv(`${p}.linear1.conv1w.weight`, wo, wi),
      conv(`${p}.linear1.conv1h.weight`, ho, hi),
      conv(`${p}.linear1.conv2h.weight`, ho, hi),
      conv(`${p}.linear1.conv2w.weight`, wo, wi),
      { name: `${p}.linear1.bias`, shape: [ho, wo], init: { kind: 'uniform', bound: 1 / (ho * wo) }, conv: false },
      conv(`${p}.linear2.weight`, n2, n),
      { name: `${p}.linear2.bias`, shape: [n2], init: { kind: 'uniform', bound: 1 / Math.sqrt(n * k * k) }, conv: false },
    );
  }
  return specs;
}

/**
 * Parameter count from shapes alone (nothing allocated).
 * @example decoderParamCount(DECODER_PRESETS['paper-common-sense']) // ~1.113e9
 */
export function decoderParamCount(cfg: DecoderConfig): number {
  return decoderParamSpecs(cfg).reduce((s, p) => s + p.shape.reduce((a, b) => a * b, 1), 0);
}
