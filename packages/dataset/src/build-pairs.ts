// The pairs step: a collected zoo -> prompts.arrow (condition prompts of every set), checkpoints.arrow
// (every snapshot as token grids, method §4, via core's one tokenizer) and loss-weights.arrow (§4.4),
// plus pairs.json. Verifies every snapshot against its manifest first. Not the sampler (pair-sampler.ts).
import * as fs from 'fs';
import * as path from 'path';
import { pathToFileURL } from 'url';
import { canonicalJson, checkNumber, type ArtifactRef, loraTokenLayoutOf, readPeftAdapter, sha256File, tokenizeLora, tokenLossWeights, writeFileAtomic, type LoraTokenLayout, type TensorData } from '@dnd/core';
import { CheckpointStoreWriter, type CheckpointRow } from './checkpoint-store';
import { writeLossWeights } from './loss-weights';
import { writePromptStore } from './prompt-store';
import { loadTaskSet, type TaskSet } from './task-set';
import { verifyZooSet, type ZooSetManifest } from './zoo-manifest';

export const BUILD_PAIRS_STEP_VERSION = '1';
export const ARROW_FILE_MEDIA_TYPE = 'application/vnd.apache.arrow.file';

export interface BuildPairsConfig {
  /** Chunk width w of the token grids; 0 = the largest w <= 128 dividing every LoRA dimension. */
  tokenWidth: number;
}

export const DEFAULT_BUILD_PAIRS_CONFIG: BuildPairsConfig = {
  tokenWidth: 0, // auto: 96 for SmolLM2-135M (576/1536/192), 128 for Qwen2.5-0.5B as in the paper
};

export function validateBuildPairsConfig(cfg: BuildPairsConfig): void {
  checkNumber('BuildPairsConfig', 'tokenWidth', cfg.tokenWidth, { integer: true, min: 0 });
}

export interface BuildPairsInput {
  /** Set folders of a collected zoo (each with manifest.json), in the order rows are written. */
  setDirs?: string[];
  /** Or: the zoo.json that collectZoo wrote (its sets, in order). */
  zooFile?: string;
  /** Where prompts.arrow, checkpoints.arrow, loss-weights.arrow and pairs.json go. */
  outDir: string;
}

export interface BuildPairsOutput {
  prompts: ArtifactRef;
  checkpoints: ArtifactRef;
  lossWeights: ArtifactRef;
  manifest: ArtifactRef;
  tokenShape: [number, number, number];
  sets: string[];
}

/** Reference to a file just written. */
export function fileRef(file: string, mediaType: string): ArtifactRef {
  return { uri: pathToFileURL(path.resolve(file)).href, sha256: sha256File(file), bytes: fs.statSync(file).size, mediaType };
}

/** The largest w <= 128 dividing every chunked dimension (lora_A's in, lora_B's out). */
function autoWidth(adapter: { tensors: Map<string, TensorData> }): number {
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
  let g = 0;
  for (const [name, t] of adapter.tensors) g = gcd(g, name.includes('lora_A') ? t.shape[1]! : t.shape[0]!);
  for (let w = Math.min(128, g); w > 1; w--) if (g % w === 0) return w;
  return 1;
}

/** The set folders a zoo.json lists, resolved against its folder. */
function zooSetDirs(zooFile: string): string[] {
  if (!fs.existsSync(zooFile)) throw new Error(`buildPairs: ${zooFile} not found`);
  const z = JSON.parse(fs.readFileSync(zooFile, 'utf8')) as { sets?: Array<{ dir: string }> };
  if (!Array.isArray(z.sets)) throw new Error(`buildPairs: ${zooFile} lists no sets`);
  return z.sets.map((s) => path.resolve(path.dirname(zooFile), s.dir));
}

/**
 * Builds the Arrow pairs from a collected zoo. Every set must be complete and verify against its manifest;
 * all sets must share base model, rank and target modules; a snapshot whose shapes differ fails naming it.
 * @example const out = await buildPairs({ setDirs: ['zoo/piqa', 'zoo/boolq'], outDir: 'pairs' }, {});
 */
export async function buildPairs(input: BuildPairsInput, preset: Partial<BuildPairsConfig> = {}): Promise<BuildPairsOutput> {
  const cfg = { ...DEFAULT_BUILD_PAIRS_CONFIG, ...preset };
  validateBuildPairsConfig(cfg);
  const setDirs = input.setDirs ?? (input.zooFile ? zooSetDirs(input.zooFile) : []);
  if (setDirs.length === 0) throw new Error('buildPairs: no zoo sets given (setDirs or zooFile)');
  const manifests: Array<{ dir: string; m: ZooSetManifest }> = setDirs.map((dir) => ({ dir, m: verifyZooSet(dir, { requireComplete: true }) }));
  const first = manifests[0]!.m;
  for (const { dir, m } of manifests) {
    if (m.baseModel.digest !== first.baseModel.digest) throw new Error(`buildPairs: ${dir} was collected on base model ${m.baseModel.digest}, ${manifests[0]!.dir} on ${first.baseModel.digest}`);
    if (m.config.rank !== first.config.rank || canonicalJson(m.config.targetModules) !== canonicalJson(first.config.targetModules)) {
      throw new Error(`buildPairs: ${dir} has rank ${m.config.rank} / modules ${m.config.targetModules}, ${manifests[0]!.dir} has rank ${first.config.rank} / modules ${first.config.targetModules}: one zoo needs one LoRA structure`);
    }
  }
  const names = manifests.map((x) => x.m.set);
  if (new Set(names).size !== names.length) throw new Error(`buildPairs: a set appears twice (${names.join(', ')})`);

  // Prompts: reload each set exactly as collected (same files, same seeded split).
  const sets: TaskSet[] = [];
  for (const { dir, m } of manifests) {
    const ts = await loadTaskSet(m.taskSet.root, { skipBad: m.config.skipBad, splitSeed: m.config.splitSeed, trainFraction: m.config.trainFraction });
    if (canonicalJson(ts.sources) !== canonicalJson(m.taskSet.sources)) throw new Error(`buildPairs: the task files of ${dir} changed since collection (${m.taskSet.root})`);
    sets.push({ ...ts, name: m.set });
  }
  fs.mkdirSync(input.outDir, { recursive: true });
  const promptsFile = path.join(input.outDir, 'prompts.arrow');
  writePromptStore(promptsFile, sets);

  // Checkpoints: one layout for the zoo, from the first snapshot.
  const snapDir = (dir: string, rel: string) => path.join(dir, rel);
  const firstAdapter = readPeftAdapter(snapDir(manifests[0]!.dir, first.snapshots[0]!.path));
  const layout: LoraTokenLayout = loraTokenLayoutOf(firstAdapter, cfg.tokenWidth || autoWidth(firstAdapter));
  const rows: CheckpointRow[] = manifests.flatMap(({ dir, m }) => m.snapshots.map((s) => ({ set: m.set, step: s.step, path: path.relative(input.outDir, snapDir(dir, s.path)), sha256: s.sha256 })));
  const sources = { baseModelDigest: first.baseModel.digest, manifests: Object.fromEntries(manifests.map(({ dir, m }) => [m.set, sha256File(path.join(dir, 'manifest.json'))])) };
  const ckptFile = path.join(input.outDir, 'checkpoints.arrow');
  const writer = new CheckpointStoreWriter(ckptFile, { layout, loraConfig: firstAdapter.config, rows, sources });
  const weights = new Map<string, Float32Array>();
  try {
    let i = 0;
    for (const { dir, m } of manifests) {
      const grids = function* (): Generator<TensorData> {
        for (const s of m.snapshots) {
          const where = snapDir(dir, s.path);
          let tokens: TensorData;
          try {
            tokens = tokenizeLora(readPeftAdapter(where), layout);
          } catch (e) {
            throw new Error(`buildPairs: snapshot ${where} does not fit the zoo's LoRA structure (${(e as Error).message})`);
          }
          writer.append(rows[i++]!, tokens);
          yield tokens;
        }
      };
      weights.set(m.set, tokenLossWeights(grids()));
    }
    writer.commit();
  } catch (e) {
    writer.abort();
    throw e;
  }
  const weightsFile = path.join(input.outDir, 'loss-weights.arrow');
  writeLossWeights(weightsFile, weights, sources);

  const prompts = fileRef(promptsFile, ARROW_FILE_MEDIA_TYPE);
  const checkpoints = fileRef(ckptFile, ARROW_FILE_MEDIA_TYPE);
  const lossWeights = fileRef(weightsFile, ARROW_FILE_MEDIA_TYPE);
  const manifestFile = path.join(input.outDir, 'pairs.json');
  writeFileAtomic(manifestFile, `${JSON.stringify({ step: 'build-pairs', stepVersion: BUILD_PAIRS_STEP_VERSION, config: cfg, sets: names, tokenShape: layout.tokenShape, sources, prompts, checkpoints, lossWeights }, null, 2)}\n`);
  return { prompts, checkpoints, lossWeights, manifest: fileRef(manifestFile, 'application/json'), tokenShape: layout.tokenShape, sets: names };
}
