// The evaluate step for the orchestrator: typed input (sets, adapter dirs), config and dependencies in;
// results.json, report.md, report.html and predictions.arrow written atomically; artifact references out.
// Not the scoring or the report layout (run-evaluation.ts, report-*.ts); not the artifact store's keying.
import * as fs from 'fs';
import * as path from 'path';
import { pathToFileURL } from 'url';
import { canonicalJson, readPeftAdapter, sha256Hex, writeFileAtomic, type ArtifactRef, type LoraAdapter } from '@dnd/core';
import { resolveEvaluatorConfig, type EvaluatorConfig } from './config';
import { probeName, type ProbeLora } from './diagnostics';
import { readInstructionSet, type EvalItem } from './eval-item';
import { writePredictions } from './predictions-arrow';
import { renderHtml } from './report-html';
import { renderMarkdown } from './report-markdown';
import { runEvaluation, type EvalSet, type EvaluationResults, type GeneratedLora, type Progress, type TrainingLora } from './run-evaluation';
import { validateRunInfo, type RunInfo } from './run-info';
import type { EvalModel } from './scoring-model';

/** Bump when outputs change for the same input and config (part of the orchestrator's cache key). */
export const EVALUATE_STEP_VERSION = '8'; // 2: results carry runInfo (tensor backend); 3: two protocols, paired statistics, typed runInfo, shared-prefix scoring (same numbers up to float rounding); 4: generation batches prompts by length (same outputs up to float rounding); 5: the spread counts each probe draw once, the notes name only the run's protocols; 6: on a set that is not held out, the base and each training LoRA are scored in a pass of its own (same numbers up to float rounding; their calls repeat across folds); 7: strict generative scoring stops a row once its answer is decided (same predictions; the `output` column holds the text up to there); the knowledge protocol's headline metric may differ per set (knowledge.metricBySet; results carry metricBySet and each held-out summary its metric); 8: each protocol's results carry its scoring time (timing), and the report a scoring-time row

/** A set: items as typed data, or an instruction-format JSON file to convert. */
export interface EvaluateSetInput {
  name: string;
  items?: EvalItem[];
  file?: string;
  split?: string;
}

/** Input of the evaluate step: paths and names only (Temporal-payload sized). */
export interface EvaluateInput {
  /** The base model: a HF directory and the name adapters record as base_model_name_or_path. */
  baseModel: { dir: string; nameOrPath: string };
  sets: EvaluateSetInput[];
  /** Sets reported as held out (columns of the headline table). */
  heldOut: string[];
  /** Training LoRAs (PEFT dirs). `failed` marks a LoRA whose training failed: it counts as 0. */
  trainingLoras: { name: string; trainedOn: string; dir?: string; failed?: string }[];
  /** Generated LoRAs (PEFT dirs), K samples per held-out set, from N prompts each. */
  generated: { heldOut: string; sample: number; dir: string; numPrompts?: number }[];
  /** Score the average of the training LoRAs per held-out set (default true; see EvaluationPlan). */
  averageTrainingLoras?: boolean;
  /** Probe LoRAs (PEFT dirs) for the diagnostics: prompt swap and in-distribution (see ProbeLora). */
  probes?: { kind: 'promptSwap' | 'inDistribution'; scoredOn: string; promptsFrom: string; sample: number; dir: string }[];
  /** How the run was made (run id, preset, commit, base model, encoder, backend, step times, the generator's loss): into results.json and the report header. */
  runInfo?: RunInfo;
}

/** What evaluate needs from outside. */
export interface EvaluateDeps {
  /** Loads the base model as an EvalModel (e.g. hostCausalLM(await loadCausalLM(dir), nameOrPath)). */
  loadModel(dir: string, nameOrPath: string): Promise<EvalModel>;
  /** Reads a PEFT adapter directory (default: @dnd/core readPeftAdapter). */
  readAdapter?: (dir: string) => LoraAdapter;
  /** Directory the four files go to (created). */
  outDir: string;
  progress?: Progress;
  /** Called once the model is no longer needed (e.g. dispose). */
  releaseModel?: (m: EvalModel) => void;
}

/** The step's output: references only. */
export interface EvaluateOutput {
  results: ArtifactRef;
  markdown: ArtifactRef;
  html: ArtifactRef;
  predictions: ArtifactRef;
}

function refFor(file: string, data: Buffer | string, mediaType: string): ArtifactRef {
  const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  return { uri: pathToFileURL(path.resolve(file)).href, sha256: sha256Hex(buf), bytes: buf.length, mediaType };
}

/**
 * Scores the base model, every training LoRA, the averaged LoRA and the generated LoRAs under each
 * protocol of the config (paper, knowledge), and writes results.json, report.md, report.html and
 * predictions.arrow under deps.outDir. The reports carry no absolute local path (names only).
 * A training LoRA whose directory cannot be read is an error (mark it `failed` to count it as 0);
 * an adapter made for another base model is an error.
 * @example
 * const out = await evaluate(input, { maxItemsPerSet: 200 }, { outDir: 'runs/eval', loadModel: async (d, n) => hostCausalLM(await loadCausalLM(d), n) });
 * console.log(out.html.uri);
 */
export async function evaluate(input: EvaluateInput, config: Partial<EvaluatorConfig> | Record<string, unknown> | undefined, deps: EvaluateDeps): Promise<EvaluateOutput> {
  const cfg = resolveEvaluatorConfig(config);
  if (input.runInfo !== undefined) validateRunInfo(input.runInfo, 'evaluate: runInfo');
  const read = deps.readAdapter ?? readPeftAdapter;
  const sets: EvalSet[] = input.sets.map((s) => {
    if (s.items && s.file) throw new Error(`set "${s.name}": give items or file, not both`);
    if (s.items) return { name: s.name, items: s.items };
    if (s.file) return { name: s.name, items: readInstructionSet(s.file, s.name, s.split ?? 'test') };
    throw new Error(`set "${s.name}": neither items nor file given`);
  });
  const readOr = (dir: string, what: string): LoraAdapter => {
    try { return read(dir); } catch (e) { throw new Error(`${what} (${dir}): ${(e as Error).message}`); }
  };
  const trainingLoras: TrainingLora[] = input.trainingLoras.map((l) => ({
    name: l.name, trainedOn: l.trainedOn, failed: l.failed,
    adapter: l.failed || !l.dir ? null : readOr(l.dir, `training LoRA "${l.name}"`),
  }));
  const generated: GeneratedLora[] = input.generated.map((g) => ({
    heldOut: g.heldOut, sample: g.sample, numPrompts: g.numPrompts, adapter: readOr(g.dir, `generated LoRA ${g.heldOut}#${g.sample}`),
  }));

  const probes: ProbeLora[] = (input.probes ?? []).map((p) => ({
    kind: p.kind, scoredOn: p.scoredOn, promptsFrom: p.promptsFrom, sample: p.sample, adapter: readOr(p.dir, `probe LoRA ${probeName(p)}`),
  }));

  const model = await deps.loadModel(input.baseModel.dir, input.baseModel.nameOrPath);
  let results: EvaluationResults;
  let rows;
  try {
    ({ results, rows } = await runEvaluation({ sets, heldOut: input.heldOut, trainingLoras, generated, probes, averageTrainingLoras: input.averageTrainingLoras }, cfg, model, deps.progress));
    if (input.runInfo) results.runInfo = structuredClone(input.runInfo);
  } finally {
    deps.releaseModel?.(model);
  }

  fs.mkdirSync(deps.outDir, { recursive: true });
  const files = {
    results: path.join(deps.outDir, 'results.json'),
    markdown: path.join(deps.outDir, 'report.md'),
    html: path.join(deps.outDir, 'report.html'),
    predictions: path.join(deps.outDir, 'predictions.arrow'),
  };
  const predBuf = writePredictions(files.predictions, rows, {
    'dnd.step': 'evaluate', 'dnd.stepVersion': EVALUATE_STEP_VERSION, 'dnd.seed': String(cfg.seed),
    'dnd.configDigest': sha256Hex(canonicalJson(cfg)), 'dnd.baseModel': input.baseModel.nameOrPath,
  });
  const json = `${JSON.stringify(results, null, 2)}\n`;
  const md = renderMarkdown(results);
  const html = renderHtml(results);
  writeFileAtomic(files.results, json);
  writeFileAtomic(files.markdown, md);
  writeFileAtomic(files.html, html);
  return {
    results: refFor(files.results, json, 'application/json'),
    markdown: refFor(files.markdown, md, 'text/markdown'),
    html: refFor(files.html, html, 'text/html'),
    predictions: refFor(files.predictions, predBuf, 'application/vnd.apache.arrow.file'),
  };
}
