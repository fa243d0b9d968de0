// Does generation slow the scoring that follows it in the same process (as the evaluate step runs the paper protocol's
// generation before the knowledge protocol's scoring)? Scores the first 24 ARC-Easy test items under 12 adapters (the
// bare base + 11 seeded LoRAs, r 8 on q,v), runs generateMulti of 16 instruction prompts x 12 adapters (10 new tokens),
// scores again, twice over; prints ms per item-adapter pair and RSS. Not a test.
// Usage: DND_SHARED_DIR=... node tools/bench/run-ts.cjs tools/bench/score-after-gen-ts.ts MODEL_DIR
import * as path from 'path';
import { DEFAULT_LORA_ADAPTER_CONFIG, initBackend, mulberry32, type LoraAdapter } from '@dnd/core';
import { readInstructionSet } from '@dnd/evaluator';
import { loadCausalLM, type ScoreRequest } from '@dnd/lm';
async function main(): Promise<void> {
  const [modelDir] = process.argv.slice(2) as [string];
  await initBackend();
  const items = readInstructionSet(path.join(process.env.DND_SHARED_DIR!, 'data', 'commonsense', 'ARC-Easy', 'test.json'), 'ARC-Easy', 'test');
  const lm = await loadCausalLM(modelDir);
  const cfg = { ...DEFAULT_LORA_ADAPTER_CONFIG, r: 8, loraAlpha: 16, targetModules: ['q_proj', 'v_proj'], baseModelNameOrPath: modelDir };
  const adapters: (LoraAdapter | null)[] = [null];
  for (let k = 1; k < 12; k++) {
    lm.attachLora(cfg, 100 + k); const a = lm.getLoraWeights(); lm.detachLora();
    const rand = mulberry32(200 + k);
    for (const [n, t] of a.tensors) if (n.includes('lora_B')) for (let i = 0; i < t.data.length; i++) (t.data as Float32Array)[i] = (rand() * 2 - 1) * 0.02;
    adapters.push(a);
  }
  const reqs = items.slice(0, 24).flatMap((it) => it.choices.map((c): ScoreRequest => ({ context: it.context, continuation: ` ${c}` })));
  const score = async (label: string) => { const t0 = process.hrtime.bigint(); await lm.scoreContinuationsMulti(adapters, reqs, { batchSize: 256 }); const s = Number(process.hrtime.bigint() - t0) / 1e9; console.log(`${label}: ${s.toFixed(1)} s, ${(s * 1000 / (24 * 12)).toFixed(1)} ms/pair, rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MB`); };
  await score('warm-up');
  for (let r = 0; r < 2; r++) {
    await score(`round ${r + 1} before generation`);
    const t0 = Date.now();
    await lm.generateMulti(adapters, items.slice(100, 116).map((i) => i.prompt), { maxNewTokens: 10, greedy: true, batchSize: 8 });
    console.log(`  generateMulti 16 prompts x 12 adapters: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    await score(`round ${r + 1} after generation`);
  }
}
main().catch((e) => { console.error(e); process.exit(1); });
