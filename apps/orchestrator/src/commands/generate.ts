// `dnd generate`: prompts of a new task in (file or stdin), PEFT adapter directory(ies) out, through a
// trained generator; prints the time, or one JSON object with --json. Not the generation itself
// (lora-generation.ts, @dnd/decoder) and not prompt parsing (prompt-input.ts).
import * as path from 'path';
import { Option, type Command } from 'commander';
import { BadInputError, initBackend } from '@dnd/core';
import { DEFAULT_RUN_CONFIG } from '../config';
import { generateAdapters, openGenerator, type GenerationRecord } from './lora-generation';
import { PROMPT_FORMATS, readPrompts, type PromptFormat } from './prompt-input';

/** Options of `dnd generate`. */
export interface GenerateCommandOptions {
  generator: string;
  prompts: string;
  out: string;
  samples: number;
  seed: number;
  format?: PromptFormat;
  encoder?: string;
  base?: string;
  artifacts?: string;
  runsDir?: string;
}

/**
 * The whole command as a function: read prompts, open the generator, write the adapters.
 * @example await runGenerate({ generator: 'generators/cs', prompts: 'p.txt', out: 'lora', samples: 1, seed: 0 })
 */
export async function runGenerate(o: GenerateCommandOptions, stdin?: NodeJS.ReadableStream): Promise<GenerationRecord> {
  const prompts = await readPrompts(o.prompts, o.format, stdin);
  await initBackend();
  const g = await openGenerator(o.generator, { encoder: o.encoder, baseModel: o.base, artifactsDir: o.artifacts, runsDir: o.runsDir });
  try {
    return await generateAdapters(g, { prompts, samples: o.samples, seed: o.seed }, o.out);
  } finally {
    g.dispose();
  }
}

const int = (what: string) => (v: string): number => {
  if (!/^\d+$/.test(v)) throw new BadInputError(`${what} must be a non-negative integer, got ${JSON.stringify(v)}`);
  return Number.parseInt(v, 10);
};

/** Registers `dnd generate` on the CLI. */
export function registerGenerate(program: Command, out: (s: string) => void, note: (s: string) => void): void {
  program
    .command('generate')
    .description('generate LoRA adapter(s) for a new task from a few of its unlabeled prompts, with a trained generator; no training')
    .requiredOption('--generator <dir|alias>', 'a generator directory (dnd export-generator) or an artifact alias such as latest-generator')
    .requiredOption('--prompts <file|->', 'prompts: .txt (one per line), .jsonl or .json (strings or instruction-format records); - reads stdin')
    .requiredOption('--out <dir>', 'output: the PEFT adapter directory (with --samples K > 1, a directory of lora-0 ... lora-K-1); must not exist')
    .option('--samples <K>', 'adapters to generate, each from its own seeded sample of N prompts', int('--samples'), 1)
    .option('--seed <S>', 'seed of the prompt samples', int('--seed'), 0)
    .addOption(new Option('--format <fmt>', 'prompt-file format (default: from the extension; sniffed on stdin)').choices([...PROMPT_FORMATS]))
    .option('--encoder <dir|name>', 'the text encoder (default: the generator\'s, by name under the model cache); its digest must match')
    .option('--base <name|dir>', 'refuse unless the generator is for this base model')
    .option('--artifacts <dir>', 'artifact store holding aliases', DEFAULT_RUN_CONFIG.artifactsDir)
    .option('--runs-dir <dir>', 'parent of run directories', DEFAULT_RUN_CONFIG.runsDir)
    .option('--json', 'print dnd.json\'s record as JSON (for scripts)')
    .addHelpText('after', '\nThe generator takes N prompts per LoRA (N is in its generator.json); with more, each sample draws N of them.\n'
      + 'Writes adapter_config.json + adapter_model.safetensors (PEFT) and dnd.json (generator digest, prompt hashes, seed, seconds).\n'
      + 'Examples:\n  dnd generate --generator generators/cs --prompts task.txt --out my-lora\n'
      + '  cat task.jsonl | dnd generate --generator latest-generator --prompts - --out loras --samples 3 --seed 7 --json')
    .action(async (o: GenerateCommandOptions & { json?: boolean }) => {
      const rec = await runGenerate(o);
      if (o.json) return out(JSON.stringify({ out: path.resolve(o.out), ...rec }, null, 2));
      if (rec.truncated) note(`${rec.truncated} prompt(s) were longer than the encoder's text length and were truncated (as in training)`);
      for (const s of rec.samples) out(`${path.join(path.resolve(o.out), s.dir === '.' ? '' : s.dir)}  (${s.seconds.toFixed(3)} s)`);
      out(`generated ${rec.samples.length} LoRA(s) for ${rec.generator.baseModel} in ${rec.seconds.toFixed(2)} s`);
    });
}
