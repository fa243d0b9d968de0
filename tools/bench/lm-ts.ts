// @dnd/lm side of `pnpm bench lm`: SmolLM2-135M-Instruct in TF.js (tfjs-node), batch 8 x sequence 128, on the inputs
// lm_ref.py wrote. Times tokenLogprobs (forward + next-token log-probs, logits in chunks) and one LoRA trainer step
// (r 8 / alpha 16, all 7 projections, fwd + bwd + AdamW, loss on the 16 answer tokens). Not a test.
// Usage: node tools/bench/run-ts.cjs tools/bench/lm-ts.ts MODEL_DIR INPUTS_JSON OUT_JSON REPS
import * as fs from 'fs';
import { DEFAULT_LORA_ADAPTER_CONFIG, initBackend } from '@dnd/core';
import { createLoraTrainer, loadCausalLM } from '@dnd/lm';

async function main(): Promise<void> {
  const [dir, inputsFile, outFile, repsArg] = process.argv.slice(2);
  if (!dir || !inputsFile || !outFile) throw new Error('usage: lm-ts.ts MODEL_DIR INPUTS_JSON OUT_JSON REPS');
  const reps = Number(repsArg ?? 3);
  const backend = await initBackend();
  const inp = JSON.parse(fs.readFileSync(inputsFile, 'utf8')) as { ids: number[][]; prompts: string[]; answers: string[] };
  const lm = await loadCausalLM(dir);
  const time = async (fn: () => Promise<unknown>): Promise<number> => { const t0 = process.hrtime.bigint(); await fn(); return Number(process.hrtime.bigint() - t0) / 1e9; };
  await lm.tokenLogprobs(inp.ids); // warm-up
  const forward: number[] = [];
  for (let r = 0; r < reps; r++) forward.push(await time(() => lm.tokenLogprobs(inp.ids)));
  lm.attachLora({ ...DEFAULT_LORA_ADAPTER_CONFIG, r: 8, loraAlpha: 16, baseModelNameOrPath: dir }, 0);
  const tr = createLoraTrainer(lm, { lr: 1e-4, maxGradNorm: 0 });
  const batch = { prompts: inp.prompts, answers: inp.answers };
  const first = await tr.step(batch, 128);
  if (first.tokens !== 8 * 16) throw new Error(`expected 128 answer tokens, got ${first.tokens}`);
  const loraStep: number[] = [];
  for (let r = 0; r < reps; r++) loraStep.push(await time(() => tr.step(batch, 128)));
  tr.dispose(); lm.dispose();
  fs.writeFileSync(outFile, JSON.stringify({ backend, forward, loraStep, maxRssMB: process.resourceUsage().maxRSS / 1024 }));
}

main().catch((e) => { console.error(e); process.exit(1); });
