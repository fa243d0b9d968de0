// THE prompt-checkpoint pair sampler, the one the run trains the decoder with (method §2, "Strategy 2"):
// element b of step t is a uniformly drawn checkpoint of some training set s and N prompts of s drawn without
// replacement from s's pool (a seeded sample of at most poolPerSet prompts), a pure function of (seed, t, b),
// so a resumed run continues the same sequence. `trainingBatches` encodes each pool once with the frozen
// encoder and yields the decoder's (condition, target) batches. Not the encoder and not the training loop.
//
// Dimensions: B batch, N prompts per pair, L text length, C encoder dim, Nw tokens, (R, Cw) = (r+2, w+2).
import { assertShape, BadInputError, checkNumber, checkOneOf, mergeConfig, seededRandom, type TensorData } from '@dnd/core';
import type { TextEncoder } from '@dnd/encoder';
import { CheckpointStore, type CheckpointRecord } from './checkpoint-store';
import { readPromptStore, type PromptSplit } from './prompt-store';

export interface PairSamplerConfig {
  /** N prompts per pair; the paper uses 128 for common sense (the pool must hold at least N). */
  promptsPerPair: number;
  /** Seed of the whole pair sequence: equal seeds give equal pairs at every (step, element). */
  seed: number;
  /** Which prompt pool conditions the pairs: 'train' for generator training, as the reference does. */
  split: PromptSplit;
  /** Held-out sets: never sampled (leave-one-dataset-out); a set without checkpoints is simply absent. */
  exclude: string[];
  /** If non-empty, only these sets are sampled (minus `exclude`); each must have checkpoints. */
  include: string[];
  /** Prompts per set that pairs draw from: a seeded sample of the pool, encoded once (0 = the whole pool). */
  poolPerSet: number;
}

export const DEFAULT_PAIR_SAMPLER_CONFIG: PairSamplerConfig = {
  promptsPerPair: 128, // the paper's common-sense batch length (Table 7)
  seed: 0, // reproducible by default; record it with the run
  split: 'train', // the reference conditions training pairs on each set's train pool
  exclude: [], // the caller names the held-out set
  include: [], // empty = every set in the store
  poolPerSet: 0, // the whole pool; a cap keeps encoding and memory bounded on a CPU
};

/** Throws naming the field and value unless `cfg` is usable. */
export function validatePairSamplerConfig(cfg: PairSamplerConfig): void {
  const where = 'PairSamplerConfig';
  checkNumber(where, 'promptsPerPair', cfg.promptsPerPair, { integer: true, min: 1 });
  checkNumber(where, 'seed', cfg.seed, { integer: true, min: 0 });
  checkOneOf(where, 'split', cfg.split, ['train', 'test'] as const);
  checkNumber(where, 'poolPerSet', cfg.poolPerSet, { integer: true, min: 0 });
  if (cfg.poolPerSet > 0 && cfg.poolPerSet < cfg.promptsPerPair) throw new Error(`${where}.poolPerSet (${cfg.poolPerSet}) must be 0 or >= promptsPerPair (${cfg.promptsPerPair})`);
  for (const f of ['exclude', 'include'] as const) {
    if (!Array.isArray(cfg[f]) || !cfg[f].every((s) => typeof s === 'string')) throw new Error(`${where}.${f} must be an array of set names, got ${JSON.stringify(cfg[f])}`);
  }
}

/** One training pair. */
export interface Pair {
  /** The step it was drawn for, and its element in that step's batch. */
  index: number;
  element: number;
  set: string;
  checkpoint: CheckpointRecord; // tokens [Nw, r+2, w+2]
  prompts: string[]; // N texts
  /** Their positions in the set's (capped) pool. */
  promptIndices: number[];
}

/** What the decoder trains on: a batch of conditions and the token grids they should produce. */
export interface TrainingBatch {
  condition: TensorData; // [B, N, L, C]
  target: TensorData; // [B, Nw, R, Cw]
}

/**
 * Draws (checkpoint, prompt batch) pairs from checkpoints.arrow + prompts.arrow.
 * @example
 * const s = await PairSampler.open('pairs/checkpoints.arrow', 'pairs/prompts.arrow', { promptsPerPair: 16, exclude: ['piqa'], poolPerSet: 256 });
 * for await (const b of s.trainingBatches(encoder, { batchSize: 4, textLength: 64 }, 0)) train(b.condition, b.target);
 * await s.close();
 */
export class PairSampler {
  private constructor(
    private readonly store: CheckpointStore,
    /** Each sampled set's capped pool, in pool order. */
    private readonly pools: Map<string, string[]>,
    /** Row indices of the eligible checkpoints. */
    private readonly rows: number[],
    readonly config: PairSamplerConfig,
  ) {}

  static async open(checkpointsFile: string, promptsFile: string, config: Partial<PairSamplerConfig> = {}): Promise<PairSampler> {
    const cfg = mergeConfig(DEFAULT_PAIR_SAMPLER_CONFIG, config, 'PairSamplerConfig');
    validatePairSamplerConfig(cfg);
    const prompts = readPromptStore(promptsFile);
    const store = await CheckpointStore.open(checkpointsFile);
    try {
      const inStore = store.sets;
      for (const s of cfg.include) {
        if (!inStore.includes(s)) throw new BadInputError(`PairSampler: set "${s}" named in include has no checkpoints in ${checkpointsFile} (sets: ${inStore.join(', ')})`);
      }
      const eligible = inStore.filter((s) => !cfg.exclude.includes(s) && (cfg.include.length === 0 || cfg.include.includes(s)));
      if (eligible.length === 0) throw new BadInputError(`PairSampler: no set left to sample (store has ${inStore.join(', ')}; excluded ${cfg.exclude.join(', ')})`);
      const pools = new Map<string, string[]>();
      for (const s of eligible) {
        const pool = prompts.pools.get(s)?.[cfg.split];
        if (!pool) throw new BadInputError(`PairSampler: ${promptsFile} has no prompts for set "${s}"`);
        if (pool.length < cfg.promptsPerPair) throw new BadInputError(`PairSampler: set "${s}" has ${pool.length} ${cfg.split} prompts, fewer than promptsPerPair = ${cfg.promptsPerPair}`);
        const n = cfg.poolPerSet > 0 ? Math.min(cfg.poolPerSet, pool.length) : pool.length;
        const idx = seededRandom(cfg.seed, 'pool', s).sample(pool.length, n).sort((a, b) => a - b);
        pools.set(s, idx.map((i) => pool[i]!));
      }
      const rows = store.rows.map((r, i) => (pools.has(r.set) ? i : -1)).filter((i) => i >= 0);
      return new PairSampler(store, pools, rows, cfg);
    } catch (e) {
      await store.close();
      throw e;
    }
  }

  /** The sets pairs are drawn from. */
  get sets(): string[] { return [...this.pools.keys()]; }
  /** Number of eligible checkpoints. */
  get numCheckpoints(): number { return this.rows.length; }
  get tokenShape(): [number, number, number] { return this.store.tokenShape; }
  /** A sampled set's capped pool (what promptIndices index into). */
  pool(set: string): string[] {
    const p = this.pools.get(set);
    if (!p) throw new Error(`PairSampler: set "${set}" is not sampled (sets: ${this.sets.join(', ')})`);
    return p;
  }

  /** Which checkpoint row and pool indices element `element` of step `step` uses (no I/O). */
  plan(step: number, element = 0): { row: number; set: string; promptIndices: number[] } {
    if (!Number.isInteger(step) || step < 0) throw new Error(`PairSampler.plan: step must be an integer >= 0, got ${step}`);
    const rng = seededRandom(this.config.seed, 'pair', step, element);
    const row = this.rows[rng.int(this.rows.length)]!;
    const set = this.store.rows[row]!.set;
    return { row, set, promptIndices: rng.sample(this.pools.get(set)!.length, this.config.promptsPerPair) };
  }

  /** Element `element` of step `step`: reads one checkpoint record batch. */
  async pair(step: number, element = 0): Promise<Pair> {
    const p = this.plan(step, element);
    const pool = this.pools.get(p.set)!;
    return { index: step, element, set: p.set, checkpoint: await this.store.read(p.row), prompts: p.promptIndices.map((i) => pool[i]!), promptIndices: p.promptIndices };
  }

  /** Element 0 of steps start, start+1, ... (count of them, default unbounded). */
  async *pairs(start = 0, count = Number.POSITIVE_INFINITY): AsyncGenerator<Pair> {
    for (let i = start; i < start + count; i++) yield await this.pair(i);
  }

  /**
   * Endless decoder batches from step `start` on: every sampled set's pool is encoded once (64 prompts at a
   * time, `tick` after each chunk and before each batch: heartbeats, cancellation), then batch t holds
   * elements 0..B-1 of step t: their conditions [N, L, C] and their checkpoints' token grids.
   * @example trainDecoder({ ..., batches: (start) => sampler.trainingBatches(encoder, { batchSize: 4, textLength: 64 }, start) })
   */
  async *trainingBatches(encoder: TextEncoder, opts: { batchSize: number; textLength: number; tick?: (note: string) => void }, start: number): AsyncGenerator<TrainingBatch> {
    const [Nw, R, Cw] = this.store.tokenShape;
    const { batchSize: B, textLength: L } = opts;
    const N = this.config.promptsPerPair, C = encoder.dim;
    const encoded = new Map<string, Float32Array[]>(); // per set: one [L, C] per pool prompt
    for (const [set, pool] of this.pools) {
      const out: Float32Array[] = [];
      for (let i = 0; i < pool.length; i += 64) {
        const rows = Math.min(64, pool.length - i);
        const r = await encoder.encode(pool.slice(i, i + rows), { maxLength: L });
        assertShape(r.condition, [rows, L, C], 'PairSampler.trainingBatches: condition');
        for (let j = 0; j < rows; j++) out.push(r.condition.data.slice(j * L * C, (j + 1) * L * C));
        opts.tick?.(`encoding ${set} prompts`);
      }
      encoded.set(set, out);
    }
    for (let step = start; ; step++) {
      opts.tick?.(`step ${step}`);
      const cond = new Float32Array(B * N * L * C); // [B, N, L, C]
      const tgt = new Float32Array(B * Nw * R * Cw); // [B, Nw, R, Cw]
      for (let b = 0; b < B; b++) {
        const p = this.plan(step, b);
        const pool = encoded.get(p.set)!;
        p.promptIndices.forEach((pi, n) => cond.set(pool[pi]!, (b * N + n) * L * C));
        tgt.set((await this.store.read(p.row)).tokens.data, b * Nw * R * Cw);
      }
      yield { condition: { data: cond, shape: [B, N, L, C] }, target: { data: tgt, shape: [B, Nw, R, Cw] } };
    }
  }

  async close(): Promise<void> { await this.store.close(); }
}
