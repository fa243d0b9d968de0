// What the multi-adapter scoring benchmarks share: 12 adapters shaped like the presets' zoo (the bare base and 11
// seeded LoRAs, r 8 on q,v, B nonzero so that every adapter changes the scores) and the shipped test items of a
// common-sense set. Not a benchmark itself.
import * as path from 'path';
import { DEFAULT_LORA_ADAPTER_CONFIG, mulberry32, type LoraAdapter } from '@dnd/core';
import { readInstructionSet, type EvalItem } from '@dnd/evaluator';
import type { CausalLM } from '@dnd/lm';

/** The bare base (null) and count - 1 seeded LoRAs, r 8 on q_proj and v_proj, made with `lm` (left detached). */
export function zooLikeAdapters(lm: CausalLM, modelDir: string, count = 12): (LoraAdapter | null)[] {
  const cfg = { ...DEFAULT_LORA_ADAPTER_CONFIG, r: 8, loraAlpha: 16, targetModules: ['q_proj', 'v_proj'], baseModelNameOrPath: modelDir };
  const adapters: (LoraAdapter | null)[] = [null];
  for (let k = 1; k < count; k++) {
    lm.attachLora(cfg, 100 + k); const a = lm.getLoraWeights(); lm.detachLora();
    const rand = mulberry32(200 + k); // B != 0 so that every adapter changes the scores
    for (const [n, t] of a.tensors) if (n.includes('lora_B')) for (let i = 0; i < t.data.length; i++) (t.data as Float32Array)[i] = (rand() * 2 - 1) * 0.02;
    adapters.push(a);
  }
  return adapters;
}

/** The test items of shipped set `set` (DND_SHARED_DIR, default ../shared beside the repository). */
export function sharedTestItems(set: string): EvalItem[] {
  const shared = process.env.DND_SHARED_DIR ?? path.join(__dirname, '..', '..', '..', 'shared');
  return readInstructionSet(path.join(shared, 'data', 'commonsense', set, 'test.json'), set, 'test');
}
