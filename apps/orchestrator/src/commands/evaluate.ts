// `dnd evaluate`: any PEFT adapters (generated, trained elsewhere, from a zoo) on any sets in the shipped
// instruction format, scored by @dnd/evaluator beside the base model, writing the pipeline's report files
// (results.json, report.md, report.html, predictions.arrow) under a temporary name renamed into place.
// Adapters made for another base model are refused before anything is scored. Not the scoring (@dnd/evaluator).
import * as fs from 'fs';
import * as path from 'path';
import { Option, type Command } from 'commander';
import { BadInputError, initBackend, readPeftAdapter } from '@dnd/core';
import { evaluate, hostCausalLM, resolveEvaluatorConfig, type EvaluationResults } from '@dnd/evaluator';
import { loadCausalLM } from '@dnd/lm';
import { resolveModelDir } from '../assets';

/** Options of `dnd evaluate`. */
export interface EvaluateCommandOptions {
  /** name=dir, one per adapter. */
  adapter: string[];
  /** name=path, one per set: an instruction-format .json file, or a folder with test.json. */
  set: string[];
  /** The base model (a directory or a name under the model cache); default: the adapters' base_model_name_or_path. */
  base?: string;
  /** Items per set (0 = all), subsampled with the evaluator's fixed seed. */
  limit: number;
  scorer: 'loglik' | 'generative';
  /** Which protocols to run: the paper's (strict label format, `scorer`), the knowledge protocol (log-likelihood of the choice texts), or both. */
  protocol?: 'paper' | 'knowledge' | 'both';
  /** How a prompt is shown to the model ({prompt}); the zoo's LoRAs were trained on '{prompt}\n'. */
  template: string;
  out: string;
}

function pairs(list: string[], what: string): Array<[string, string]> {
  const seen = new Set<string>();
  return list.map((v) => {
    const i = v.indexOf('=');
    if (i <= 0 || i === v.length - 1) throw new BadInputError(`--${what} takes name=path, got ${JSON.stringify(v)}`);
    const name = v.slice(0, i);
    if (seen.has(name)) throw new BadInputError(`--${what} ${name} is given twice`);
    seen.add(name);
    return [name, v.slice(i + 1)];
  });
}

function setFile(name: string, p: string): string {
  if (!fs.existsSync(p)) throw new BadInputError(`--set ${name}: ${p} not found`);
  if (fs.statSync(p).isDirectory()) {
    const f = path.join(p, 'test.json');
    if (!fs.existsSync(f)) throw new BadInputError(`--set ${name}: ${p} has no test.json (the shipped sets' layout: train.json + test.json)`);
    return f;
  }
  return p;
}

/**
 * Scores adapters on sets and writes the report files into `o.out` (which must not exist).
 * @example await runEvaluate({ adapter: ['mine=my-lora'], set: ['piqa=data/piqa'], limit: 100, scorer: 'loglik', template: '{prompt}\n', out: 'eval' })
 */
export async function runEvaluate(o: EvaluateCommandOptions, progress?: (s: string) => void): Promise<EvaluationResults> {
  if (o.adapter.length === 0) throw new BadInputError('give at least one --adapter name=dir');
  if (o.set.length === 0) throw new BadInputError('give at least one --set name=path');
  if (!Number.isInteger(o.limit) || o.limit < 0) throw new BadInputError(`--limit must be an integer >= 0, got ${o.limit}`);
  if (fs.existsSync(o.out)) throw new BadInputError(`${o.out} exists; choose a new output directory`);
  const adapters = pairs(o.adapter, 'adapter').map(([name, dir]) => {
    try {
      return { name, dir, base: readPeftAdapter(dir).config.baseModelNameOrPath };
    } catch (e) {
      throw new BadInputError(`--adapter ${name}: ${(e as Error).message}`);
    }
  });
  const sets = pairs(o.set, 'set').map(([name, p]) => ({ name, file: setFile(name, p) }));
  const protocols: Array<'paper' | 'knowledge'> = o.protocol === 'knowledge' ? ['knowledge'] : o.protocol === 'paper' ? ['paper'] : ['paper', 'knowledge'];
  // --limit subsamples the paper protocol; the knowledge protocol scores the full split, or --limit items when that
  // is at least 1,000 (fewer would hide the differences it is for).
  const cfg = resolveEvaluatorConfig({
    protocols, scorer: o.scorer, maxItemsPerSet: o.limit, crossMatrix: true,
    knowledge: { metric: 'acc', maxItemsPerSet: o.limit >= 1000 ? o.limit : 0, crossMatrix: true }, generative: { template: o.template },
  });
  const baseRef = o.base ?? adapters.find((a) => a.base)?.base;
  if (!baseRef) throw new BadInputError('the adapters name no base model (base_model_name_or_path); give --base <dir|name>');
  const baseDir = fs.existsSync(path.join(baseRef, 'config.json')) ? path.resolve(baseRef) : resolveModelDir(path.basename(baseRef), '--base');
  const backend = await initBackend();
  const parent = path.dirname(path.resolve(o.out));
  fs.mkdirSync(parent, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(parent, `.${path.basename(o.out)}.tmp-`));
  try {
    await evaluate({
      baseModel: { dir: baseDir, nameOrPath: baseDir }, sets: sets.map((s) => ({ name: s.name, file: s.file })), heldOut: sets.map((s) => s.name),
      trainingLoras: adapters.map((a) => ({ name: a.name, trainedOn: '-', dir: a.dir })), generated: [], averageTrainingLoras: false,
      runInfo: { backend: backend.name, runId: 'dnd evaluate', date: new Date().toISOString(), baseModel: { name: path.basename(baseDir) } },
    }, cfg, {
      outDir: tmp,
      loadModel: async (dir, name) => hostCausalLM(await loadCausalLM(dir), name),
      progress: progress ? (p) => progress(`${p.items.done}/${p.items.total} item-adapter pairs · ${p.last}`) : undefined,
    });
    const results = JSON.parse(fs.readFileSync(path.join(tmp, 'results.json'), 'utf8')) as EvaluationResults;
    fs.renameSync(tmp, o.out);
    return results;
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    if ((e as Error).name === 'AdapterMismatchError' || /^adapter "/.test((e as Error).message)) throw new BadInputError((e as Error).message);
    throw e;
  }
}

const int = (v: string): number => {
  if (!/^\d+$/.test(v)) throw new BadInputError(`--limit must be a non-negative integer, got ${JSON.stringify(v)}`);
  return Number.parseInt(v, 10);
};
const collect = (v: string, prev: string[]): string[] => [...prev, v];

/** Registers `dnd evaluate` on the CLI. */
export function registerEvaluate(program: Command, out: (s: string) => void, note: (s: string) => void): void {
  program
    .command('evaluate')
    .description('score PEFT adapters (generated, trained elsewhere, from a zoo) on task sets beside the base model; writes results.json, report.md, report.html, predictions.arrow')
    .option('--adapter <name=dir>', 'an adapter directory (adapter_config.json + adapter_model.safetensors); repeatable', collect, [] as string[])
    .option('--set <name=path>', 'a set in the shipped instruction format: a .json file or a folder with test.json; repeatable', collect, [] as string[])
    .option('--base <dir|name>', 'the base model (default: the adapters\' base_model_name_or_path, by name under the model cache)')
    .option('--limit <n>', 'items per set in the paper protocol, subsampled with a fixed seed (0 = all); the knowledge protocol scores the full split, or n items when n >= 1000', int, 0)
    .addOption(new Option('--scorer <kind>', 'log-likelihood of each choice, or generation with strict parsing (the paper)').choices(['loglik', 'generative']).default('loglik'))
    .addOption(new Option('--protocol <which>', 'paper: the sets\' label format as --scorer scores it; knowledge: log-likelihood of the choice texts (lm-eval style); both').choices(['paper', 'knowledge', 'both']).default('both'))
    .option('--template <text>', 'how a prompt is shown to the model ({prompt} is replaced); the zoo was trained on "{prompt}\\n"', '{prompt}\n')
    .requiredOption('--out <dir>', 'the report directory to create (must not exist)')
    .addHelpText('after', '\nAdapters made for another base model are refused before anything is scored.\nExample:\n'
      + '  dnd evaluate --adapter mine=my-lora --adapter zoo=runs/artifacts/.../snapshots/step-0050 --set piqa=data/piqa --limit 200 --out eval-piqa')
    .action(async (o: EvaluateCommandOptions) => {
      await runEvaluate(o, (s) => note(`scored ${s}`));
      const md = path.join(o.out, 'report.md');
      out(fs.readFileSync(md, 'utf8').trim());
      out(`\nreport: ${path.resolve(md)}\nreport (html): ${path.resolve(o.out, 'report.html')}`);
    });
}
