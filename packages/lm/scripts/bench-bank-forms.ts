// End-to-end A/B of the LoRA bank's two forms (src/lora-bank.ts) in multi-adapter scoring: the batched form for equal
// adapter blocks (what the bank does) against the masked form everywhere (what it did before; patched in here), in
// alternating rounds in one process, on the ARC-Easy items of an `eval-ts.ts prepare` folder (tools/bench; lm-eval
// multiple_choice requests) at two
// shapes: the evaluator's (12 adapters = the bare base + 11 seeded LoRAs, r 8 on q,v as the presets' zoo, 256 requests
// per call) and `pnpm bench eval`'s (14 seeded LoRAs, r 8 on all 7 modules, 32 requests per call). Prints ms per
// item-adapter pair and the max |difference| of the log-likelihoods. Not a test.
// Usage: node tools/bench/run-ts.cjs packages/lm/scripts/bench-bank-forms.ts MODEL_DIR WORK_DIR ROUNDS
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { DEFAULT_LORA_ADAPTER_CONFIG, initBackend, mulberry32, type LoraAdapter } from '@dnd/core';
import { loadCausalLM, type ScoreRequest } from '../src';
import { LoraBank } from '../src/lora-bank';
import type { GroupName } from '../src/weights';

const batchedDelta = LoraBank.prototype.groupDelta;
function maskedDelta(this: LoraBank, layer: number, group: GroupName, x: tf.Tensor2D): tf.Tensor2D | null {
  const p = this.groups.get(`${layer}.${group}`);
  if (!p) return null;
  const N = x.shape[0]; const n = N / this.K; const gr = p.g * this.r; const W = this.K * gr;
  const m = new Float32Array(N * W);
  for (let i = 0; i < N; i++) { const k = Math.floor(i / n); m.fill(1, i * W + k * gr, i * W + (k + 1) * gr); }
  return tf.matMul(tf.matMul(x, p.A, false, true).mul(tf.tensor2d(m, [N, W])), p.B) as tf.Tensor2D;
}

async function main(): Promise<void> {
  const [modelDir, work, rounds] = process.argv.slice(2) as [string, string, string];
  if (!rounds) throw new Error('usage: bench-bank-forms.ts MODEL_DIR WORK_DIR ROUNDS');
  await initBackend();
  const items = (JSON.parse(fs.readFileSync(path.join(work, 'inputs.json'), 'utf8')) as { ll: { context: string; choices: string[] }[] }).ll;
  const lm = await loadCausalLM(modelDir);
  const seeded = (count: number, targetModules: string[], withBase: boolean): (LoraAdapter | null)[] => {
    const cfg = { ...DEFAULT_LORA_ADAPTER_CONFIG, r: 8, loraAlpha: 16, targetModules, baseModelNameOrPath: modelDir };
    const out: (LoraAdapter | null)[] = withBase ? [null] : [];
    for (let k = out.length; k < count; k++) {
      lm.attachLora(cfg, 100 + k); const a = lm.getLoraWeights(); lm.detachLora();
      const rand = mulberry32(200 + k); // B != 0 so that every adapter changes the scores
      for (const [name, t] of a.tensors) if (name.includes('lora_B')) for (let i = 0; i < t.data.length; i++) (t.data as Float32Array)[i] = (rand() * 2 - 1) * 0.02;
      out.push(a);
    }
    return out;
  };
  const shapes = [
    { name: 'evaluator: 12 adapters (q,v), 256 requests per call', adapters: seeded(12, ['q_proj', 'v_proj'], true), batchSize: 256 },
    { name: 'bench eval: 14 adapters (all 7 modules), 32 requests per call', adapters: seeded(14, ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'], false), batchSize: 32 },
  ];
  const reqs = items.flatMap((it) => it.choices.map((c): ScoreRequest => ({ context: it.context, continuation: ` ${c}` })));
  for (const s of shapes) {
    const times = { batched: [] as number[], masked: [] as number[] };
    const lls: Record<string, number[]> = {};
    for (let r = 0; r < Number(rounds); r++) {
      for (const form of (r % 2 ? ['masked', 'batched'] : ['batched', 'masked']) as Array<'batched' | 'masked'>) {
        LoraBank.prototype.groupDelta = form === 'batched' ? batchedDelta : maskedDelta;
        const t0 = process.hrtime.bigint();
        const out: number[] = [];
        for (let i = 0; i < reqs.length; i += s.batchSize) {
          const res = await lm.scoreContinuationsMulti(s.adapters, reqs.slice(i, i + s.batchSize), { batchSize: s.batchSize });
          for (const row of res) for (const x of row) out.push(x.logprob);
        }
        times[form].push(Number(process.hrtime.bigint() - t0) / 1e9);
        lls[form] = out;
        console.log(`${s.name}: round ${r + 1} ${form} ${(times[form].at(-1)! * 1000 / (items.length * s.adapters.length)).toFixed(1)} ms per pair`);
      }
    }
    const med = (xs: number[]) => { const o = [...xs].sort((a, b) => a - b); return o.length % 2 ? o[(o.length - 1) / 2]! : (o[o.length / 2 - 1]! + o[o.length / 2]!) / 2; };
    const diff = Math.max(...lls['batched']!.map((v, i) => Math.abs(v - lls['masked']![i]!)));
    console.log(`${s.name}: median batched ${(med(times.batched) * 1000 / (items.length * s.adapters.length)).toFixed(1)}, masked ${(med(times.masked) * 1000 / (items.length * s.adapters.length)).toFixed(1)} ms per pair: batched ${(med(times.masked) / med(times.batched)).toFixed(2)}x; max |diff| ${diff.toExponential(1)}`);
  }
  LoraBank.prototype.groupDelta = batchedDelta;
  lm.dispose();
}
main().catch((e) => { console.error(e); process.exit(1); });
