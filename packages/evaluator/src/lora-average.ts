// The "averaged LoRA" baseline: the element-wise mean of several adapters' lora_A and lora_B tensors
// (a LoRA "model soup"; the paper reports no such baseline). Not a merge into the base weights, and
// not the mean of the delta-W products B A: the factors are averaged separately, as their tensors are stored.
//
// Dimensions: r = LoRA rank, in / out = the wrapped Linear's features. lora_A [r, in], lora_B [out, r].
import type { LoraAdapter } from '@dnd/core';

/**
 * Averages adapters that share a config (r, alpha, target modules, rsLoRA, base) and tensor names/shapes.
 * Returns a new adapter with the first adapter's config; throws naming the adapter and tensor that differ.
 * @example const avg = averageLoraAdapters([a, b]); // avg.tensors.get(n).data[i] = (a[i] + b[i]) / 2
 */
export function averageLoraAdapters(adapters: readonly LoraAdapter[], names?: readonly string[]): LoraAdapter {
  if (adapters.length === 0) throw new Error('averageLoraAdapters: no adapters to average');
  const label = (i: number) => (names?.[i] ? `"${names[i]}"` : `#${i}`);
  const first = adapters[0]!;
  const c0 = first.config;
  adapters.forEach((a, i) => {
    const c = a.config;
    const same = c.r === c0.r && c.loraAlpha === c0.loraAlpha && c.useRslora === c0.useRslora
      && [...c.targetModules].sort().join(',') === [...c0.targetModules].sort().join(',');
    if (!same) {
      throw new Error(`averageLoraAdapters: adapter ${label(i)} has config r=${c.r} alpha=${c.loraAlpha} rslora=${c.useRslora} targets=[${c.targetModules}], `
        + `but ${label(0)} has r=${c0.r} alpha=${c0.loraAlpha} rslora=${c0.useRslora} targets=[${c0.targetModules}]`);
    }
    if (a.tensors.size !== first.tensors.size) throw new Error(`averageLoraAdapters: adapter ${label(i)} has ${a.tensors.size} tensors, ${label(0)} has ${first.tensors.size}`);
  });
  const tensors = new Map<string, { data: Float32Array; shape: number[] }>();
  for (const [name, t0] of first.tensors) {
    const sum = new Float64Array(t0.data.length);
    adapters.forEach((a, i) => {
      const t = a.tensors.get(name);
      if (!t) throw new Error(`averageLoraAdapters: adapter ${label(i)} lacks tensor "${name}"`);
      if (t.shape.length !== t0.shape.length || t.shape.some((d, j) => d !== t0.shape[j]) || t.data.length !== t0.data.length) {
        throw new Error(`averageLoraAdapters: tensor "${name}" is [${t.shape}] in adapter ${label(i)} but [${t0.shape}] in ${label(0)}`);
      }
      for (let j = 0; j < sum.length; j++) sum[j] = sum[j]! + t.data[j]!;
    });
    const out = new Float32Array(sum.length);
    for (let j = 0; j < sum.length; j++) out[j] = sum[j]! / adapters.length;
    tensors.set(name, { data: out, shape: [...t0.shape] });
  }
  return { config: { ...c0, targetModules: [...c0.targetModules] }, tensors };
}
