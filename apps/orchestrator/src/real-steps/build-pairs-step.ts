// The buildPairs step adapter: @dnd/dataset's buildPairs over the zoo outputs (Arrow prompts, checkpoints as
// token grids, loss weights), plus the zoo references trainGenerator needs. Not the pairing itself.
import * as path from 'path';
import { mergeConfig, writeFileAtomic } from '@dnd/core';
import { buildPairs, DEFAULT_BUILD_PAIRS_CONFIG, validateBuildPairsConfig } from '@dnd/dataset';
import type { BuildPairsInput, StepFunction } from '../step-contract';
import { ZOO_REFS_FILE } from './generator-info';

import type { BuildPairsStepConfig } from '../config-schema';

export type { BuildPairsStepConfig };

export const DEFAULT_BUILD_PAIRS_STEP_CONFIG: BuildPairsStepConfig = { ...DEFAULT_BUILD_PAIRS_CONFIG }; // token width chosen from the LoRA shapes

/** The step config merged onto its defaults and validated. */
export function buildPairsConfigOf(cfg: Record<string, unknown>): BuildPairsStepConfig {
  const c = mergeConfig(DEFAULT_BUILD_PAIRS_STEP_CONFIG, cfg, 'buildPairs');
  validateBuildPairsConfig(c);
  return c;
}

/** The buildPairs step function. */
export function buildPairsStep(): StepFunction<BuildPairsInput> {
  return async (input, outDir, ctx) => {
    const cfg = buildPairsConfigOf(input.config);
    const setDirs: string[] = [];
    for (const z of input.zoo) setDirs.push(await ctx.resolve(z.output));
    ctx.heartbeat('building pairs');
    const out = await buildPairs({ setDirs, outDir }, cfg);
    writeFileAtomic(path.join(outDir, ZOO_REFS_FILE), `${JSON.stringify({ sets: input.zoo.map((z) => ({ set: z.set, output: z.output })) }, null, 2)}\n`);
    return { sets: out.sets, tokenShape: out.tokenShape };
  };
}
