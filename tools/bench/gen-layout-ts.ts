// Greedy generation with one LoRA attached (unmerged), @dnd/lm's inference copies on (stackedProjections: q|k|v and
// gate|up stacked, every projection transposed to [in, out]) against off (one matmul per projection on HF's
// [out, in] weights, transposeB), alternating rounds in one process; each round also times the prefill alone
// (maxNewTokens 1), and checks that both settings generate the same text. Inputs: the WORK_DIR that
// `eval-ts.ts prepare` wrote (its instruction prompts and adapter-0). Not a test.
// Usage: node tools/bench/run-ts.cjs tools/bench/gen-layout-ts.ts MODEL_DIR WORK_DIR ROUNDS [MAX_NEW] [BATCH]
import * as fs from 'fs';
import * as path from 'path';
import { initBackend, readPeftAdapter } from '@dnd/core';
import { loadCausalLM } from '@dnd/lm';

async function main(): Promise<void> {
  const [modelDir, work, rounds, maxNew = '10', batch = '8'] = process.argv.slice(2) as [string, string, string, string?, string?];
  if (!rounds) throw new Error('usage: gen-layout-ts.ts MODEL_DIR WORK_DIR ROUNDS [MAX_NEW] [BATCH]');
  await initBackend();
  const inp = JSON.parse(fs.readFileSync(path.join(work, 'inputs.json'), 'utf8')) as { gen: string[]; adapters: string[] };
  const lm = await loadCausalLM(modelDir);
  lm.setLoraWeights(readPeftAdapter(inp.adapters[0]!));
  const opts = { maxNewTokens: Number(maxNew), greedy: true, batchSize: Number(batch) };
  const seconds = async <T>(fn: () => Promise<T>): Promise<[number, T]> => { const t0 = process.hrtime.bigint(); const r = await fn(); return [Number(process.hrtime.bigint() - t0) / 1e9, r]; };
  const texts = new Map<string, string[]>();
  const times = new Map<string, number[]>();
  for (let r = 0; r < Number(rounds); r++) {
    for (const stacked of r % 2 ? [false, true] : [true, false]) {
      const name = stacked ? 'copies on' : 'copies off';
      lm.stackedProjections = stacked;
      await lm.generate(inp.gen.slice(0, Number(batch)), { ...opts, maxNewTokens: 2 }); // builds or frees the copies, warms up
      const [all, out] = await seconds(() => lm.generate(inp.gen, opts));
      const [prefill] = await seconds(() => lm.generate(inp.gen, { ...opts, maxNewTokens: 1 }));
      texts.set(name, out);
      times.set(name, [...(times.get(name) ?? []), all]);
      console.log(`round ${r + 1} ${name}: ${inp.gen.length} prompts x ${maxNew} tokens ${all.toFixed(2)} s (prefill alone ${prefill.toFixed(2)} s)`);
    }
  }
  const median = (xs: number[]): number => { const o = [...xs].sort((a, b) => a - b); return o.length % 2 ? o[(o.length - 1) / 2]! : (o[o.length / 2 - 1]! + o[o.length / 2]!) / 2; };
  const on = median(times.get('copies on')!); const off = median(times.get('copies off')!);
  const same = texts.get('copies on')!.filter((t, i) => t === texts.get('copies off')![i]).length;
  console.log(`median: copies on ${on.toFixed(2)} s, off ${off.toFixed(2)} s: ${(off / on).toFixed(2)}x; ${same} of ${inp.gen.length} texts identical`);
  lm.dispose();
}
main().catch((e) => { console.error(e); process.exit(1); });
