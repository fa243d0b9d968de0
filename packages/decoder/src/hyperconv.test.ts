// Tests for the decoder config and the hyper-convolutional forward pass: the paper's parameter count
// (shapes only), output shapes, parity with the PyTorch reference (test/fixtures/parity.safetensors,
// made by test/make-fixtures.py) within 1e-4, state-dict round trip, clear errors, no leaked tensors.
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@dnd/core';
import { DECODER_PRESETS, decoderParamCount, interpolatedChain, validateDecoderConfig } from './decoder-config';
import { HyperConvDecoder } from './hyperconv';
import { loadParityFixture, maxAbsDiff, prefixed } from '../test/parity-fixture';

beforeAll(async () => {
  await initBackend();
});

describe('decoder config', () => {
  it("counts the paper's common-sense chain at ~1.113B parameters without allocating it", () => {
    const n = decoderParamCount(DECODER_PRESETS['paper-common-sense']!);
    expect(n / 1e9).toBeCloseTo(1.113, 3);
    expect(2048 * 4296 * 81 + 4296).toBeLessThan(n); // the last Conv_L alone is ~713M
  });

  it('validates the chain and names the bad field', () => {
    expect(() => validateDecoderConfig({ features: [[4, 8, 16]], kernelSize: 3 })).toThrow('features must list at least 2');
    expect(() => validateDecoderConfig({ features: [[4, 8, 16], [4, 0, 2]], kernelSize: 3 })).toThrow('features[1] must be [N, H, W]');
    expect(() => validateDecoderConfig({ features: [[4, 8, 16], [4, 2, 2]], kernelSize: 0 })).toThrow('kernelSize');
  });

  it('interpolates a chain from the condition to the token grid', () => {
    expect(interpolatedChain([16, 64, 384], [1260, 10, 66], 3)).toEqual([[16, 64, 384], [69, 34, 214], [294, 19, 119], [1260, 10, 66]]);
  });
});

describe('HyperConvDecoder', () => {
  it('maps [B, N, L, C] to [B, Nw, r+2, w+2] and frees its tensors', () => {
    const before = tf.memory().numTensors;
    const dec = HyperConvDecoder.create(DECODER_PRESETS['cpu-tiny']!, 1);
    expect(dec.numParams).toBe(decoderParamCount(DECODER_PRESETS['cpu-tiny']!));
    const x = { data: new Float32Array(2 * 4 * 8 * 16).map((_, i) => Math.sin(i)), shape: [2, 4, 8, 16] };
    const y = dec.predict(x);
    expect(y.shape).toEqual([2, 12, 4, 6]);
    expect(y.data.every(Number.isFinite)).toBe(true);
    expect(dec.predict({ data: x.data.subarray(0, 512), shape: [4, 8, 16] }).shape).toEqual([12, 4, 6]);
    expect(() => dec.predict({ data: new Float32Array(2 * 4 * 8 * 15), shape: [2, 4, 8, 15] })).toThrow('condition is [2,4,8,15] but the chain starts at [B, 4,8,16]');
    dec.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('is deterministic for a seed', () => {
    const a = HyperConvDecoder.create(DECODER_PRESETS['cpu-tiny']!, 7);
    const b = HyperConvDecoder.create(DECODER_PRESETS['cpu-tiny']!, 7);
    const name = 'model.decoder.module_list.1.linear2.weight';
    expect(Array.from(a.stateDict().get(name)!.data)).toEqual(Array.from(b.stateDict().get(name)!.data));
    a.dispose();
    b.dispose();
  });

  it('matches the PyTorch reference forward within 1e-4 (residual layer, LayerNorm affine, both branches)', () => {
    const before = tf.memory().numTensors;
    const { config, t } = loadParityFixture();
    const dec = HyperConvDecoder.fromStateDict(config, prefixed(t, 'init.'));
    // the state dict round-trips exactly through the internal (HWIO) layout
    for (const [k, v] of dec.stateDict()) expect(maxAbsDiff(v.data, t.get(`init.${k}`)!.data)).toBe(0);
    const y = dec.predict(t.get('x')!);
    expect(y.shape).toEqual(t.get('y')!.shape);
    expect(maxAbsDiff(y.data, t.get('y')!.data)).toBeLessThan(1e-4);
    dec.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('says which parameter is missing or mis-shaped in a state dict', () => {
    const { config, t } = loadParityFixture();
    const sd = prefixed(t, 'init.');
    sd.delete('model.decoder.module_list.2.linear1.conv2w.weight');
    expect(() => HyperConvDecoder.fromStateDict(config, sd)).toThrow('"model.decoder.module_list.2.linear1.conv2w.weight" is missing');
    const sd2 = prefixed(t, 'init.');
    sd2.set('model.decoder.module_list.0.linear1.bias', { data: new Float32Array(3), shape: [3] });
    expect(() => HyperConvDecoder.fromStateDict(config, sd2)).toThrow('model.decoder.module_list.0.linear1.bias');
  });

  it('differentiates w.r.t. the condition unless told not to (conditionGrad: false), with the same parameter gradients', () => {
    const before = tf.memory().numTensors;
    const dec = HyperConvDecoder.create(DECODER_PRESETS['cpu-tiny']!, 3);
    tf.tidy(() => {
      const x = tf.tensor4d(Float32Array.from({ length: 2 * 4 * 8 * 16 }, (_, i) => Math.sin(i)), [2, 4, 8, 16]);
      const vars = [...dec.variables.values()];
      const run = (conditionGrad: boolean) => {
        const f = (c: tf.Tensor) => tf.sum(tf.square(dec.forward(c as tf.Tensor4D, { conditionGrad })));
        return { dx: tf.grad(f)(x), dv: tf.variableGrads(() => f(x) as tf.Scalar, vars).grads };
      };
      const on = run(true), off = run(false);
      expect(tf.max(tf.abs(on.dx)).dataSync()[0]).toBeGreaterThan(1e-3);
      expect(tf.max(tf.abs(off.dx)).dataSync()[0]).toBe(0);
      for (const v of vars) expect(tf.max(tf.abs(tf.sub(on.dv[v.name]!, off.dv[v.name]!))).dataSync()[0]).toBe(0);
    });
    dec.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
