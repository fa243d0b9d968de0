// The prompt-checkpoint pair sampler (method §2, "Strategy 2"): pair i is (a uniformly drawn checkpoint of
// some set s, a fresh random batch of N prompts of set s drawn without replacement), a pure function of
// (seed, i), so any step can be replayed. Streams checkpoints one record batch at a time.
// Not the encoder: prompts come back as text.
import { checkNumber, checkOneOf, mergeConfig, seededRandom } from '@dnd/core';
import { CheckpointStore, type CheckpointRecord } from './checkpoint-store';
import { readPromptStore, type PromptSplit } from './prompt-store';

export interface PairSamplerConfig {
  /** N prompts per pair; the paper uses 128 for common sense (the pool must hold at least N). */
  promptsPerPair: number;
  /** Seed of the whole pair sequence: equal seeds give equal pairs at every index. */
  seed: number;
  /** Which prompt pool conditions the pairs: 'train' for generator training, as the reference does. */
  split: PromptSplit;
  /** Held-out sets: never sampled (leave-one-dataset-out). */
  exclude: string[];
  /** If non-empty, only these sets are sampled (minus `exclude`). */
  include: string[];
}

export const DEFAULT_PAIR_SAMPLER_CONFIG: PairSamplerConfig = {
  promptsPerPair: 128, // the paper's common-sense batch length (Table 7)
  seed: 0, // reproducible by default; record it with the run
  split: 'train', // the reference conditions training pairs on each set's train pool
  exclude: [], // the caller names the held-out set
  include: [], // empty = every set in the store
};

/** Throws naming the field and value unless `cfg` is usable. */
export function validatePairSamplerConfig(cfg: PairSamplerConfig): void {
  const where = 'PairSamplerConfig';
  checkNumber(where, 'promptsPerPair', cfg.promptsPerPair, { integer: true, min: 1 });
  checkNumber(where, 'seed', cfg.seed, { integer: true, min: 0 });
  checkOneOf(where, 'split', cfg.split, ['train', 'test'] as const);
  for (const f of ['exclude', 'include'] as const) {
    if (!Array.isArray(cfg[f]) || !cfg[f].every((s) => typeof s === 'string')) throw new Error(`${where}.${f} must be an array of set names, got ${JSON.stringify(cfg[f])}`);
  }
}

/** One training pair. */
export interface Pair {
  /** Pair index (the step it was drawn for). */
  index: number;
  set: string;
  checkpoint: CheckpointRecord; // tokens [Nw, r+2, w+2]
  prompts: string[]; // N texts
  /** Their positions in the set's prompt pool. */
  promptIndices: number[];
}

/**
 * Draws (checkpoint, prompt batch) pairs from checkpoints.arrow + prompts.arrow.
 * @example
 * const s = await PairSampler.open('pairs/checkpoints.arrow', 'pairs/prompts.arrow', { promptsPerPair: 16, exclude: ['piqa'] });
 * for await (const p of s.pairs(0, 100)) train(p.checkpoint.tokens, p.prompts);
 * await s.close();
 */
export class PairSampler {
  private constructor(
    private readonly store: CheckpointStore,
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
      for (const s of [...cfg.exclude, ...cfg.include]) {
        if (!inStore.includes(s)) throw new Error(`PairSampler: set "${s}" named in include/exclude has no checkpoints in ${checkpointsFile} (sets: ${inStore.join(', ')})`);
      }
      const eligible = inStore.filter((s) => !cfg.exclude.includes(s) && (cfg.include.length === 0 || cfg.include.includes(s)));
      if (eligible.length === 0) throw new Error(`PairSampler: no set left to sample (store has ${inStore.join(', ')}; excluded ${cfg.exclude.join(', ')})`);
      const pools = new Map<string, string[]>();
      for (const s of eligible) {
        const pool = prompts.pools.get(s)?.[cfg.split];
        if (!pool) throw new Error(`PairSampler: ${promptsFile} has no prompts for set "${s}"`);
        if (pool.length < cfg.promptsPerPair) throw new Error(`PairSampler: set "${s}" has ${pool.length} ${cfg.split} prompts, fewer than promptsPerPair = ${cfg.promptsPerPair}`);
        pools.set(s, pool);
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

  /** Which checkpoint row and prompt indices pair `index` uses (no I/O). */
  plan(index: number): { row: number; set: string; promptIndices: number[] } {
    if (!Number.isInteger(index) || index < 0) throw new Error(`PairSampler.plan: index must be an integer >= 0, got ${index}`);
    const rng = seededRandom(this.config.seed, 'pair', index);
    const row = this.rows[rng.int(this.rows.length)]!;
    const set = this.store.rows[row]!.set;
    return { row, set, promptIndices: rng.sample(this.pools.get(set)!.length, this.config.promptsPerPair) };
  }

  /** Pair `index`: reads one checkpoint record batch. */
  async pair(index: number): Promise<Pair> {
    const p = this.plan(index);
    const pool = this.pools.get(p.set)!;
    return { index, set: p.set, checkpoint: await this.store.read(p.row), prompts: p.promptIndices.map((i) => pool[i]!), promptIndices: p.promptIndices };
  }

  /** Pairs start, start+1, ... (count of them, default unbounded). */
  async *pairs(start = 0, count = Number.POSITIVE_INFINITY): AsyncGenerator<Pair> {
    for (let i = start; i < start + count; i++) yield await this.pair(i);
  }

  async close(): Promise<void> { await this.store.close(); }
}
