// Does generation slow the scoring that follows it in the same process (as the evaluate step runs the paper protocol's
// generation before the knowledge protocol's scoring)? Scores the first 24 ARC-Easy test items under 12 adapters (the
// bare base + 11 seeded LoRAs, r 8 on q,v), runs generateMulti of 16 instruction prompts x 12 adapters (10 new tokens),
// scores again, twice over; prints ms per item-adapter pair and RSS. Not a test.
// Usage: DND_SHARED_DIR=... node tools/bench/run-ts.cjs tools/bench/score-after-gen-ts.ts MODEL_DIR
import { initBackend } from '@dnd/core';
import { loadCausalLM, type ScoreRequest } from '@dnd/lm';
import { sharedTestItems, zooLikeAdapters } from './seeded-adapters';
async function main(): Promise<void> {
  const [modelDir] = process.argv.slice(2) as [string];
  await initBackend();
  const items = sharedTestItems('ARC-Easy');
  const lm = await loadCausalLM(modelDir);
  const adapters = zooLikeAdapters(lm, modelDir);
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
