// Checkpoint collection for one task set (method §1.3): a warm-up LoRA fine-tune of W steps, then a
// continued run that keeps a PEFT snapshot at every step for S steps. Resumable at snapshot granularity:
// each step writes its trainer state, then the snapshot folder (temp name + rename), then the manifest,
// so a re-run continues after the last complete snapshot and never writes one twice.
// Not the model or the optimizer (@dnd/lm) and not the Arrow pairs (build-pairs.ts).
import * as fs from 'fs';
import * as path from 'path';
import { BadInputError, canonicalJson, digestPath, readSafetensors, sha256File, sha256Hex, writePeftAdapter, writeSafetensors, seededRandom, type LoraAdapter, type LoraAdapterConfig, type TensorData } from '@dnd/core';
import type { CausalLM, LoraTrainer, LoraTrainerConfig, LoraTrainerState } from '@dnd/lm';
import { resolveCollectConfig, type CollectConfig } from './collect-config';
import type { CollectProgress } from './progress';
import { loadTaskSet } from './task-set';
import { trainingExamples } from './training-examples';
import { readZooManifest, verifyZooSet, writeZooManifest, SNAPSHOT_WEIGHTS_FILE, ZOO_MANIFEST_VERSION, type ZooSetManifest } from './zoo-manifest';

/** What collection needs from outside: the base model and a trainer factory (both from @dnd/lm). */
export interface CollectDeps {
  model: CausalLM;
  createTrainer: (model: CausalLM, config: LoraTrainerConfig) => LoraTrainer;
  /** Digest recorded as the base model's identity; default: digest of model.source (a folder), else of its config. */
  baseModelDigest?: string;
  onProgress?: (p: CollectProgress) => void;
  /** Checked after every step; an abort stops after the last complete snapshot. */
  signal?: AbortSignal;
}

export interface CollectSetResult {
  set: string;
  dir: string;
  manifest: ZooSetManifest;
  /** Snapshots written by this call (0 when the set was already complete). */
  written: number;
  /** Whether an earlier, interrupted run was continued. */
  resumed: boolean;
}

const stepDir = (s: number) => `snapshots/step-${String(s).padStart(4, '0')}`;
const stateFile = (s: number) => `state/step-${String(s).padStart(4, '0')}.safetensors`;

/** Identity of a base model: its folder's digest, or (random models) the digest of its config. */
export function modelDigest(model: CausalLM): string {
  if (model.source && fs.existsSync(model.source)) return digestPath(model.source).sha256;
  return sha256Hex(`config:${canonicalJson(model.config)}`);
}

/**
 * A Float32Array of this realm. Arrays from the native tfjs backend can come from another realm under jest,
 * where `instanceof Float32Array` (used by core's safetensors writer) is false; copying fixes it.
 */
function ownF32(t: TensorData): TensorData {
  return t.data instanceof Float32Array ? t : { data: Float32Array.from(t.data), shape: [...t.shape] };
}

/** Saves a trainer state (moments + LoRA) as one safetensors file, atomically. */
export function saveTrainerState(file: string, s: LoraTrainerState): void {
  const out = new Map<string, { dtype: 'F32'; shape: number[]; data: Float32Array }>();
  const put = (prefix: string, m: Map<string, TensorData>) => { for (const [k, t] of m) out.set(`${prefix}${k}`, { dtype: 'F32', shape: [...t.shape], data: ownF32(t).data }); };
  put('m.', s.m); put('v.', s.v); put('lora.', s.lora.tensors);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  writeSafetensors(file, out, { step: String(s.step), lora_config: JSON.stringify(s.lora.config) });
}

/** Reads what saveTrainerState wrote. */
export function loadTrainerState(file: string): LoraTrainerState {
  if (!fs.existsSync(file)) throw new Error(`${file}: trainer state not found; the zoo folder is incomplete (delete it to start over)`);
  const { tensors, metadata } = readSafetensors(file);
  const m = new Map<string, TensorData>(), v = new Map<string, TensorData>(), lora = new Map<string, TensorData>();
  for (const [k, t] of tensors) {
    const dot = k.indexOf('.');
    const target = { m, v, lora }[k.slice(0, dot) as 'm' | 'v' | 'lora'];
    if (!target) throw new Error(`${file}: unexpected tensor "${k}" in trainer state`);
    target.set(k.slice(dot + 1), { data: t.data as Float32Array, shape: t.shape });
  }
  return { step: Number(metadata.step), m, v, lora: { config: JSON.parse(metadata.lora_config!) as LoraAdapterConfig, tensors: lora } };
}

function trainerConfig(cfg: CollectConfig, lr: number): LoraTrainerConfig {
  return { lr, weightDecay: cfg.weightDecay, betas: [...cfg.betas] as [number, number], eps: cfg.eps, seed: cfg.seed, maxGradNorm: cfg.maxGradNorm, gradientCheckpointing: cfg.gradientCheckpointing };
}

function sameJson(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

/**
 * Collects (or resumes collecting) one set's checkpoints into `setDir`: manifest.json, warmup/,
 * snapshots/step-NNNN/ (PEFT adapters), state/ (trainer state of the last snapshot).
 * @example
 * const model = await loadCausalLM('models/smollm2'); 
 * await collectSet('piqa', 'zoo/piqa', { warmupSteps: 75, snapshotSteps: 50 }, { model, createTrainer: createLoraTrainer, onProgress: progressBar() });
 */
/** The base model's name as adapters record it: the last component of its folder (a host path never leaves the host). */
export function baseModelName(source: string): string {
  const name = path.basename(source.replace(/[\\/]+$/, ''));
  return name || 'random';
}

export async function collectSet(ref: string, setDir: string, preset: Partial<CollectConfig>, deps: CollectDeps): Promise<CollectSetResult> {
  const cfg = resolveCollectConfig(preset);
  const ts = await loadTaskSet(ref, { skipBad: cfg.skipBad, splitSeed: cfg.splitSeed, trainFraction: cfg.trainFraction });
  const trainOn = cfg.trainOn ?? 'label';
  if (trainOn !== 'knowledge') {
    const unlabeled = ts.train.filter((it) => it.output.trim() === '').length;
    if (unlabeled) throw new BadInputError(`collectSet(${ts.name}): ${unlabeled} of ${ts.train.length} train items have an empty "output"; a LoRA cannot be fine-tuned on them`);
  }
  const examples = trainingExamples(ts.train, trainOn, cfg.promptTemplate, ts.name);
  const baseDigest = deps.baseModelDigest ?? modelDigest(deps.model);
  // PEFT's base_model_name_or_path names the base (its folder's name), never a host path: adapters travel.
  const loraCfg: LoraAdapterConfig = { r: cfg.rank, loraAlpha: cfg.loraAlpha, loraDropout: cfg.loraDropout, targetModules: [...cfg.targetModules], baseModelNameOrPath: baseModelName(deps.model.source), useRslora: false };

  let m = readZooManifest(setDir);
  const resumed = m !== null && m.status !== 'complete';
  if (m) {
    const where = `collectSet(${ts.name}): ${setDir} holds a collection`;
    if (m.set !== ts.name) throw new Error(`${where} of set "${m.set}", not "${ts.name}"`);
    if (!sameJson(m.config, cfg)) throw new Error(`${where} made with a different config (${canonicalJson(m.config)}); use another folder or the same config`);
    if (m.baseModel.digest !== baseDigest) throw new Error(`${where} on base model ${m.baseModel.digest}, not ${baseDigest}`);
    if (!sameJson(m.taskSet.sources, ts.sources)) throw new Error(`${where} of different task files (${canonicalJson(m.taskSet.sources)})`);
    verifyZooSet(setDir);
    if (m.status === 'complete') return { set: ts.name, dir: setDir, manifest: m, written: 0, resumed: false };
  } else {
    fs.mkdirSync(setDir, { recursive: true });
    m = {
      version: ZOO_MANIFEST_VERSION, set: ts.name, status: 'warmup', config: cfg,
      seeds: { lora: cfg.seed, batches: cfg.seed, split: cfg.splitSeed },
      baseModel: { source: deps.model.source, digest: baseDigest },
      taskSet: { root: ts.root, sources: ts.sources, trainSize: ts.train.length, testSize: ts.test.length },
      template: `${trainOn === 'knowledge' ? '' : `prompt = ${JSON.stringify(cfg.promptTemplate)} with {prompt} = instruction (+ "\\n\\n" + input); answer = output`}${trainOn === 'both' ? '; and ' : ''}${trainOn === 'label' ? '' : 'prompt = "Question: <question>\\nAnswer:" (endingN: the sentence); answer = " " + the gold choice text'}; loss on answer tokens (+ EOS) only`, warmup: { steps: cfg.warmupSteps, done: false, sha256: null }, snapshots: [], lossCurve: [], updatedAt: '',
    };
    writeZooManifest(setDir, m);
  }
  const man = m;

  const total = cfg.warmupSteps + cfg.snapshotSteps;
  const t0 = Date.now();
  let tokensThisRun = 0, stepsThisRun = 0;
  const batch = (t: number) => {
    const idx = seededRandom(cfg.seed, 'batch', ts.name, t).sample(examples.length, Math.min(cfg.batchSize, examples.length));
    return { prompts: idx.map((i) => examples[i]!.prompt), answers: idx.map((i) => examples[i]!.answer) };
  };
  const trainOne = async (trainer: LoraTrainer, t: number, phase: 'warmup' | 'snapshot') => {
    const s0 = Date.now();
    const r = await trainer.step(batch(t), cfg.maxSeqLen);
    if (!Number.isFinite(r.loss)) throw new Error(`collectSet(${ts.name}): loss is ${r.loss} at step ${t} (${phase}); lower the learning rate`);
    tokensThisRun += r.tokens; stepsThisRun++;
    const secs = (Date.now() - t0) / 1000;
    const report: CollectProgress = {
      set: ts.name, phase, done: t, total, loss: r.loss, tokensPerSec: tokensThisRun / Math.max(secs, 1e-9),
      stepSeconds: (Date.now() - s0) / 1000, etaSec: (secs / stepsThisRun) * (total - t),
    };
    return { r, report };
  };
  const aborted = () => deps.signal?.aborted === true;
  let written = 0;

  // Phase 1: warm-up (restarts from scratch if interrupted: nothing of it is a snapshot).
  if (!man.warmup.done) {
    deps.model.attachLora(loraCfg, cfg.seed);
    const trainer = deps.createTrainer(deps.model, trainerConfig(cfg, cfg.warmupLr));
    try {
      man.lossCurve = [];
      for (let t = 1; t <= cfg.warmupSteps; t++) {
        const { r, report } = await trainOne(trainer, t, 'warmup');
        man.lossCurve.push({ step: t, phase: 'warmup', loss: r.loss, tokens: r.tokens });
        deps.onProgress?.(report);
        if (aborted()) return { set: ts.name, dir: setDir, manifest: man, written, resumed };
      }
      saveTrainerState(path.join(setDir, 'warmup', 'state.safetensors'), trainer.exportState());
      writePeftAdapter(path.join(setDir, 'warmup', 'adapter'), withBase(deps.model.getLoraWeights(), loraCfg), { set: ts.name, phase: 'warmup' });
    } finally {
      trainer.dispose();
    }
    man.warmup = { steps: cfg.warmupSteps, done: true, sha256: sha256File(path.join(setDir, 'warmup', 'adapter', SNAPSHOT_WEIGHTS_FILE)) };
    man.status = 'collecting';
    writeZooManifest(setDir, man);
  }

  // Adopt a snapshot folder that was renamed into place just before a crash (its state was written first).
  for (;;) {
    const s = man.snapshots.length + 1;
    const dir = path.join(setDir, stepDir(s));
    if (!fs.existsSync(dir)) break;
    if (!fs.existsSync(path.join(setDir, stateFile(s)))) throw new Error(`collectSet(${ts.name}): ${dir} exists without its trainer state ${stateFile(s)}; the folder was modified by hand (delete ${dir} to redo that step)`);
    const meta = readSafetensors(path.join(dir, SNAPSHOT_WEIGHTS_FILE)).metadata;
    adoptSnapshot(man, setDir, s, Number(meta.loss), Number(meta.tokens), cfg.warmupSteps);
    if (s > 1) fs.rmSync(path.join(setDir, stateFile(s - 1)), { force: true });
  }

  // Phase 2: continue from the last complete snapshot (or the warm-up), one snapshot per step.
  const k = man.snapshots.length;
  if (k < cfg.snapshotSteps && !aborted()) {
    const state = loadTrainerState(path.join(setDir, k === 0 ? 'warmup/state.safetensors' : stateFile(k)));
    deps.model.setLoraWeights(withBase(state.lora, loraCfg));
    const trainer = deps.createTrainer(deps.model, trainerConfig(cfg, cfg.lr));
    try {
      trainer.importState(state);
      for (let s = k + 1; s <= cfg.snapshotSteps; s++) {
        const t = cfg.warmupSteps + s;
        const { r, report } = await trainOne(trainer, t, 'snapshot');
        saveTrainerState(path.join(setDir, stateFile(s)), trainer.exportState());
        const tmp = path.join(setDir, 'snapshots', `.tmp-step-${s}-${process.pid}`);
        fs.rmSync(tmp, { recursive: true, force: true });
        writePeftAdapter(tmp, withBase(deps.model.getLoraWeights(), loraCfg), { set: ts.name, step: String(s), loss: String(r.loss), tokens: String(r.tokens), base_model_digest: baseDigest });
        fs.renameSync(tmp, path.join(setDir, stepDir(s)));
        adoptSnapshot(man, setDir, s, r.loss, r.tokens, cfg.warmupSteps);
        written++;
        if (s > 1) fs.rmSync(path.join(setDir, stateFile(s - 1)), { force: true });
        deps.onProgress?.(report);
        if (aborted()) break;
      }
    } finally {
      trainer.dispose();
    }
  }
  if (man.snapshots.length === cfg.snapshotSteps) {
    man.status = 'complete';
    writeZooManifest(setDir, man);
  }
  return { set: ts.name, dir: setDir, manifest: man, written, resumed };
}

function withBase(a: LoraAdapter, cfg: LoraAdapterConfig): LoraAdapter {
  return { config: { ...cfg, targetModules: [...cfg.targetModules] }, tensors: new Map([...a.tensors].map(([k, t]) => [k, ownF32(t)])) };
}

function adoptSnapshot(man: ZooSetManifest, setDir: string, s: number, loss: number, tokens: number, warmupSteps: number): void {
  const rel = stepDir(s);
  man.snapshots.push({ step: s, path: rel, sha256: sha256File(path.join(setDir, rel, SNAPSHOT_WEIGHTS_FILE)), loss, tokens });
  man.lossCurve = man.lossCurve.filter((p) => p.step < warmupSteps + s);
  man.lossCurve.push({ step: warmupSteps + s, phase: 'snapshot', loss, tokens });
  writeZooManifest(setDir, man);
}
