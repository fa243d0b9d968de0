// The checks on a run config that need the model files but no model loaded: the model and encoder folders
// exist, and the token width divides every LoRA dimension of the base model. `dnd run` calls it after
// preflight.ts (which loads the sets) and before it starts a server or a step. Not the schema
// (config-schema.ts: types, ranges, cross-field rules that need no files), not the sets (preflight.ts).
import * as fs from 'fs';
import * as path from 'path';
import { BadInputError } from '@dnd/core';
import { resolveModelDir } from './assets';
import { StepConfigsSchema, type ConfigIssue, type StepConfigs } from './config-schema';
import type { RunConfig } from './types';

/** The dimensions a LoRA chunk width must divide: in and out features of every wrapped projection of a Llama/Qwen2 config.json. */
export function loraDimensions(modelConfig: Record<string, unknown>, targetModules: readonly string[]): Record<string, number> {
  const n = (k: string): number => {
    const v = modelConfig[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new Error(`config.json: ${k} must be a positive integer, got ${JSON.stringify(v)}`);
    return v;
  };
  const h = n('hidden_size');
  const f = n('intermediate_size');
  const heads = n('num_attention_heads');
  const kvHeads = typeof modelConfig['num_key_value_heads'] === 'number' ? n('num_key_value_heads') : heads;
  const headDim = typeof modelConfig['head_dim'] === 'number' ? n('head_dim') : h / heads;
  const kv = kvHeads * headDim;
  const io: Record<string, [number, number]> = {
    q_proj: [h, h], k_proj: [h, kv], v_proj: [h, kv], o_proj: [h, h], up_proj: [h, f], gate_proj: [h, f], down_proj: [f, h],
  };
  const dims: Record<string, number> = {};
  for (const m of targetModules) {
    const d = io[m];
    if (!d) continue;
    dims[`${m} in`] = d[0];
    dims[`${m} out`] = d[1];
  }
  return dims;
}

/**
 * Every problem the run's model files would cause, each with the config path it comes from; [] for
 * the demo steps (no model). The sets are preflight.ts's.
 * @example const issues = await preflightRunConfig(config); // [] when the models are there
 */
export async function preflightRunConfig(config: RunConfig): Promise<ConfigIssue[]> {
  const issues: ConfigIssue[] = [];
  const parsed = StepConfigsSchema.safeParse(config.steps);
  const steps: StepConfigs | null = parsed.success ? parsed.data : null; // null: not the real steps (demo)
  if (!steps) return issues;
  let modelDir: string | null = null;
  try {
    modelDir = resolveModelDir(steps.collectSet.model, 'steps.collectSet.model');
  } catch (e) {
    issues.push({ path: 'steps.collectSet.model', message: (e as Error).message.replace(/^steps\.collectSet\.model:\s*/, '') });
  }
  try {
    resolveModelDir(steps.trainGenerator.encoder, 'steps.trainGenerator.encoder');
  } catch (e) {
    issues.push({ path: 'steps.trainGenerator.encoder', message: (e as Error).message.replace(/^steps\.trainGenerator\.encoder:\s*/, '') });
  }
  const w = steps.buildPairs.tokenWidth;
  if (modelDir && w > 0) {
    const cfgFile = path.join(modelDir, 'config.json');
    try {
      const dims = loraDimensions(JSON.parse(fs.readFileSync(cfgFile, 'utf8')) as Record<string, unknown>, steps.collectSet.targetModules);
      const bad = [...new Set(Object.values(dims).filter((d) => d % w !== 0))];
      if (bad.length) {
        const all = [...new Set(Object.values(dims))].sort((a, b) => a - b);
        issues.push({ path: 'steps.buildPairs.tokenWidth', message: `${w} does not divide ${bad.join(', ')} (the LoRA dimensions of ${steps.collectSet.model} on ${steps.collectSet.targetModules.join(', ')} are ${all.join(', ')}); use 0 (auto) or a common divisor` });
      }
    } catch (e) {
      issues.push({ path: 'steps.collectSet.model', message: `${cfgFile}: ${(e as Error).message}` });
    }
  }
  return issues;
}

/**
 * Throws one BadInputError listing every preflight problem (nothing was started), or returns.
 * @example await assertRunnable(config, 'quickstart.json')
 */
export async function assertRunnable(config: RunConfig, source?: string | null): Promise<void> {
  const issues = await preflightRunConfig(config);
  if (issues.length === 0) return;
  throw new BadInputError(`config${source ? ` ${source}` : ''}: ${issues.length === 1 ? '1 problem' : `${issues.length} problems`} with its files, nothing was started:\n${issues.map((i) => `  ${i.path}: ${i.message}`).join('\n')}`);
}
