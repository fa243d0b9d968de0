// Knowledge-protocol scoring under 12 adapters (the bare base + 11 seeded LoRAs, r 8 on q,v as the
// commonsense-smollm2 zoo) on real test items of a shipped set, lm-eval's multiple_choice requests, in the
// evaluator's call shape (whole items per call, adapters split evenly into passes). Each setting is
// `per x batchSize x fused x maxTokensPerPass` (fused 0 = one matmul per projection; maxTokensPerPass 0 = no
// token cap), timed in alternating rounds in one process; per-request log-likelihoods are compared with the
// first setting's. Not a test.
// Usage: DND_SHARED_DIR=... node tools/bench/run-ts.cjs tools/bench/eval-passes-ts.ts MODEL_DIR SET N_ITEMS ROUNDS SETTING...
// e.g.   ... smollm2-135m-instruct ARC-Easy 40 2 6x32x0x0 16x256x1x1024
import { initBackend } from '@dnd/core';
import { loadCausalLM, type ScoreRequest } from '@dnd/lm';
import { sharedTestItems, zooLikeAdapters } from './seeded-adapters';

const ADAPTERS = 12;

async function main(): Promise<void> {
  const [modelDir, set, nItems, rounds, ...settings] = process.argv.slice(2) as [string, string, string, string, ...string[]];
  if (!settings.length) throw new Error('usage: eval-passes-ts.ts MODEL_DIR SET N_ITEMS ROUNDS SETTING...');
  await initBackend();
  const items = sharedTestItems(set).slice(0, Number(nItems));
  const lm = await loadCausalLM(modelDir);
  const adapters = zooLikeAdapters(lm, modelDir, ADAPTERS);
  const perItem = items.map((it) => it.choices.map((c): ScoreRequest => ({ context: it.context, continuation: ` ${c}` })));
  const NR = perItem.reduce((a, r) => a + r.length, 0);
  const times = new Map<string, number[]>();
  let ref: Float64Array | null = null; let maxDiff = 0;
  for (let round = 0; round < Number(rounds); round++) {
    for (const s of round % 2 ? [...settings].reverse() : settings) {
      const [per, bs, fz, mt] = s.split('x').map(Number) as [number, number, number, number];
      lm.stackedProjections = fz !== 0;
      lm.forwardLogits([[0]]); // builds (or frees) the stacked copies before the clock starts
      const out = new Float64Array(ADAPTERS * NR);
      const t0 = process.hrtime.bigint();
      const passes = Math.ceil(ADAPTERS / per); const size = Math.ceil(ADAPTERS / passes);
      for (let s0 = 0; s0 < ADAPTERS; s0 += size) {
        const group = adapters.slice(s0, s0 + size);
        let chunk: ScoreRequest[] = []; let base = 0;
        const flush = async (): Promise<void> => {
          const r = await lm.scoreContinuationsMulti(group, chunk, { batchSize: bs, maxTokensPerPass: mt || Number.MAX_SAFE_INTEGER });
          r.forEach((x, k) => x.forEach((y, i) => { out[(s0 + k) * NR + base + i] = y.logprob; }));
          base += chunk.length; chunk = [];
        };
        for (const rq of perItem) {
          if (chunk.length > 0 && chunk.length + rq.length > bs) await flush();
          chunk.push(...rq);
        }
        if (chunk.length) await flush();
      }
      const sec = Number(process.hrtime.bigint() - t0) / 1e9;
      times.set(s, [...(times.get(s) ?? []), sec]);
      if (ref) for (let i = 0; i < ref.length; i++) maxDiff = Math.max(maxDiff, Math.abs(ref[i]! - out[i]!)); else ref = out;
      console.log(`round ${round + 1} ${s}: ${sec.toFixed(1)} s, ${(sec * 1000 / (items.length * ADAPTERS)).toFixed(1)} ms per item-adapter pair`);
    }
  }
  const median = (xs: number[]): number => { const o = [...xs].sort((a, b) => a - b); return o.length % 2 ? o[(o.length - 1) / 2]! : (o[o.length / 2 - 1]! + o[o.length / 2]!) / 2; };
  const first = median(times.get(settings[0]!)!);
  for (const s of settings) {
    const m = median(times.get(s)!);
    console.log(`${set} ${s}: median ${(m * 1000 / (items.length * ADAPTERS)).toFixed(1)} ms per pair, ${(first / m).toFixed(2)}x the first setting`);
  }
  console.log(`max |log-likelihood - first setting's| over ${ADAPTERS} x ${NR} requests: ${maxDiff.toExponential(1)}`);
  lm.dispose();
}
main().catch((e) => { console.error(e); process.exit(1); });
