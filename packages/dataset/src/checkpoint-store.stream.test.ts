// Memory stays flat while streaming a checkpoint store many times larger than any one record batch:
// the sampler reads one batch per pair, so RSS growth is bounded by a few batches, not the file size.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { DEFAULT_LORA_ADAPTER_CONFIG, llamaLoraShapes, loraTokenLayout, sizeOf } from '@dnd/core';
import { CheckpointStoreWriter, PairSampler, writePromptStore, type CheckpointRow, type TaskSet } from './index';

const MiB = 1024 * 1024;
// 8 layers x 7 modules at hidden 128 / ffn 256 / kv 64, rank 8, width 32: 512 tokens of 10 x 34 = 680 KiB per grid.
const layout = loraTokenLayout(llamaLoraShapes({ numLayers: 8, hiddenSize: 128, intermediateSize: 256, kvOutSize: 64, targetModules: DEFAULT_LORA_ADAPTER_CONFIG.targetModules }), { rank: 8, width: 32 });
const ROWS = 600; // ~400 MiB on disk

let tmp: string;
beforeAll(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dnd-stream-')); });
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

it('writes and samples a store far larger than its per-batch memory with bounded RSS growth', async () => {
  const size = sizeOf(layout.tokenShape);
  const rows: CheckpointRow[] = Array.from({ length: ROWS }, (_, i) => ({ set: `s${i % 4}`, step: 1 + Math.floor(i / 4), path: `p${i}`, sha256: String(i).padStart(64, '0') }));
  const file = path.join(tmp, 'checkpoints.arrow');
  const rss0 = process.memoryUsage().rss;
  const w = new CheckpointStoreWriter(file, { layout, loraConfig: DEFAULT_LORA_ADAPTER_CONFIG, rows, sources: {} });
  const grid = new Float32Array(size);
  rows.forEach((r, i) => { grid.fill(i); w.append(r, { data: grid, shape: layout.tokenShape }); });
  w.commit();
  const fileBytes = fs.statSync(file).size;
  expect(fileBytes).toBeGreaterThan(380 * MiB);
  const writeGrowth = process.memoryUsage().rss - rss0;

  const sets: TaskSet[] = [0, 1, 2, 3].map((k) => ({
    name: `s${k}`, root: '', test: [],
    train: Array.from({ length: 64 }, (_, i) => ({ instruction: `s${k} prompt ${i}`, input: '', output: '', answer: '' })),
    sources: {} as any,
  }));
  writePromptStore(path.join(tmp, 'prompts.arrow'), sets);
  const sampler = await PairSampler.open(file, path.join(tmp, 'prompts.arrow'), { promptsPerPair: 16 });
  const rss1 = process.memoryUsage().rss;
  let peak = rss1;
  try {
    for await (const p of sampler.pairs(0, ROWS)) {
      const row = sampler.plan(p.index).row;
      expect(p.checkpoint.tokens.data[size - 1]).toBe(row); // the batch read is the row planned
      peak = Math.max(peak, process.memoryUsage().rss);
    }
  } finally {
    await sampler.close();
  }
  const readGrowth = peak - rss1;
  if (process.env.DND_DEBUG) console.log({ writeGrowth: writeGrowth / MiB, readGrowth: readGrowth / MiB, fileMiB: fileBytes / MiB });
  // Loading the file whole would add > 380 MiB; streaming keeps growth to GC slack over a few batches.
  expect(writeGrowth).toBeLessThan(160 * MiB);
  expect(readGrowth).toBeLessThan(160 * MiB);
});
