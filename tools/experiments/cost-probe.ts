// Unit costs for sizing the `commonsense-smollm2` preset on this machine: seconds per zoo snapshot (collectSet),
// per decoder training step (random data of the real shapes) and per generated LoRA. An experiment driver.
// Usage: nice node tools/bench/run-ts.cjs tools/experiments/cost-probe.ts '{"rank":8,"targetModules":["q_proj","v_proj"],...}'
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { initBackend, loraTokenLayoutOf, readPeftAdapter } from '@dnd/core';
import { createLoraTrainer, loadCausalLM } from '@dnd/lm';
import { collectSet } from '@dnd/dataset';
import { DecoderTrainer, HyperConvDecoder, interpolatedChain, DEFAULT_TRAIN_CONFIG, decoderParamCount, type Feature } from '@dnd/decoder';

(async () => {
  const o = { rank: 8, targetModules: ['q_proj', 'v_proj'], batchSize: 8, maxSeqLen: 128, snapshots: 3, N: 32, L: 64, layers: 3, k: 3, B: 4, decSteps: 5, ...JSON.parse(process.argv[2] ?? '{}') };
  await initBackend();
  const model = await loadCausalLM(path.join(process.env.HOME ?? '/root', '.cache/dnd/models/smollm2-135m-instruct'));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dnd-cost-'));
  const marks: number[] = [];
  await collectSet('ARC-Easy', path.join(dir, 'arc'), { rank: o.rank, loraAlpha: 2 * o.rank, targetModules: o.targetModules, warmupSteps: 1, snapshotSteps: o.snapshots, batchSize: o.batchSize, maxSeqLen: o.maxSeqLen },
    { model, createTrainer: createLoraTrainer, onProgress: () => marks.push(performance.now()) });
  const snap = (marks[marks.length - 1]! - marks[0]!) / 1000 / (marks.length - 1);
  const adapter = readPeftAdapter(path.join(dir, 'arc', 'snapshots', 'step-0001'));
  const layout = loraTokenLayoutOf(adapter, 96);
  const [Nw, R, Cw] = layout.tokenShape;
  const features: Feature[] = interpolatedChain([o.N, o.L, 384], [Nw, R, Cw], o.layers);
  const dec = HyperConvDecoder.create({ features, kernelSize: o.k }, 1);
  const tr = new DecoderTrainer(dec, { ...DEFAULT_TRAIN_CONFIG, lr: 1e-3 }, new Float32Array(Nw).fill(1));
  const cond = { data: new Float32Array(o.B * o.N * o.L * 384).map(() => Math.random()), shape: [o.B, o.N, o.L, 384] };
  const tgt = { data: new Float32Array(o.B * Nw * R * Cw).map(() => Math.random()), shape: [o.B, Nw, R, Cw] };
  const st: number[] = [];
  for (let i = 0; i < o.decSteps; i++) { const t0 = performance.now(); tr.trainStep({ condition: cond, target: tgt }); st.push((performance.now() - t0) / 1000); }
  const t0 = performance.now();
  dec.predict({ data: cond.data.slice(0, o.N * o.L * 384), shape: [o.N, o.L, 384] });
  const gen = (performance.now() - t0) / 1000;
  tr.dispose(); dec.dispose(); model.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
  const med = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
  console.log(JSON.stringify({ settings: o, tokenShape: layout.tokenShape, features, decoderParams: decoderParamCount({ features, kernelSize: o.k }), secondsPerSnapshot: snap, secondsPerDecoderStep: med(st.slice(1)), secondsDecodeOnly: gen, load: os.loadavg() }));
})().catch((e) => { console.error(e); process.exit(1); });
