// Generation with and without dropping finished rows (@dnd/lm generateMulti, `dropFinished`), and with rows also
// stopped once strict parsing has decided their answer (`stopWhen: STRICT_CHOICE_STOP`, what the GenerativeScorer
// passes), on what a quickstart evaluate step generates: a finished run's base model, its training LoRAs (each zoo set's last
// snapshot) and its generated LoRAs, the base model as one more row block, on the held-out set's test
// instructions with the collection's template, greedy, MAX_NEW new tokens. Rounds in one process, the modes in a
// rotating order; prints one JSON line (seconds per mode and round, outputs identical or not, strict parses
// identical or not, how many rows stopped at each step).
// Usage: node tools/bench/run-ts.cjs tools/bench/gen-stop-ts.ts RUN_DIR [PROMPTS=32] [ROUNDS=2] [BATCH=8] [MAX_NEW=10]
import * as fs from 'fs';
import * as path from 'path';
import { fileURLToPath } from 'url';
import { initBackend, readPeftAdapter, readRunManifest, type LoraAdapter } from '@dnd/core';
import { loadTaskSet } from '@dnd/dataset';
import { STRICT_CHOICE_STOP, itemFromInstruction, parseChoice } from '@dnd/evaluator';
import { loadCausalLM } from '@dnd/lm';

async function main(): Promise<void> {
  const [runDir, nArg = '32', roundsArg = '2', batchArg = '8', maxArg = '10'] = process.argv.slice(2);
  if (!runDir) throw new Error('usage: gen-stop-ts.ts RUN_DIR [PROMPTS] [ROUNDS] [BATCH] [MAX_NEW]');
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
  const items = ts.test.slice(0, Number(nArg)).map((r, i) => itemFromInstruction(r, held, i));
  const modelDir = path.join(process.env['DND_CACHE'] ?? path.join(process.env['HOME'] ?? '', '.cache', 'dnd'), 'models', c.model);
  const lm = await loadCausalLM(fs.existsSync(modelDir) ? modelDir : c.model);
  const opts = { maxNewTokens: Number(maxArg), greedy: true, batchSize: Number(batchArg) };
  await lm.generateMulti(adapters, prompts.slice(0, 2), { ...opts, maxNewTokens: 2 }); // warm-up
  type Mode = 'plain' | 'drop' | 'decided';
  const modes: Mode[] = ['plain', 'drop', 'decided'];
  const seconds: Record<Mode, number[]> = { plain: [], drop: [], decided: [] };
  const outputs: Record<Mode, string[][]> = { plain: [], drop: [], decided: [] };
  for (let r = 0; r < Number(roundsArg); r++) {
    for (const mode of [...modes.slice(r % 3), ...modes.slice(0, r % 3)]) {
      const t0 = performance.now();
      outputs[mode] = await lm.generateMulti(adapters, prompts, { ...opts, dropFinished: mode !== 'plain', ...(mode === 'decided' ? { stopWhen: STRICT_CHOICE_STOP } : {}) });
      seconds[mode].push((performance.now() - t0) / 1000);
    }
  }
  // The evaluator's reading of each text (strict parsing, the held-out set's format and choice counts).
  const parsed = (outs: string[][]) => outs.flatMap((rows) => rows.map((t, i) => parseChoice(t, items[i]!.answerFormat, items[i]!.choices.length, 'strict')));
  const sameParse = parsed(outputs.decided).filter((p, i) => p === parsed(outputs.plain)[i]).length;
  const decidedLengths = outputs.decided.flat().map((t) => lm.tokenizer.encode(t).length);
  // Tokens each row generated before it stopped (10 = ran to the end or hit the limit).
  const lengths = outputs.drop.flat().map((t) => Math.min(opts.maxNewTokens, lm.tokenizer.encode(t).length));
  const same = outputs.drop.flat().filter((t, i) => t === outputs.plain.flat()[i]).length;
  lm.dispose();
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(JSON.stringify({
    backend: backend.name, run: path.basename(runDir), heldOut: held, prompts: prompts.length, adapters: adapters.length, batch: opts.batchSize,
    seconds, ratio: median(seconds.plain) / median(seconds.drop), ratioDecided: median(seconds.plain) / median(seconds.decided), decidedOverDrop: median(seconds.drop) / median(seconds.decided),
    same, sameParse, rows: lengths.length, maxNewTokens: opts.maxNewTokens,
    decidedRowsByTokens: Object.fromEntries([...new Set(decidedLengths)].sort((a, b) => a - b).map((n) => [n, decidedLengths.filter((x) => x === n).length])),
    rowsByTokens: Object.fromEntries([...new Set(lengths)].sort((a, b) => a - b).map((n) => [n, lengths.filter((x) => x === n).length])),
    load: fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '),
  }));
}

main().catch((e) => { console.error(e); process.exit(1); });
