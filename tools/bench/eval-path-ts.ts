// Knowledge-protocol scoring of the first N_ITEMS test items of SET under 12 adapters (the bare base + 11 seeded LoRAs,
// r 8 on q,v as the presets' zoo), timed two ways in alternating rounds in one process: direct @dnd/lm
// scoreContinuationsMulti calls in the evaluator's call shape (256 requests, whole items), and the evaluator's own path
// (LoglikScorer.scoreMany over memoizedEvalModel(hostCausalLM(lm)), a fresh call-memo folder per round). Tells whether
// the evaluator's wrappers cost anything over the model calls. Not a test.
// Usage: DND_SHARED_DIR=... node tools/bench/run-ts.cjs tools/bench/eval-path-ts.ts MODEL_DIR SET N_ITEMS ROUNDS
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { initBackend } from '@dnd/core';
import { LoglikScorer, memoizedEvalModel, hostCausalLM } from '@dnd/evaluator';
import { loadCausalLM, type ScoreRequest } from '@dnd/lm';
import { sharedTestItems, zooLikeAdapters } from './seeded-adapters';
const ADAPTERS = 12;
async function main(): Promise<void> {
  const [modelDir, set, nItems, rounds] = process.argv.slice(2) as [string, string, string, string];
  await initBackend();
  const items = sharedTestItems(set).slice(0, Number(nItems));
  const lm = await loadCausalLM(modelDir);
  const adapters = zooLikeAdapters(lm, modelDir, ADAPTERS);
  const perItem = items.map((it) => it.choices.map((c): ScoreRequest => ({ context: it.context, continuation: ` ${c}` })));
  const direct = async (): Promise<void> => {
    let chunk: ScoreRequest[] = [];
    const flush = async () => { await lm.scoreContinuationsMulti(adapters, chunk, { batchSize: 256 }); chunk = []; };
    for (const rq of perItem) { if (chunk.length > 0 && chunk.length + rq.length > 256) await flush(); chunk.push(...rq); }
    if (chunk.length) await flush();
  };
  const viaEval = async (): Promise<void> => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'memo-'));
    let calls = 0; let pairs = 0; // the evaluate step's callbacks do this much work: count
    const m = memoizedEvalModel(hostCausalLM(lm, path.basename(modelDir)), dir, () => { calls += 1; });
    await new LoglikScorer(256).scoreMany(m, adapters, items, (n) => { pairs = n; });
    if (pairs !== items.length * ADAPTERS) throw new Error(`evaluator path reported ${pairs} pairs of ${items.length * ADAPTERS} (${calls} calls)`);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const settings: Array<[string, () => Promise<void>]> = [['direct', direct], ['evaluator', viaEval]];
  for (let r = 0; r < Number(rounds); r++) {
    for (const [name, fn] of r % 2 ? [...settings].reverse() : settings) {
      const t0 = process.hrtime.bigint(); const c0 = process.cpuUsage();
      await fn();
      const sec = Number(process.hrtime.bigint() - t0) / 1e9; const cpu = process.cpuUsage(c0);
      console.log(`round ${r + 1} ${name}: ${sec.toFixed(1)} s, ${(sec * 1000 / (items.length * ADAPTERS)).toFixed(1)} ms/pair, cpu ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s`);
    }
  }
}
main().catch((e) => { console.error(e); process.exit(1); });
