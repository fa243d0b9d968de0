// `dnd export-generator <run|alias> <dir>`: turns a run's stored trainGenerator output (decoder checkpoint +
// the pipeline's generator.json, which names host paths and file:// URIs) into the portable generator
// directory of @dnd/decoder (names and digests only, a model card with the run's scores).
// Not the format (packages/decoder/src/generator-dir.ts) and not training.
import * as fs from 'fs';
import * as path from 'path';
import { fileURLToPath } from 'url';
import type { Command } from 'commander';
import { BadInputError, LocalArtifactStore, readHfConfig, type ArtifactRef } from '@dnd/core';
import { readZooManifest } from '@dnd/dataset';
import { loadCheckpoint, loraTemplateFromAdapter, writeGeneratorDir, type GeneratorManifest, type GeneratorScore } from '@dnd/decoder';
import { packageVersions } from '../activities/versions';
import { DEFAULT_RUN_CONFIG } from '../config';
import type { GeneratorInfo } from '../real-steps/generator-info';
import { runFiles, type SavedRun } from '../session';

/** The pipeline's trainGenerator generator.json (written by real-steps/train-generator-step.ts). */
type PipelineGeneratorInfo = GeneratorInfo;

/** Where export-generator looks for runs and aliases. */
export interface ExportGeneratorOptions {
  /** Parent of run directories (default: the default config's runsDir, relative to the working directory). */
  runsDir?: string;
  /** Artifact store holding aliases (default: the run's, else the default config's artifactsDir). */
  artifactsDir?: string;
}

/** What was exported, for printing. */
export interface ExportGeneratorResult {
  dir: string;
  source: string;
  manifest: GeneratorManifest;
}

const refPath = (ref: ArtifactRef, what: string): string => {
  if (!ref?.uri?.startsWith('file://')) throw new BadInputError(`${what}: ${JSON.stringify(ref?.uri)} is not a local artifact`);
  const p = fileURLToPath(ref.uri);
  if (!fs.existsSync(p)) throw new BadInputError(`${what}: ${p} no longer exists (artifact store cleaned?)`);
  return p;
};

function readJson<T>(file: string, what: string): T {
  if (!fs.existsSync(file)) throw new BadInputError(`${what}: ${file} not found`);
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch (e) {
    throw new BadInputError(`${what}: ${file} is not valid JSON (${(e as Error).message})`);
  }
}

/** The trainGenerator output directory of a run (by id or directory) or an alias, with the run if any. */
async function locate(what: string, o: ExportGeneratorOptions): Promise<{ genDir: string; run: SavedRun | null; report: string | null; source: string }> {
  const runsDir = path.resolve(o.runsDir ?? DEFAULT_RUN_CONFIG.runsDir);
  const runDir = fs.existsSync(path.join(what, 'config.json')) ? path.resolve(what) : path.join(runsDir, what);
  if (fs.existsSync(runFiles(runDir).config)) {
    const run = readJson<SavedRun>(runFiles(runDir).config, `run ${what}`);
    if (!fs.existsSync(runFiles(runDir).manifest)) throw new BadInputError(`run ${what} has no manifest.json yet (not finished? \`dnd status ${run.runId}\`)`);
    const m = readJson<{ artifacts: Record<string, ArtifactRef> }>(runFiles(runDir).manifest, `run ${what}`);
    const gen = m.artifacts['generator'];
    if (!gen) throw new BadInputError(`run ${what}: its manifest records no generator (artifacts: ${Object.keys(m.artifacts).join(', ')})`);
    return { genDir: refPath(gen, `run ${what} generator`), run, report: m.artifacts['report'] ? refPath(m.artifacts['report'], `run ${what} report`) : null, source: `run ${run.runId}` };
  }
  if (/^[A-Za-z0-9._-]+$/.test(what)) {
    const store = new LocalArtifactStore(path.resolve(o.artifactsDir ?? DEFAULT_RUN_CONFIG.artifactsDir));
    const rec = await store.getAlias(what);
    if (rec) return { genDir: refPath(rec.ref, `alias ${what}`), run: null, report: null, source: `alias ${what}` };
    throw new BadInputError(`"${what}" is neither a run under ${runsDir} nor an alias in ${store.root} (e.g. latest-generator)`);
  }
  throw new BadInputError(`"${what}" is not a run directory (no config.json) and not a run id under ${runsDir}`);
}

/** Scores per held-out set from a pipeline report's results.json. */
function scoresOf(reportDir: string | null): GeneratorScore[] | null {
  if (!reportDir || !fs.existsSync(path.join(reportDir, 'results.json'))) return null;
  const r = readJson<{ metric: string; heldOut: Array<{ set: string; n: number; base: { value: number }; generated: { value: number } | null; loraMean: { value: number } | null }> }>(path.join(reportDir, 'results.json'), 'report');
  return r.heldOut.map((h) => ({ set: h.set, n: h.n, metric: r.metric, base: h.base.value, generated: h.generated?.value ?? null, trainingLoraMean: h.loraMean?.value ?? null }));
}

/**
 * Writes the portable generator directory of a run's (or an alias's) trained generator.
 * @example await exportGenerator('quickstart-20261201-101500', 'my-generator') // .manifest.baseModel.name
 */
export async function exportGenerator(what: string, outDir: string, o: ExportGeneratorOptions = {}): Promise<ExportGeneratorResult> {
  const { genDir, run, report, source } = await locate(what, o);
  const info = readJson<PipelineGeneratorInfo>(path.join(genDir, 'generator.json'), `${source}: the trainGenerator output`);
  if (!info.zoo?.length || !info.baseModel || !info.encoder) throw new BadInputError(`${source}: ${path.join(genDir, 'generator.json')} is not a trainGenerator record (no zoo, baseModel or encoder)`);
  let ck;
  try {
    ck = loadCheckpoint(path.join(genDir, 'generator'));
  } catch (e) {
    throw new BadInputError(`${source}: ${(e as Error).message}`);
  }
  const zooDir = refPath(info.zoo[0]!.output, `${source}: zoo of ${info.zoo[0]!.set}`);
  const zm = readZooManifest(zooDir);
  const last = zm?.snapshots[zm.snapshots.length - 1];
  if (!last) throw new BadInputError(`${source}: the zoo of ${info.zoo[0]!.set} (${zooDir}) has no snapshots to take the LoRA layout from`);
  const template = loraTemplateFromAdapter(path.join(zooDir, last.path), info.tokenShape[2] - 2);
  let architecture: string | null = null;
  try { architecture = readHfConfig(info.baseModel.source).architecture; } catch { /* the base model folder is gone: not recorded */ }
  const lw = ck.lossWeights;
  const tg = (run?.config.steps as Record<string, Record<string, unknown>> | undefined)?.['trainGenerator'];
  const settings: Record<string, string | number | boolean | null> = { ...info.split, textLength: info.textLength, promptsPerPair: info.promptsPerPair };
  if (run) Object.assign(settings, { runSeed: run.config.seed, batchSize: (tg?.['batchSize'] as number) ?? null, poolPerSet: (tg?.['poolPerSet'] as number) ?? null });
  const manifest = writeGeneratorDir(outDir, {
    params: ck.params, decoder: ck.state.decoder, template,
    encoder: { name: path.basename(info.encoder), digest: info.encoderDigest, kind: 'bert' },
    baseModel: { name: path.basename(info.baseModel.source), digest: info.baseModel.digest, architecture },
    training: {
      sets: info.trainSets, heldOut: info.heldOut, steps: ck.state.step, finalLoss: ck.state.loss, train: ck.state.train, settings,
      loss: { kind: 'weighted-mse', tokenWeights: lw && lw.some((v) => v !== 1) ? 'method' : 'uniform' },
    },
    evaluation: scoresOf(report),
    versions: packageVersions(),
  });
  return { dir: outDir, source, manifest };
}

/** Registers `dnd export-generator` on the CLI. */
export function registerExportGenerator(program: Command, out: (s: string) => void): void {
  program
    .command('export-generator')
    .description('write a trained generator as a portable directory (weights, generator.json with names and digests, model card) that `dnd generate` and `dnd serve` load')
    .argument('<run|alias>', 'a run id (under --runs-dir), a run directory, or an artifact alias such as latest-generator')
    .argument('<dir>', 'the directory to create (must not exist, or be empty)')
    .option('--runs-dir <dir>', 'parent of run directories', DEFAULT_RUN_CONFIG.runsDir)
    .option('--artifacts <dir>', 'artifact store holding aliases', DEFAULT_RUN_CONFIG.artifactsDir)
    .addHelpText('after', '\nExamples:\n  dnd export-generator quickstart-20261201-101500 generators/commonsense\n  dnd export-generator latest-generator generators/latest')
    .action(async (what: string, dir: string, o: { runsDir: string; artifacts: string }) => {
      const r = await exportGenerator(what, dir, { runsDir: o.runsDir, artifactsDir: o.artifacts });
      const m = r.manifest;
      out(`exported ${r.source} -> ${path.resolve(r.dir)}`);
      out(`  base model ${m.baseModel.name}, encoder ${m.encoder.name}, N = ${m.condition.promptsPerLora} prompts per LoRA, r ${m.lora.adapterConfig.r}, ${m.weights.params.toLocaleString('en-US')} decoder parameters`);
      out(`  trained on ${m.training.sets.join(', ')}${m.evaluation ? `; scores of ${m.evaluation.map((s) => s.set).join(', ')} in README.md` : ''}`);
    });
}
