// Kernel census of one greedy generate call: 8 instruction prompts of an `eval-ts.ts prepare` folder (tools/bench),
// adapter-0 attached (unmerged), MAX_NEW new tokens, under tf.profile; prints wall time, kernel count and the kernels
// by total time. Run with MAX_NEW 10 and 1: the difference is nine decode steps. Not a test.
// Usage: node tools/bench/run-ts.cjs packages/lm/scripts/profile-generate.ts MODEL_DIR WORK_DIR MAX_NEW
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initBackend, readPeftAdapter } from '@dnd/core';
import { loadCausalLM } from '../src';

async function main(): Promise<void> {
  const [modelDir, work, maxNew] = process.argv.slice(2) as [string, string, string];
  if (!maxNew) throw new Error('usage: profile-generate.ts MODEL_DIR WORK_DIR MAX_NEW');
  await initBackend();
  const inp = JSON.parse(fs.readFileSync(path.join(work, 'inputs.json'), 'utf8')) as { gen: string[]; adapters: string[] };
  const lm = await loadCausalLM(modelDir);
  lm.setLoraWeights(readPeftAdapter(inp.adapters[0]!));
  const prompts = inp.gen.slice(0, 8);
  await lm.generate(prompts, { maxNewTokens: 2, batchSize: 8 }); // warm-up, builds the inference copies
  const t0 = Date.now();
  const info = await tf.profile(async () => { await lm.generate(prompts, { maxNewTokens: Number(maxNew), greedy: true, batchSize: 8 }); return tf.scalar(0); });
  const wall = Date.now() - t0;
  const by = new Map<string, { ms: number; n: number }>();
  let total = 0;
  for (const k of info.kernels) {
    const ms = Number(k.kernelTimeMs);
    total += ms;
    const e = by.get(k.name) ?? { ms: 0, n: 0 };
    e.ms += ms; e.n += 1;
    by.set(k.name, e);
  }
  console.log(`${prompts.length} prompts x ${maxNew} new tokens: wall ${wall} ms, ${info.kernels.length} kernels, kernel time ${total.toFixed(0)} ms`);
  for (const [name, e] of [...by].sort((a, b) => b[1].ms - a[1].ms)) console.log(`${name.padEnd(24)} ${e.ms.toFixed(0).padStart(7)} ms ${String(e.n).padStart(7)} calls`);
  lm.dispose();
}
main().catch((e) => { console.error(e); process.exit(1); });
