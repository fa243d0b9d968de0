// Decoder checkpoints on disk: <dir>/step-NNNNNN/{generator.safetensors, state.json} plus <dir>/latest.json.
// Parameters use the reference's state-dict names and PyTorch layouts; the optimiser moments sit beside
// them as optimizer.exp_avg.<name> / optimizer.exp_avg_sq.<name>. A step directory is written under a
// temporary name and renamed into place, then latest.json is replaced atomically: a crash never leaves a
// half checkpoint under a real name. Not the training loop (trainer.ts).
import * as fs from 'fs';
import * as path from 'path';
import { SafetensorsFile, writeFileAtomic, writeSafetensors, type TensorData, type TensorToWrite } from '@dnd/core';
import { validateDecoderConfig, type DecoderConfig } from './decoder-config';
import type { TrainConfig } from './train-config';

export const CHECKPOINT_FORMAT = 'dnd-decoder-checkpoint';
export const CHECKPOINT_VERSION = 1;
const WEIGHTS = 'generator.safetensors';
const STATE = 'state.json';
const LATEST = 'latest.json';

/** What state.json holds. */
export interface CheckpointState {
  format: typeof CHECKPOINT_FORMAT;
  version: number;
  step: number;
  decoder: DecoderConfig;
  train: TrainConfig | null;
  loss: number | null;
  /** Free-form provenance (token layout, adapter config, dataset digests...). */
  meta: Record<string, unknown>;
}

/** Everything a checkpoint carries, as plain data. */
export interface CheckpointContents {
  state: CheckpointState;
  /** Parameters, PyTorch layouts. */
  params: Map<string, TensorData>;
  /** Optimiser moments (empty for a generator-only save). */
  expAvg: Map<string, TensorData>;
  expAvgSq: Map<string, TensorData>;
  /** Per-token loss weights [Nw] (null for a generator-only save). */
  lossWeights: Float32Array | null;
}

/** The step directory name, zero-padded so that names sort by step. */
export function stepDirName(step: number): string {
  return `step-${String(step).padStart(6, '0')}`;
}

/**
 * Writes a checkpoint for `contents.state.step` under `dir` and points latest.json at it; keeps the
 * newest `keep` step directories. Returns the step directory.
 */
export function saveCheckpoint(dir: string, contents: CheckpointContents, keep = 2): string {
  fs.mkdirSync(dir, { recursive: true });
  const name = stepDirName(contents.state.step);
  const final = path.join(dir, name);
  const tmp = path.join(dir, `${name}.tmp-${process.pid}`);
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp);
  const tensors = new Map<string, TensorToWrite>();
  const put = (k: string, t: TensorData) => tensors.set(k, { dtype: 'F32', shape: [...t.shape], data: t.data });
  for (const [k, t] of contents.params) put(k, t);
  for (const [k, t] of contents.expAvg) put(`optimizer.exp_avg.${k}`, t);
  for (const [k, t] of contents.expAvgSq) put(`optimizer.exp_avg_sq.${k}`, t);
  if (contents.lossWeights) put('criterion_weight', { data: contents.lossWeights, shape: [contents.lossWeights.length] });
  writeSafetensors(path.join(tmp, WEIGHTS), tensors, { format: 'pt', step: String(contents.state.step) });
  fs.writeFileSync(path.join(tmp, STATE), `${JSON.stringify(contents.state, null, 2)}\n`);
  fs.rmSync(final, { recursive: true, force: true });
  fs.renameSync(tmp, final);
  writeFileAtomic(path.join(dir, LATEST), `${JSON.stringify({ step: contents.state.step, path: name })}\n`);
  const old = fs.readdirSync(dir).filter((n) => /^step-\d+$/.test(n)).sort();
  for (const n of old.slice(0, Math.max(0, old.length - keep))) fs.rmSync(path.join(dir, n), { recursive: true, force: true });
  return final;
}

/** The step directory latest.json points at, or null when `dir` has no checkpoint. */
export function latestCheckpoint(dir: string): string | null {
  const f = path.join(dir, LATEST);
  if (!fs.existsSync(f)) return null;
  let rec: { path?: unknown };
  try { rec = JSON.parse(fs.readFileSync(f, 'utf8')); } catch (e) { throw new Error(`${f}: invalid JSON (${(e as Error).message})`); }
  if (typeof rec.path !== 'string' || !/^step-\d+$/.test(rec.path)) throw new Error(`${f}: "path" must name a step-NNNNNN directory, got ${JSON.stringify(rec.path)}`);
  const p = path.join(dir, rec.path);
  if (!fs.existsSync(path.join(p, STATE))) throw new Error(`${f} points at ${p}, which has no ${STATE}`);
  return p;
}

/**
 * Reads a checkpoint: `where` is a step directory or a checkpoint root with latest.json.
 * @example const { state, params } = loadCheckpoint('runs/decoder'); HyperConvDecoder.fromStateDict(state.decoder, params)
 */
export function loadCheckpoint(where: string): CheckpointContents {
  const stepDir = fs.existsSync(path.join(where, STATE)) ? where : latestCheckpoint(where);
  if (!stepDir) throw new Error(`loadCheckpoint: ${where} holds no decoder checkpoint (no ${STATE}, no ${LATEST})`);
  const stateFile = path.join(stepDir, STATE);
  const state = JSON.parse(fs.readFileSync(stateFile, 'utf8')) as CheckpointState;
  if (state.format !== CHECKPOINT_FORMAT) throw new Error(`${stateFile}: format ${JSON.stringify(state.format)} is not ${CHECKPOINT_FORMAT}`);
  if (state.version !== CHECKPOINT_VERSION) throw new Error(`${stateFile}: version ${state.version} is not supported (expected ${CHECKPOINT_VERSION})`);
  validateDecoderConfig(state.decoder, `${stateFile} decoder`);
  const f = SafetensorsFile.open(path.join(stepDir, WEIGHTS));
  const out: CheckpointContents = { state, params: new Map(), expAvg: new Map(), expAvgSq: new Map(), lossWeights: null };
  try {
    for (const n of f.names) {
      const t = f.readFloat(n);
      if (n === 'criterion_weight') out.lossWeights = t.data;
      else if (n.startsWith('optimizer.exp_avg_sq.')) out.expAvgSq.set(n.slice('optimizer.exp_avg_sq.'.length), t);
      else if (n.startsWith('optimizer.exp_avg.')) out.expAvg.set(n.slice('optimizer.exp_avg.'.length), t);
      else out.params.set(n, t);
    }
  } finally {
    f.close();
  }
  return out;
}
