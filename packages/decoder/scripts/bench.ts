// tfjs side of `pnpm bench decoder` (run by tools/bench/decoder.sh through tools/bench/run-ts.cjs):
// (1) training-step time of the decoder at a small chain, (2) prompt-to-LoRA generation latency for a
// SmolLM2-135M-shaped LoRA (encoder included), (3) seconds per training checkpoint (weights + AdamW moments
// to safetensors) at a given chain. Prints one JSON line. Not a test: timings live here only.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { initBackend, llamaLoraShapes, loraTokenLayout, DEFAULT_LORA_ADAPTER_CONFIG, LORA_TOKEN_MODULE_ORDER } from '@dnd/core';
import { TINY_BERT_CONFIG, createRandomBert, loadTextEncoder, type TextEncoder } from '@dnd/encoder';
import { DEFAULT_TRAIN_CONFIG, DecoderTrainer, HyperConvDecoder, decoderParamCount, generateLora, type DecoderConfig, type Feature } from '../src';

interface Args {
  train: { features: Feature[]; kernel: number; batch: number; steps: number };
  checkpoint: { features: Feature[]; kernel: number; runs: number };
  gen: { features: Feature[]; kernel: number; runs: number; width: number; rank: number };
  minilm: string | null;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function gauss(n: number, seed: number): Float32Array {
  let s = seed;
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2147483648) + 0.5) / 2147483648;
  return new Float32Array(n).map(() => Math.sqrt(-2 * Math.log(rnd())) * Math.cos(2 * Math.PI * rnd()));
}

async function benchTrain(a: Args['train']): Promise<Record<string, number>> {
  const cfg: DecoderConfig = { features: a.features, kernelSize: a.kernel };
  const dec = HyperConvDecoder.create(cfg, 0);
  const f0 = a.features[0]!, fl = a.features[a.features.length - 1]!;
  const trainer = new DecoderTrainer(dec, DEFAULT_TRAIN_CONFIG, new Float32Array(fl[0]).fill(1));
  const batch = {
    condition: { data: gauss(a.batch * f0[0] * f0[1] * f0[2], 1), shape: [a.batch, ...f0] },
    target: { data: gauss(a.batch * fl[0] * fl[1] * fl[2], 2), shape: [a.batch, ...fl] },
  };
  const times: number[] = [];
  for (let i = 0; i < a.steps; i++) {
    const t0 = performance.now();
    trainer.trainStep(batch);
    times.push((performance.now() - t0) / 1000);
  }
  trainer.dispose();
  dec.dispose();
  const warm = times.slice(1);
  return { params: decoderParamCount(cfg), first_s: times[0]!, median_s: median(warm), min_s: Math.min(...warm) };
}

// A checkpoint after one training step (non-zero moments), written `runs` times into a scratch directory.
function benchCheckpoint(a: Args['checkpoint']): Record<string, number> {
  const cfg: DecoderConfig = { features: a.features, kernelSize: a.kernel };
  const dec = HyperConvDecoder.create(cfg, 0);
  const f0 = a.features[0]!, fl = a.features[a.features.length - 1]!;
  const trainer = new DecoderTrainer(dec, DEFAULT_TRAIN_CONFIG, new Float32Array(fl[0]).fill(1));
  trainer.trainStep({ condition: { data: gauss(f0[0] * f0[1] * f0[2], 3), shape: [1, ...f0] }, target: { data: gauss(fl[0] * fl[1] * fl[2], 4), shape: [1, ...fl] } });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dnd-bench-ckpt-'));
  const times: number[] = [];
  let bytes = 0;
  try {
    for (let i = 0; i < a.runs; i++) {
      const t0 = performance.now();
      const written = trainer.saveCheckpoint(dir, 0, { keep: 1 });
      times.push((performance.now() - t0) / 1000);
      bytes = fs.statSync(path.join(written, 'generator.safetensors')).size;
    }
  } finally {
    trainer.dispose();
    dec.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return { params: decoderParamCount(cfg), bytes, median_s: median(times), min_s: Math.min(...times) };
}

async function benchGenerate(a: Args['gen'], minilm: string | null): Promise<Record<string, unknown>> {
  // SmolLM2-135M: 30 layers, hidden 576, intermediate 1536, 3 KV heads x 64 = 192; all 7 projections
  const spec = { numLayers: 30, hiddenSize: 576, intermediateSize: 1536, kvOutSize: 192, targetModules: [...LORA_TOKEN_MODULE_ORDER] };
  const layout = loraTokenLayout(llamaLoraShapes(spec), { rank: a.rank, width: a.width });
  const cfg: DecoderConfig = { features: a.features, kernelSize: a.kernel };
  const encoder: TextEncoder = minilm ? await loadTextEncoder(minilm) : createRandomBert({ ...TINY_BERT_CONFIG, hiddenSize: a.features[0]![2], numAttentionHeads: 6 }, 1);
  const [n, l] = a.features[0]!;
  const words = 'which of these would most likely float on water a rock a leaf a coin or a nail explain briefly why the answer holds'.split(' ');
  const prompts = Array.from({ length: n }, (_, i) => Array.from({ length: 30 + (i % 7) * 5 }, (_, j) => words[(i * 7 + j) % words.length]).join(' ') + '?');
  const gen = HyperConvDecoder.create(cfg, 0);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dnd-bench-gen-'));
  const runs: Array<{ seconds: number; encode: number; decode: number }> = [];
  for (let i = 0; i <= a.runs; i++) {
    const r = await generateLora(prompts, gen, { encoder, layout, adapterConfig: { ...DEFAULT_LORA_ADAPTER_CONFIG, r: a.rank, loraAlpha: 2 * a.rank }, outDir: path.join(dir, `gen-${i}`), maxLength: l });
    runs.push({ seconds: r.seconds, encode: r.encodeSeconds, decode: r.decodeSeconds });
  }
  gen.dispose();
  encoder.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
  const warm = runs.slice(1);
  return {
    encoder: minilm ? 'all-MiniLM-L6-v2 (the provisioned model)' : 'random BERT, MiniLM-shaped width (MiniLM not provisioned)',
    tokenShape: layout.tokenShape, params: decoderParamCount(cfg), first_s: runs[0]!.seconds,
    median_s: median(warm.map((r) => r.seconds)), encode_median_s: median(warm.map((r) => r.encode)), decode_median_s: median(warm.map((r) => r.decode)),
  };
}

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2]!) as Args;
  const backend = await initBackend();
  const train = await benchTrain(args.train);
  const gen = await benchGenerate(args.gen, args.minilm);
  const checkpoint = benchCheckpoint(args.checkpoint);
  console.log(JSON.stringify({ backend: backend.name, train, gen, checkpoint }));
}

main().catch((e) => { console.error(e); process.exit(1); });
