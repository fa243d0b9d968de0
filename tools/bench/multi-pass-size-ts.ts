// Where `pnpm bench eval`'s 14-adapter batched scoring gains over adapter by adapter: on the prepare folder's multi items
// (lm-eval multiple_choice requests, 32 a call) it times scoreContinuationsMulti over the 14 adapters at four pass
// sizes (batchSize / maxTokensPerPass 16/512, 32/1024, 64/2048, 112/4096), then adapter by adapter (setLoraWeights and
// scoreContinuations timed apart), ROUNDS alternating rounds, and prints the padded token rows each way runs (a pass
// pads its packed rows to its longest). Not a test.
// Usage: node tools/bench/run-ts.cjs tools/bench/multi-pass-size-ts.ts MODEL_DIR WORK_DIR [ROUNDS]
import * as fs from 'fs';
import * as path from 'path';
import { initBackend, readPeftAdapter } from '@dnd/core';
import { loadCausalLM, type ScoreRequest } from '@dnd/lm';

async function main(): Promise<void> {
  const [modelDir, work, rounds = '2'] = process.argv.slice(2) as [string, string, string?];
  if (!work) throw new Error('usage: multi-pass-size-ts.ts MODEL_DIR WORK_DIR [ROUNDS]');
  await initBackend();
  const inp = JSON.parse(fs.readFileSync(path.join(work, 'inputs.json'), 'utf8')) as { ll: { context: string; choices: string[] }[]; adapters: string[]; multi: number };
  const lm = await loadCausalLM(modelDir);
  const adapters = inp.adapters.map((d) => readPeftAdapter(d));
  const items = inp.ll.slice(0, inp.multi);
  const reqs: ScoreRequest[] = items.flatMap((it) => it.choices.map((c) => ({ context: it.context, continuation: ` ${c}` })));
  // Packed row lengths (context once, then every choice's tokens but the last), to count padding.
  const rowLen = items.map((it) => {
    const ctx = lm.tokenizer.encode(it.context).length;
    return ctx + it.choices.reduce((a, c) => a + lm.tokenizer.encode(`${it.context} ${c}`).length - ctx - 1, 0);
  });
  const K = adapters.length;
  console.log(`${items.length} items, packed rows of ${Math.min(...rowLen)}-${Math.max(...rowLen)} tokens: adapter by adapter pads all to the longest, ` +
    `${K} x ${items.length} x ${Math.max(...rowLen)} = ${K * items.length * Math.max(...rowLen)} token rows; batched one item a pass, ${K} x ${rowLen.reduce((a, b) => a + b, 0)} = ${K * rowLen.reduce((a, b) => a + b, 0)}`);
  const seconds = async (fn: () => Promise<unknown> | unknown): Promise<number> => { const t0 = process.hrtime.bigint(); await fn(); return Number(process.hrtime.bigint() - t0) / 1e9; };
  await lm.scoreContinuationsMulti(adapters.slice(0, 2), reqs.slice(0, 4), { batchSize: 32 }); // warm-up
  for (let r = 0; r < Number(rounds); r++) {
    const row: string[] = [];
    for (const [bs, mt] of [[16, 512], [32, 1024], [64, 2048], [112, 4096]] as const) {
      row.push(`${bs}/${mt} ${(await seconds(() => lm.scoreContinuationsMulti(adapters, reqs, { batchSize: bs, maxTokensPerPass: mt }))).toFixed(2)} s`);
    }
    let set = 0; let score = 0;
    for (const a of adapters) { set += await seconds(() => lm.setLoraWeights(a)); score += await seconds(() => lm.scoreContinuations(reqs, { batchSize: 32 })); }
    lm.detachLora();
    console.log(`round ${r + 1}: batched (batchSize/maxTokens) ${row.join(', ')}; adapter by adapter ${(set + score).toFixed(2)} s (setLoraWeights ${set.toFixed(2)} s)`);
  }
  lm.dispose();
}
main().catch((e) => { console.error(e); process.exit(1); });
