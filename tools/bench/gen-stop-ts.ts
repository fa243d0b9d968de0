// Generation with and without dropping finished rows (@dnd/lm generateMulti, `dropFinished`), on what a
// quickstart evaluate step generates: a finished run's base model, its training LoRAs (each zoo set's last
// snapshot) and its generated LoRAs, the base model as one more row block, on the held-out set's test
// instructions with the collection's template, greedy, 10 new tokens. Alternating rounds in one process; prints
// one JSON line (seconds per mode and round, outputs identical or not, how many rows stopped at each step).
// Usage: node tools/bench/run-ts.cjs tools/bench/gen-stop-ts.ts RUN_DIR [PROMPTS=32] [ROUNDS=2] [BATCH=8]
import * as fs from 'fs';
import * as path from 'path';
import { fileURLToPath } from 'url';
import { initBackend, readPeftAdapter, readRunManifest, type LoraAdapter } from '@dnd/core';
import { loadTaskSet } from '@dnd/dataset';
import { loadCausalLM } from '@dnd/lm';

async function main(): Promise<void> {
  const [runDir, nArg = '32', roundsArg = '2', batchArg = '8'] = process.argv.slice(2);
  if (!runDir) throw new Error('usage: gen-stop-ts.ts RUN_DIR [PROMPTS] [ROUNDS] [BATCH]');
  const backend = await initBackend();
  const m = readRunManifest(path.join(runDir, 'manifest.json'));
  const dirOf = (key: string) => fileURLToPath(m.artifacts[key]!.uri);
  const cfg = m.config as unknown as { sets: string[]; heldOut: string[]; dataDir: string; setDirs: Record<string, string>; steps: { collectSet: { model: string; promptTemplate: string; skipBad: boolean; splitSeed: number; trainFraction: number } } };
  const held = cfg.heldOut[0]!;
  const adapters: (LoraAdapter | null)[] = [null];
  for (const key of Object.keys(m.artifacts).filter((k) => k.startsWith('zoo/')).sort()) {
    const snaps = fs.readdirSync(path.join(dirOf(key), 'snapshots')).sort();
    adapters.push(readPeftAdapter(path.join(dirOf(key), 'snapshots', snaps[snaps.length - 1]!)));
  }
  const genDir = path.join(dirOf('report'), 'generated');
  for (const d of fs.readdirSync(genDir).sort()) adapters.push(readPeftAdapter(path.join(genDir, d)));
  const c = cfg.steps.collectSet;
  const ts = await loadTaskSet(cfg.setDirs[held] ?? path.join(cfg.dataDir, held), { skipBad: c.skipBad, splitSeed: c.splitSeed, trainFraction: c.trainFraction });
  const prompts = ts.test.slice(0, Number(nArg)).map((r) => c.promptTemplate.replace('{prompt}', r.instruction));
  const modelDir = path.join(process.env['DND_CACHE'] ?? path.join(process.env['HOME'] ?? '', '.cache', 'dnd'), 'models', c.model);
  const lm = await loadCausalLM(fs.existsSync(modelDir) ? modelDir : c.model);
  const opts = { maxNewTokens: 10, greedy: true, batchSize: Number(batchArg) };
  await lm.generateMulti(adapters, prompts.slice(0, 2), { ...opts, maxNewTokens: 2 }); // warm-up
  const seconds: Record<'plain' | 'drop', number[]> = { plain: [], drop: [] };
  const outputs: Record<'plain' | 'drop', string[][]> = { plain: [], drop: [] };
  for (let r = 0; r < Number(roundsArg); r++) {
    for (const mode of (r % 2 === 0 ? ['plain', 'drop'] : ['drop', 'plain']) as Array<'plain' | 'drop'>) {
      const t0 = performance.now();
      outputs[mode] = await lm.generateMulti(adapters, prompts, { ...opts, dropFinished: mode === 'drop' });
      seconds[mode].push((performance.now() - t0) / 1000);
    }
  }
  // Tokens each row generated before it stopped (10 = ran to the end or hit the limit).
  const lengths = outputs.drop.flat().map((t) => Math.min(opts.maxNewTokens, lm.tokenizer.encode(t).length));
  const same = outputs.drop.flat().filter((t, i) => t === outputs.plain.flat()[i]).length;
  lm.dispose();
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(JSON.stringify({
    backend: backend.name, run: path.basename(runDir), heldOut: held, prompts: prompts.length, adapters: adapters.length, batch: opts.batchSize,
    seconds, ratio: median(seconds.plain) / median(seconds.drop), same, rows: lengths.length,
    rowsByTokens: Object.fromEntries([...new Set(lengths)].sort((a, b) => a - b).map((n) => [n, lengths.filter((x) => x === n).length])),
    load: fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '),
  }));
}

main().catch((e) => { console.error(e); process.exit(1); });
