// Kernels the pure-JS backends lack or run pathologically slowly, registered per backend so that every
// model in this project trains on wasm (and faster on cpu): segment-sum (gather gradient), the conv
// filter gradient by shifted-patch matMuls, and on wasm matMul with explicit transposes and the stride-1
// conv input gradient as a flipped-kernel forward conv.
// Not backend choice (backend.ts) and not a general kernel library: only what our models need.
//
// Dimensions: B batch, H/W input height/width, OH/OW output height/width, KH/KW kernel height/width,
// Cin/Cout channels, N = B*OH*OW rows of the patch matrix, M/K/P the matMul dims (a [M, K] x b [K, P]).
import * as tf from '@tensorflow/tfjs';

/** Backends that get extra kernels; the native 'tensorflow' backend needs none. */
export type PatchedBackend = 'wasm' | 'cpu';

/** Which replacement kernels each patched backend gets, with the reason for each. */
export interface RuntimeKernelsConfig {
  /** UnsortedSegmentSum as one O(N*D) pass: wasm has none (gather/embedding cannot train); cpu's takes ~28 s for a 1024-id gradient. */
  segmentSum: boolean;
  /** Conv2DBackpropFilter as KH*KW matMuls over shifted patches: wasm has none; cpu's is ~50x slower than its forward conv. */
  convFilterGrad: boolean;
  /** BatchMatMul with transposeA/B done as an explicit Transpose then a plain matMul: wasm's transposed matMul is 15-60x slower. */
  matMulExplicitTranspose: boolean;
  /** Conv2DBackpropInput at stride 1 as a forward conv with the flipped kernel: wasm's own is ~10x slower than its forward conv. */
  convInputGrad: boolean;
}

/** Defaults per backend: cpu's transposed matMul is no slower than its plain one, so it keeps its own. */
export const DEFAULT_RUNTIME_KERNELS_CONFIG: Readonly<Record<PatchedBackend, RuntimeKernelsConfig>> = {
  wasm: { segmentSum: true, convFilterGrad: true, matMulExplicitTranspose: true, convInputGrad: true },
  cpu: { segmentSum: true, convFilterGrad: true, matMulExplicitTranspose: false, convInputGrad: false },
};

/** Throws naming the field and value when a config is not a RuntimeKernelsConfig. */
export function validateRuntimeKernelsConfig(cfg: RuntimeKernelsConfig): RuntimeKernelsConfig {
  for (const key of ['segmentSum', 'convFilterGrad', 'matMulExplicitTranspose', 'convInputGrad'] as const) {
    if (typeof cfg[key] !== 'boolean') throw new Error(`RuntimeKernelsConfig.${key} must be a boolean, got ${JSON.stringify(cfg[key])}`);
  }
  return cfg;
}

// What each backend had before we replaced it (null: nothing was registered), so uninstall restores it.
const saved = new Map<string, tf.KernelConfig | null>();
const key = (kernel: string, backend: string): string => `${kernel}/${backend}`;

function replaceKernel(config: tf.KernelConfig): void {
  const k = key(config.kernelName, config.backendName);
  if (saved.has(k)) return; // already ours
  const prev = tf.getKernel(config.kernelName, config.backendName) ?? null;
  if (prev) tf.unregisterKernel(config.kernelName, config.backendName);
  saved.set(k, prev ? { ...prev } : null);
  tf.registerKernel(config);
}

// ---- UnsortedSegmentSum: out[ids[i], ...] += x[i, ...]. Negative ids are dropped, as in TF; ids >= numSegments
// are dropped too (TF raises an error for those).

function segmentSumValues(
  xv: ArrayLike<number>, // [S, ...inner] flattened
  ids: ArrayLike<number>, // [S]
  numSegments: number,
  out: Float32Array | Int32Array, // [numSegments, ...inner] flattened, zeroed
): void {
  const inner = ids.length === 0 ? 0 : xv.length / ids.length;
  for (let i = 0; i < ids.length; i++) {
    const s = ids[i]!;
    if (s < 0 || s >= numSegments) continue;
    const o = s * inner;
    const xo = i * inner;
    for (let j = 0; j < inner; j++) out[o + j]! += xv[xo + j]!;
  }
}

function segmentSumShape(x: tf.TensorInfo, segmentIds: tf.TensorInfo, numSegments: number): number[] {
  const idsRank = segmentIds.shape.length;
  if (segmentIds.shape.some((d, i) => d !== x.shape[i])) {
    throw new Error(`UnsortedSegmentSum: segmentIds shape [${segmentIds.shape}] must be a prefix of x shape [${x.shape}]`);
  }
  if (!Number.isInteger(numSegments) || numSegments < 0) throw new Error(`UnsortedSegmentSum: numSegments must be a non-negative integer, got ${numSegments}`);
  return [numSegments, ...x.shape.slice(idsRank)];
}

function segmentSumKernel(backendName: PatchedBackend): tf.KernelConfig {
  return {
    kernelName: 'UnsortedSegmentSum',
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, segmentIds } = inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
      const numSegments = (attrs as unknown as { numSegments: number }).numSegments;
      const outShape = segmentSumShape(x, segmentIds, numSegments);
      if (x.dtype !== 'float32' && x.dtype !== 'int32') throw new Error(`UnsortedSegmentSum: dtype ${x.dtype} is not supported`);
      const be = backend as any;
      // Read inputs before allocating the output: a wasm allocation may grow (and detach) the heap.
      const xv = be.readSync(x.dataId) as ArrayLike<number>;
      const ids = be.readSync(segmentIds.dataId) as ArrayLike<number>;
      if (backendName === 'wasm') {
        const out = be.makeOutput(outShape, x.dtype) as tf.TensorInfo;
        const ov = be.typedArrayFromHeap(out) as Float32Array | Int32Array;
        ov.fill(0);
        segmentSumValues(xv, ids, numSegments, ov);
        return out;
      }
      const size = outShape.reduce((a, b) => a * b, 1);
      const ov = x.dtype === 'int32' ? new Int32Array(size) : new Float32Array(size);
      segmentSumValues(xv, ids, numSegments, ov);
      return be.makeTensorInfo(outShape, x.dtype, ov) as tf.TensorInfo;
    },
  };
}

// ---- Conv2DBackpropFilter: dW[kh, kw] = patch(kh, kw)^T . dy, one matMul per kernel offset.
// Never builds the full [N, KH*KW*Cin] im2col matrix (1.4 GB at decoder shapes), only one [N, Cin] patch at a time.

// The attributes tfjs passes to both conv2d gradient kernels.
interface ConvGradAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

interface ConvFilterAttrs extends ConvGradAttrs {
  filterShape: [number, number, number, number];
}

/**
 * The conv2d filter gradient as KH*KW matMuls over shifted (strided) patches of the padded input.
 * Uses tf ops: call it inside a kernel or a tidy. Same result as tf's Conv2DBackpropFilter.
 * @param x input [B, H, W, Cin] (NHWC) or [B, Cin, H, W] (NCHW)
 * @param dy output gradient [B, OH, OW, Cout] (or NCHW)
 * @returns dW [KH, KW, Cin, Cout]
 * @example const dW = conv2dFilterGradIm2col(x, dy, { strides: 1, pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, 4, 8] });
 */
export function conv2dFilterGradIm2col(x: tf.Tensor4D, dy: tf.Tensor4D, attrs: ConvFilterAttrs): tf.Tensor4D {
  return tf.tidy(() => {
    const nchw = attrs.dataFormat === 'NCHW';
    const xh = nchw ? tf.transpose(x, [0, 2, 3, 1]) : x; // [B, H, W, Cin]
    const dyh = nchw ? tf.transpose(dy, [0, 2, 3, 1]) : dy; // [B, OH, OW, Cout]
    const [KH, KW, Cin, Cout] = attrs.filterShape;
    const info = tf.backend_util.computeConv2DInfo(
      xh.shape as [number, number, number, number], attrs.filterShape, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast');
    const [B] = xh.shape;
    const { outHeight: OH, outWidth: OW, strideHeight: sh, strideWidth: sw, padInfo } = info;
    if (dyh.shape[1] !== OH || dyh.shape[2] !== OW || dyh.shape[3] !== Cout || xh.shape[3] !== Cin) {
      throw new Error(`Conv2DBackpropFilter: dy [${dyh.shape}] does not match x [${xh.shape}] and filter [${attrs.filterShape}]`);
    }
    const xp = tf.pad(xh, [[0, 0], [Math.max(0, padInfo.top), Math.max(0, padInfo.bottom)], [Math.max(0, padInfo.left), Math.max(0, padInfo.right)], [0, 0]]); // [B, Hp, Wp, Cin]
    const N = B * OH * OW;
    const dyT = tf.transpose(tf.reshape(dyh, [N, Cout])); // [Cout, N]
    const parts: tf.Tensor2D[] = [];
    for (let kh = 0; kh < KH; kh++) {
      for (let kw = 0; kw < KW; kw++) {
        const patch = sh === 1 && sw === 1
          ? tf.slice(xp, [0, kh, kw, 0], [B, OH, OW, Cin])
          : tf.stridedSlice(xp, [0, kh, kw, 0], [B, kh + (OH - 1) * sh + 1, kw + (OW - 1) * sw + 1, Cin], [1, sh, sw, 1]);
        parts.push(tf.matMul(dyT, tf.reshape(patch, [N, Cin]))); // [Cout, Cin]
      }
    }
    const stacked = tf.stack(parts); // [KH*KW, Cout, Cin]
    return tf.reshape(tf.transpose(stacked, [0, 2, 1]), [KH, KW, Cin, Cout]) as tf.Tensor4D;
  });
}

function convFilterGradKernel(backendName: PatchedBackend): tf.KernelConfig {
  return {
    kernelName: 'Conv2DBackpropFilter',
    backendName,
    kernelFunc: ({ inputs, attrs }) => {
      const { x, dy } = inputs as { x: tf.Tensor4D; dy: tf.Tensor4D };
      if (!(x instanceof tf.Tensor) || !(dy instanceof tf.Tensor)) throw new Error('Conv2DBackpropFilter: expected tensors from the engine');
      // The engine keeps a returned Tensor as the kernel's output (as tfjs-node's kernels do); ops run
      // inside a kernel are never recorded on the gradient tape.
      return conv2dFilterGradIm2col(x, dy, attrs as unknown as ConvFilterAttrs) as unknown as tf.TensorInfo;
    },
  };
}

// ---- Conv2DBackpropInput at stride 1: dx = conv2d(dy, W flipped in (KH, KW) with Cin/Cout swapped), padded
// by (K-1-pad) on each side, so it runs on the backend's fast forward conv. Other cases go to the stock kernel.

interface ConvInputAttrs extends ConvGradAttrs {
  inputShape: [number, number, number, number];
}

/**
 * The conv2d input gradient at stride 1 (NHWC) as a forward conv with the flipped kernel; null where that
 * route does not apply (stride > 1, NCHW, padding wider than the kernel), so the caller uses the stock kernel.
 * @param dy output gradient [B, OH, OW, Cout]; filter [KH, KW, Cin, Cout]
 * @returns dx [B, H, W, Cin], or null
 * @example const dx = conv2dInputGradFlipped(dy, w, { strides: 1, pad: 'same', dataFormat: 'NHWC', inputShape: [2, 8, 8, 3] });
 */
export function conv2dInputGradFlipped(dy: tf.Tensor4D, filter: tf.Tensor4D, attrs: ConvInputAttrs): tf.Tensor4D | null {
  const [sh, sw] = typeof attrs.strides === 'number' ? [attrs.strides, attrs.strides] : attrs.strides;
  if (sh !== 1 || sw !== 1 || attrs.dataFormat === 'NCHW') return null;
  const [KH, KW] = filter.shape;
  const info = tf.backend_util.computeConv2DInfo(attrs.inputShape, filter.shape, 1, 1, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast');
  const { top, bottom, left, right } = info.padInfo;
  const pads = [KH - 1 - top, KH - 1 - bottom, KW - 1 - left, KW - 1 - right];
  if (pads.some((p) => p < 0)) return null;
  if (dy.shape[1] !== info.outHeight || dy.shape[2] !== info.outWidth) {
    throw new Error(`Conv2DBackpropInput: dy [${dy.shape}] does not match input [${attrs.inputShape}] and filter [${filter.shape}]`);
  }
  return tf.tidy(() => {
    const flipped = tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D; // [KH, KW, Cout, Cin]
    return tf.conv2d(dy, flipped, 1, [[0, 0], [pads[0]!, pads[1]!], [pads[2]!, pads[3]!], [0, 0]]); // [B, H, W, Cin]
  });
}

function convInputGradKernel(original: tf.KernelConfig): tf.KernelConfig {
  return {
    ...original,
    kernelFunc: (args) => {
      const { dy, filter } = args.inputs as { dy: tf.Tensor4D; filter: tf.Tensor4D };
      if (!(dy instanceof tf.Tensor) || !(filter instanceof tf.Tensor)) return original.kernelFunc(args);
      const dx = conv2dInputGradFlipped(dy, filter, args.attrs as unknown as ConvInputAttrs);
      return dx ? (dx as unknown as tf.TensorInfo) : original.kernelFunc(args);
    },
  };
}

// ---- BatchMatMul on wasm: transposeA/B become an explicit Transpose kernel, then the stock matMul without flags.

function explicitTransposeMatMulKernel(original: tf.KernelConfig): tf.KernelConfig {
  const kernels = (name: string): tf.KernelConfig => {
    const k = tf.getKernel(name, original.backendName);
    if (!k) throw new Error(`BatchMatMul: kernel ${name} is not registered for ${original.backendName}`);
    return k;
  };
  return {
    ...original,
    kernelFunc: (args) => {
      const { inputs, backend, attrs } = args;
      const { transposeA, transposeB } = attrs as unknown as { transposeA: boolean; transposeB: boolean };
      if (!transposeA && !transposeB) return original.kernelFunc(args);
      const be = backend as any;
      const temps: tf.TensorInfo[] = [];
      const swapLast = (t: tf.TensorInfo): tf.TensorInfo => {
        const r = t.shape.length;
        const perm = [...Array(r - 2).keys(), r - 1, r - 2];
        const out = kernels('Transpose').kernelFunc({ inputs: { x: t }, backend, attrs: { perm } }) as tf.TensorInfo;
        temps.push(out);
        return out;
      };
      const { a, b } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
      try {
        return original.kernelFunc({
          inputs: { a: transposeA ? swapLast(a) : a, b: transposeB ? swapLast(b) : b },
          backend,
          attrs: { ...attrs, transposeA: false, transposeB: false },
        });
      } finally {
        for (const t of temps) be.disposeData(t.dataId);
      }
    },
  };
}

/**
 * Registers the replacement kernels for a backend (idempotent; safe before or after tf.setBackend).
 * The native 'tensorflow' backend is never touched.
 * @returns the kernel names now replaced on that backend, for the run manifest.
 * @example installRuntimeKernels('wasm'); // ['UnsortedSegmentSum', 'Conv2DBackpropFilter', 'BatchMatMul', 'Conv2DBackpropInput']
 */
export function installRuntimeKernels(backendName: PatchedBackend, cfg: RuntimeKernelsConfig = DEFAULT_RUNTIME_KERNELS_CONFIG[backendName]): string[] {
  if (backendName !== 'wasm' && backendName !== 'cpu') throw new Error(`installRuntimeKernels: backend must be wasm or cpu, got "${backendName}"`);
  validateRuntimeKernelsConfig(cfg);
  if (cfg.segmentSum) replaceKernel(segmentSumKernel(backendName));
  if (cfg.convFilterGrad) replaceKernel(convFilterGradKernel(backendName));
  if (cfg.matMulExplicitTranspose) {
    const original = saved.get(key('BatchMatMul', backendName)) ?? tf.getKernel('BatchMatMul', backendName);
    if (!original) throw new Error(`installRuntimeKernels: ${backendName} has no BatchMatMul kernel to wrap (is its backend package loaded?)`);
    replaceKernel(explicitTransposeMatMulKernel(original));
  }
  if (cfg.convInputGrad) {
    const original = saved.get(key('Conv2DBackpropInput', backendName)) ?? tf.getKernel('Conv2DBackpropInput', backendName);
    if (!original) throw new Error(`installRuntimeKernels: ${backendName} has no Conv2DBackpropInput kernel to wrap (is its backend package loaded?)`);
    replaceKernel(convInputGradKernel(original));
  }
  return installedRuntimeKernels(backendName);
}

/** Kernel names currently replaced on a backend. */
export function installedRuntimeKernels(backendName: string): string[] {
  return [...saved.keys()].filter((k) => k.endsWith(`/${backendName}`)).map((k) => k.split('/')[0]!);
}

/** Restores the backend's own kernels (used by tests to compare against stock behaviour). */
export function uninstallRuntimeKernels(backendName: PatchedBackend): void {
  for (const [k, prev] of [...saved.entries()]) {
    const [kernelName, be] = k.split('/') as [string, string];
    if (be !== backendName) continue;
    tf.unregisterKernel(kernelName, be);
    if (prev) tf.registerKernel(prev);
    saved.delete(k);
  }
}
