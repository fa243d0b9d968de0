// @dnd/lm side of `pnpm bench eval` on SmolLM2-135M-Instruct. `prepare` writes the shared inputs: the first ARC-Easy
// test items (context "Question: ...\nAnswer:", 4 choices, lm-eval's multiple_choice convention), their instruction
// prompts, and 14 seeded LoRA adapters (r 8, all 7 modules, PEFT layout). `run` times, with adapter 0 attached:
// log-likelihood scoring (shared prefixes, and the plain path), greedy generation of 10 new tokens, then 14 adapters
// batched (per-row LoRA) vs adapter by adapter, and greedy generation under 9 of them batched vs one by one. Not a test.
// Usage: node tools/bench/run-ts.cjs tools/bench/eval-ts.ts prepare MODEL_DIR WORK_DIR N_LL N_GEN N_MULTI
//        node tools/bench/run-ts.cjs tools/bench/eval-ts.ts run MODEL_DIR WORK_DIR OUT_JSON BATCH GEN_BATCH
import * as fs from 'fs';
import * as path from 'path';
import { DEFAULT_LORA_ADAPTER_CONFIG, initBackend, mulberry32, readPeftAdapter, writePeftAdapter } from '@dnd/core';
import { readInstructionSet } from '@dnd/evaluator';
import { loadCausalLM, type ScoreRequest } from '@dnd/lm';

const ADAPTERS = 14;
const GEN_ADAPTERS = 9;
interface Inputs { ll: { context: string; choices: string[] }[]; gen: string[]; multi: number; adapters: string[] }

const requests = (items: Inputs['ll']): ScoreRequest[] => items.flatMap((it) => it.choices.map((c) => ({ context: it.context, continuation: ` ${c}` })));
const secondsOf = async <T>(fn: () => Promise<T>): Promise<[number, T]> => { const t0 = process.hrtime.bigint(); const r = await fn(); return [Number(process.hrtime.bigint() - t0) / 1e9, r]; };

async function prepare(modelDir: string, work: string, nLl: number, nGen: number, nMulti: number): Promise<void> {
  const dataFile = path.join(process.env.DND_SHARED_DIR ?? path.join(__dirname, '..', '..', '..', 'shared'), 'data', 'commonsense', 'ARC-Easy', 'test.json');
  if (!fs.existsSync(dataFile)) throw new Error(`bench eval: ${dataFile} is missing (set DND_SHARED_DIR to the folder holding data/commonsense)`);
  const items = readInstructionSet(dataFile, 'ARC-Easy', 'test').filter((i) => i.choices.length === 4);
  await initBackend();
  const lm = await loadCausalLM(modelDir);
  const adapters: string[] = [];
  const cfg = { ...DEFAULT_LORA_ADAPTER_CONFIG, r: 8, loraAlpha: 16, baseModelNameOrPath: modelDir };
  for (let k = 0; k < ADAPTERS; k++) {
    lm.attachLora(cfg, 100 + k);
    const a = lm.getLoraWeights();
    lm.detachLora();
    const rand = mulberry32(200 + k); // B != 0 so that every adapter changes the scores (a fresh LoRA has B = 0)
    for (const [n, t] of a.tensors) if (n.includes('lora_B')) for (let i = 0; i < t.data.length; i++) (t.data as Float32Array)[i] = (rand() * 2 - 1) * 0.02;
    const dir = path.join(work, `adapter-${k}`);
    writePeftAdapter(dir, { config: cfg, tensors: a.tensors });
    adapters.push(dir);
  }
  lm.dispose();
  const inputs: Inputs = {
    ll: items.slice(0, nLl).map((i) => ({ context: i.context, choices: i.choices })),
    gen: items.slice(0, nGen).map((i) => i.prompt), multi: nMulti, adapters,
  };
  fs.writeFileSync(path.join(work, 'inputs.json'), JSON.stringify(inputs));
}

async function run(modelDir: string, work: string, outFile: string, batch: number, genBatch: number): Promise<void> {
  const backend = await initBackend();
  const inp = JSON.parse(fs.readFileSync(path.join(work, 'inputs.json'), 'utf8')) as Inputs;
  const lm = await loadCausalLM(modelDir);
  const adapters = inp.adapters.map((d) => readPeftAdapter(d));
  lm.setLoraWeights(adapters[0]!);
  const reqs = requests(inp.ll);
  await lm.scoreContinuations(reqs.slice(0, batch), { batchSize: batch }); // warm-up
  const [llShared, shared] = await secondsOf(() => lm.scoreContinuations(reqs, { batchSize: batch }));
  const [llPlain, plain] = await secondsOf(() => lm.scoreContinuations(reqs, { batchSize: batch, sharePrefix: false }));
  await lm.generate(inp.gen.slice(0, genBatch), { maxNewTokens: 2, batchSize: genBatch }); // warm-up
  const [gen, outputs] = await secondsOf(() => lm.generate(inp.gen, { maxNewTokens: 10, greedy: true, batchSize: genBatch }));
  lm.detachLora();
  const multiReqs = requests(inp.ll.slice(0, inp.multi));
  const [batched, many] = await secondsOf(() => lm.scoreContinuationsMulti(adapters, multiReqs, { batchSize: batch }));
  const oneByOne: number[][] = [];
  const [sequential] = await secondsOf(async () => {
    for (const a of adapters) { lm.setLoraWeights(a); oneByOne.push((await lm.scoreContinuations(multiReqs, { batchSize: batch })).map((r) => r.logprob)); }
  });
  // Generation under GEN_ADAPTERS adapters (the quickstart scores 9 per held-out set): batched vs one by one.
  const genAdapters = adapters.slice(0, GEN_ADAPTERS);
  const genPrompts = inp.gen.slice(0, inp.multi);
  const genOpts = { maxNewTokens: 10, greedy: true, batchSize: genBatch };
  const [genBatched, genMany] = await secondsOf(() => lm.generateMulti(genAdapters, genPrompts, genOpts));
  const genOneByOne: string[][] = [];
  const [genSequential] = await secondsOf(async () => {
    for (const a of genAdapters) { lm.setLoraWeights(a); genOneByOne.push(await lm.generate(genPrompts, genOpts)); }
  });
  lm.detachLora();
  const genMultiSame = genMany.flat().filter((o, i) => o === genOneByOne.flat()[i]).length;
  lm.dispose();
  let multiDiff = 0;
  many.forEach((rs, k) => rs.forEach((r, i) => { multiDiff = Math.max(multiDiff, Math.abs(r.logprob - oneByOne[k]![i]!)); }));
  const sharedVsPlain = Math.max(...shared.map((r, i) => Math.abs(r.logprob - plain[i]!.logprob)));
  fs.writeFileSync(outFile, JSON.stringify({
    backend: backend.name, items: inp.ll.length, genItems: inp.gen.length, multiItems: inp.multi, adapters: adapters.length,
    llShared, llPlain, gen, batched, sequential, genAdapters: genAdapters.length, genBatched, genSequential, genMultiSame, genMultiTotal: genMany.flat().length, lls: shared.map((r) => r.logprob), outputs, multiDiff, sharedVsPlain,
    maxRssMB: process.resourceUsage().maxRSS / 1024,
  }));
}

(async () => {
  const [mode, modelDir, work, a, b, c] = process.argv.slice(2);
  if (mode === 'prepare') await prepare(modelDir!, work!, Number(a), Number(b), Number(c));
  else if (mode === 'run') await run(modelDir!, work!, a!, Number(b), Number(c));
  else throw new Error('usage: eval-ts.ts prepare MODEL_DIR WORK_DIR N_LL N_GEN N_MULTI | run MODEL_DIR WORK_DIR OUT_JSON BATCH GEN_BATCH');
})().catch((e) => { console.error(e); process.exit(1); });
