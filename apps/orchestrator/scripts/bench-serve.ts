// The `dnd serve` load benchmark's measuring side: a SmolLM2-135M-shaped generator (r 8 on all 7 projections,
// w 64 -> 4770 x 10 x 66 tokens; the decoder benchmark's generation chain, seeded random weights: latency does
// not depend on training) with the real all-MiniLM-L6-v2 encoder, served by lora-server.ts on loopback and loaded
// (the generator in its child process, as `dnd serve` runs it) with autocannon at 1, 4 and 16 connections (a fixed number of requests per level); the reference, measured in the same run, is the same generation
// called directly (generateAdapters, no HTTP). Writes one JSON object to argv[2]. Not a test.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { initBackend, llamaLoraShapes, loraTokenLayout, LORA_TOKEN_MODULE_ORDER, readHfConfig, DEFAULT_LORA_ADAPTER_CONFIG } from '@dnd/core';
import { HyperConvDecoder, writeGeneratorDir, type Feature } from '@dnd/decoder';
import { loadTextEncoder } from '@dnd/encoder';
import { generateAdapters, openGenerator } from '../src/commands/lora-generation';
import { GeneratorProcess } from '../src/commands/generator-process';
import { buildLoraServer, DEFAULT_SERVE_CONFIG } from '../src/commands/lora-server';

/** What this script uses of autocannon 9 (no published types for 9). */
interface Instance { on(ev: 'response', fn: (client: unknown, status: number, bytes: number, ms: number) => void): void; on(ev: 'done', fn: (r: { requests: { total: number }; non2xx: number; errors: number; duration: number }) => void): void }
const autocannon = require('autocannon') as (o: Record<string, unknown>) => Instance;

const [outFile, perConnectionArg] = process.argv.slice(2);
/** Requests per connection at each level (at least 4 requests per level): a fixed amount, so that no request is cut off. */
const PER_CONNECTION = Number(perConnectionArg ?? 2);
const MODELS = path.join(process.env['DND_CACHE'] || path.join(os.homedir(), '.cache', 'dnd'), 'models');
const quantile = (xs: number[], q: number): number => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]! : NaN; };

async function main(): Promise<void> {
  const backend = await initBackend();
  const hf = readHfConfig(path.join(MODELS, 'smollm2-135m-instruct'));
  const targetModules = [...LORA_TOKEN_MODULE_ORDER];
  const layout = loraTokenLayout(llamaLoraShapes({ numLayers: hf.numHiddenLayers, hiddenSize: hf.hiddenSize, intermediateSize: hf.intermediateSize, kvOutSize: hf.numKeyValueHeads * hf.headDim, targetModules }), { rank: 8, width: 64 });
  const features: Feature[] = [[16, 64, 384], [64, 32, 192], [256, 16, 96], layout.tokenShape];
  const minilm = path.join(MODELS, 'all-MiniLM-L6-v2');
  const enc = await loadTextEncoder(minilm);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dnd-bench-serve-'));
  const gen = HyperConvDecoder.create({ features, kernelSize: 3 }, 1);
  writeGeneratorDir(path.join(tmp, 'generator'), {
    params: gen.stateDict(), decoder: { features, kernelSize: 3 },
    template: { layout, adapterConfig: { ...DEFAULT_LORA_ADAPTER_CONFIG, r: 8, loraAlpha: 16, targetModules, baseModelNameOrPath: 'smollm2-135m-instruct' } },
    encoder: { name: 'all-MiniLM-L6-v2', digest: enc.digest, kind: 'bert' }, baseModel: { name: 'smollm2-135m-instruct', digest: '0'.repeat(64), architecture: hf.architecture },
    training: { sets: [], heldOut: [], loss: { kind: 'weighted-mse', tokenWeights: 'uniform' }, train: null, steps: 0, finalLoss: null },
  });
  gen.dispose();
  enc.dispose();
  const g = await openGenerator(path.join(tmp, 'generator'), { encoder: minilm });
  const prompts = Array.from({ length: 16 }, (_, i) => `Question ${i + 1}: a man is sitting on a roof. He starts pulling up roofing. Which ending is most likely? Answer format: ending1/ending2`);
  try {
    // Reference: the same generation called directly, one after another (first call warms up).
    const direct: number[] = [];
    for (let i = 0; i < 4; i++) {
      const t0 = performance.now();
      await generateAdapters(g, { prompts, samples: 1, seed: i }, path.join(tmp, `direct-${i}`));
      if (i > 0) direct.push((performance.now() - t0) / 1000);
      fs.rmSync(path.join(tmp, `direct-${i}`), { recursive: true });
    }
    // As `dnd serve` runs: the generator in its child process, the defaults (queue 16, 30 s wait, 60 s limit).
    const served = await GeneratorProcess.open(path.join(tmp, 'generator'), { encoder: minilm }, { timeoutMs: DEFAULT_SERVE_CONFIG.generateTimeoutMs });
    const app = buildLoraServer(served, { ...DEFAULT_SERVE_CONFIG, port: 0 });
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    const levels = [];
    for (const connections of [1, 4, 16]) {
      const ms: number[] = [];
      const statuses: number[] = [];
      const r = await new Promise<{ requests: { total: number }; non2xx: number; errors: number; duration: number }>((resolve) => {
        const inst = autocannon({ url: `${url}/v1/loras`, method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompts }), connections, amount: Math.max(4, PER_CONNECTION * connections), timeout: 600 });
        inst.on('response', (_c, status, _b, t) => { if (status === 200) ms.push(t); else statuses.push(status); });
        inst.on('done', resolve);
      });
      levels.push({ connections, requests: ms.length, non2xx: r.non2xx, errors: r.errors, seconds: r.duration, reqPerSec: ms.length / r.duration, p50ms: quantile(ms, 0.5), p95ms: quantile(ms, 0.95) });
      process.stderr.write(`[bench serve] ${connections} connection(s): ${ms.length} requests, p50 ${quantile(ms, 0.5).toFixed(0)} ms, p95 ${quantile(ms, 0.95).toFixed(0)} ms; other statuses ${JSON.stringify(statuses)}, non2xx ${r.non2xx}, errors ${r.errors}\n`);
    }
    await app.close();
    served.close();
    fs.writeFileSync(outFile!, JSON.stringify({
      backend: backend.name, tokenShape: layout.tokenShape, features, params: g.manifest.weights.params, promptsPerRequest: prompts.length, perConnection: PER_CONNECTION, loadAverage: os.loadavg(),
      direct: { runs: direct.length, medianS: quantile(direct, 0.5) }, levels,
    }, null, 2));
  } finally {
    g.dispose();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((e) => { process.stderr.write(`${(e as Error).stack}\n`); process.exit(1); });
