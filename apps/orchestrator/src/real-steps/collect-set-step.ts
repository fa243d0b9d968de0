// The collectSet step adapter: @dnd/dataset's collectSet on one task set with @dnd/lm's LoRA trainer
// (warm-up, then one PEFT snapshot per step), resumable in ctx.workDir. Its typed config and defaults.
// Not the collection itself (@dnd/dataset) and not the Temporal plumbing (activities/).
import * as path from 'path';
import { BadInputError } from '@dnd/core';
import { collectSet, DEFAULT_COLLECT_CONFIG, resolveCollectConfig, type CollectConfig } from '@dnd/dataset';
import { createLoraTrainer } from '@dnd/lm';
import { resolveModelDir } from '../assets';
import { moveContents } from '../move-contents';
import type { CollectSetInput, StepFunction } from '../step-contract';
import type { CollectStepConfig } from '../config-schema';
import type { RealStepEnv } from './step-env';

/** Its type is the config schema's (src/config-schema.ts: the one source of types, ranges and defaults). */
export type { CollectStepConfig };

const { seed: _seed, ...COLLECT_NO_SEED } = DEFAULT_COLLECT_CONFIG;

export const DEFAULT_COLLECT_STEP_CONFIG: CollectStepConfig = {
  model: 'smollm2-135m-instruct', // the project's real base LM (infra/assets-smollm2.sh)
  ...COLLECT_NO_SEED, // @dnd/dataset's defaults: the paper's common-sense collection (r 8, 75 + 50 steps)
  targetModules: [...COLLECT_NO_SEED.targetModules] as CollectStepConfig['targetModules'], // PEFT module names (the schema's enum)
};

/** The step config as @dnd/dataset takes it (validated there), with the run seed. */
export function collectConfigOf(cfg: Record<string, unknown>, seed: number): { model: string; collect: CollectConfig } {
  const { model, ...rest } = cfg as unknown as CollectStepConfig;
  const collect = resolveCollectConfig({ ...rest, seed });
  if (typeof model !== 'string' || !model) throw new BadInputError(`collectSet.model must be a directory or a model name, got ${JSON.stringify(model)}`);
  return { model, collect };
}

/** The collectSet step function over `env`. */
export function collectSetStep(env: RealStepEnv): StepFunction<CollectSetInput> {
  return async (input, outDir, ctx) => {
    const { model: ref, collect } = collectConfigOf(input.config, input.seed);
    const dir = resolveModelDir(ref, 'collectSet.model');
    const setDir = path.join(ctx.workDir, 'set');
    let seconds = 0;
    const r = await env.withBackend(async (t0) => {
      const model = await env.modelFor(dir);
      try {
        return await collectSet(input.dir, setDir, collect, {
          model, createTrainer: createLoraTrainer, signal: ctx.signal,
          onProgress: (p) => ctx.progress(p.done, p.total, `${p.set} ${p.phase} loss ${p.loss.toFixed(4)} ${p.stepSeconds.toFixed(1)} s/step ETA ${Math.round(p.etaSec)} s`),
        });
      } finally {
        model.detachLora();
        seconds = (Date.now() - t0) / 1000;
      }
    });
    const m = r.manifest;
    if (m.status !== 'complete') throw new Error(`collectSet(${input.set}): stopped after ${m.snapshots.length} of ${collect.snapshotSteps} snapshots (cancelled); a retry resumes from ${setDir}`);
    moveContents(setDir, outDir);
    ctx.log(`${m.set}: ${m.snapshots.length} snapshots (${r.written} written now${r.resumed ? ', resumed' : ''})`);
    return { set: m.set, snapshots: m.snapshots.length, written: r.written, resumed: r.resumed, lastLoss: m.snapshots[m.snapshots.length - 1]?.loss ?? null, baseModel: dir, seconds };
  };
}
