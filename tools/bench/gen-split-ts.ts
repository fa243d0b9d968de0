// @dnd/lm twin of tools/bench/gen_split_ref.py: SmolLM2-135M-Instruct with adapter-0 of an `eval-ts.ts prepare` folder
// (unmerged), greedy generation of its 16 instruction prompts in batches of 8, with 10 new tokens and with 1 (the
// prefill alone), ROUNDS rounds after a warm-up. Run the two one after the other, alternating, to read a ratio on a
// noisy machine. Not a test.
// Usage: node tools/bench/run-ts.cjs tools/bench/gen-split-ts.ts MODEL_DIR WORK_DIR [ROUNDS]
import * as fs from 'fs';
import * as path from 'path';
import { initBackend, readPeftAdapter } from '@dnd/core';
import { loadCausalLM } from '@dnd/lm';

async function main(): Promise<void> {
  const [modelDir, work, rounds = '2'] = process.argv.slice(2) as [string, string, string?];
  if (!work) throw new Error('usage: gen-split-ts.ts MODEL_DIR WORK_DIR [ROUNDS]');
  await initBackend();
  const inp = JSON.parse(fs.readFileSync(path.join(work, 'inputs.json'), 'utf8')) as { gen: string[]; adapters: string[] };
  const lm = await loadCausalLM(modelDir);
  lm.setLoraWeights(readPeftAdapter(inp.adapters[0]!));
  const opts = { maxNewTokens: 10, greedy: true, batchSize: 8 };
  await lm.generate(inp.gen.slice(0, 8), { ...opts, maxNewTokens: 2 }); // warm-up: builds the inference copies
  const seconds = async (fn: () => Promise<unknown>): Promise<number> => { const t0 = process.hrtime.bigint(); await fn(); return Number(process.hrtime.bigint() - t0) / 1e9; };
  for (let r = 0; r < Number(rounds); r++) {
    for (const n of [10, 1]) {
      const t = await seconds(() => lm.generate(inp.gen, { ...opts, maxNewTokens: n }));
      console.log(`round ${r + 1}: ${inp.gen.length} prompts x ${n} new tokens ${t.toFixed(2)} s`);
    }
  }
  lm.dispose();
}
main().catch((e) => { console.error(e); process.exit(1); });
