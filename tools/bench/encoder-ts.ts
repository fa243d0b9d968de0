// @dnd/encoder side of `pnpm bench encoder`: all-MiniLM-L6-v2 in TF.js (tfjs-node backend), token-level
// condition at L=128 in batches of 64, on the prompt list encoder_ref.py wrote. Not a test.
// Usage: node tools/bench/run-ts.cjs tools/bench/encoder-ts.ts MODEL_DIR PROMPTS_JSON OUT_JSON [REPS]
import * as fs from 'fs';
// Benchmarks sit outside the package graph (tools has no module-boundary constraint yet; see report to lead).
import { initBackend } from '@dnd/core';
import { loadBertEncoder } from '@dnd/encoder';

async function main(): Promise<void> {
  const [modelDir, promptsFile, outFile, repsArg] = process.argv.slice(2);
  if (!modelDir || !promptsFile || !outFile) throw new Error('usage: encoder-ts.ts MODEL_DIR PROMPTS_JSON OUT_JSON [REPS]');
  const reps = Number(repsArg ?? 3);
  const L = 128;
  const B = 64;
  const backend = await initBackend();
  const enc = await loadBertEncoder(modelDir, { batchSize: B });
  const prompts = JSON.parse(fs.readFileSync(promptsFile, 'utf8')) as string[];
  if (enc.tokenizer.encodeBatch(prompts, L).truncatedIndices.length !== prompts.length) throw new Error(`every benchmark prompt must fill L=${L} tokens`);
  await enc.encode(prompts.slice(0, B), { maxLength: L }); // warm-up
  const times: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < prompts.length; i += B) await enc.encode(prompts.slice(i, i + B), { maxLength: L });
    times.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  const t1 = process.hrtime.bigint();
  for (let i = 0; i < prompts.length; i += B) enc.tokenizer.encodeBatch(prompts.slice(i, i + B), L);
  const tokenizeSeconds = Number(process.hrtime.bigint() - t1) / 1e9;
  enc.dispose();
  const best = Math.min(...times);
  fs.writeFileSync(outFile, JSON.stringify({ impl: '@dnd/encoder', backend: backend.name, prompts: prompts.length, seconds: times, tokenizeSeconds, promptsPerSecond: prompts.length / best }));
  console.log(`@dnd/encoder (${backend.name}): ${(prompts.length / best).toFixed(1)} prompts/s (tokenization ${(tokenizeSeconds * 1000).toFixed(0)} ms of ${(best * 1000).toFixed(0)} ms)`);
}

main().catch((e) => { console.error(e); process.exit(1); });
