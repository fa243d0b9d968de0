// Tiny real step functions that honour the StepFunctions contract: they read the task sets, write
// small safetensors/JSON artifacts, checkpoint unit by unit and resume. Placeholders for the @dnd/*
// steps (chosen in step-selection.ts) and the tests' workload; NOT the method: no LM, no encoder, no decoder.
import * as fs from 'fs';
import * as path from 'path';
import { readSafetensors, writeSafetensors, type ArtifactRef, type TensorData } from '@dnd/core';
import { BadInputError, type StepContext, type StepFunctions } from './step-contract';

/** Options of the demo steps. */
export interface DemoStepOptions {
  /** Called when a unit starts computing and once its checkpoint is stored (`collectSet:<set>:<i>`,
   *  `trainGenerator:<i>`); tests count recomputation and duplicates with it. */
  onUnit?: (unit: string, phase: 'start' | 'done') => void;
}

// Dimension glossary: R = LoRA-like rank of the toy tensors, W = width.
// unitDelayMs waits without blocking (timers); unitCpuMs spins synchronously, as a tensor kernel does.
const DEMO_DEFAULTS = {
  collectSet: { snapshots: 3, unitDelayMs: 0, unitCpuMs: 0, rank: 2, width: 8, promptsPerSet: 8 },
  buildPairs: { promptsPerPair: 4 },
  trainGenerator: { epochs: 2, unitDelayMs: 0, unitCpuMs: 0 },
  evaluate: { maxPrompts: 16, units: 1, unitCpuMs: 0 },
};

// xorshift32 in [-1, 1): deterministic toy weights from a seed.
function noise(seed: number, n: number): Float32Array {
  let s = (seed >>> 0) || 0x9e3779b9;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

function hashString(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0;
  return h;
}

function readPrompts(dir: string, set: string, max: number): string[] {
  const file = ['train.json', 'test.json'].map((f) => path.join(dir, f)).find((f) => fs.existsSync(f));
  if (!file) throw new BadInputError(`task set "${set}": no train.json or test.json in ${dir}`);
  const items = JSON.parse(fs.readFileSync(file, 'utf8')) as Array<{ instruction?: string }>;
  if (!Array.isArray(items) || items.length === 0) throw new BadInputError(`task set "${set}": ${file} is not a non-empty JSON array`);
  return items.slice(0, max).map((it, i) => {
    if (typeof it.instruction !== 'string') throw new BadInputError(`task set "${set}": item ${i} of ${file} has no "instruction" string`);
    return it.instruction;
  });
}

function readF32(file: string, name: string): TensorData {
  const t = readSafetensors(file).tensors.get(name);
  if (!t || !(t.data instanceof Float32Array)) throw new BadInputError(`${file}: no F32 tensor "${name}"`);
  return { data: t.data, shape: t.shape };
}

function num(cfg: Record<string, unknown>, field: string, step: string, min = 0): number {
  const v = cfg[field];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new BadInputError(`${step}.${field} must be an integer >= ${min}, got ${JSON.stringify(v)}`);
  return v;
}

async function busy(ms: number, ctx: StepContext): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (ctx.signal.aborted) throw new Error('cancelled');
    await new Promise((r) => setTimeout(r, Math.min(100, until - Date.now())));
    ctx.heartbeat();
  }
}

/** Blocks the thread for `ms` (no await inside): what a long synchronous tensor op does to an event loop. */
function spin(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) { /* burn CPU */ }
}

/** The demo steps (see the file header). */
export function createDemoSteps(opts: DemoStepOptions = {}): StepFunctions {
  const onUnit = opts.onUnit ?? (() => undefined);
  return {
    defaults: structuredClone(DEMO_DEFAULTS),
    versions: { collectSet: 'demo-1', buildPairs: 'demo-1', trainGenerator: 'demo-1', evaluate: 'demo-1' },

    async collectSet(input, outDir, ctx) {
      const step = 'collectSet';
      const total = num(input.config, 'snapshots', step, 1);
      const delay = num(input.config, 'unitDelayMs', step);
      const cpu = num(input.config, 'unitCpuMs', step);
      const [r, w] = [num(input.config, 'rank', step, 1), num(input.config, 'width', step, 1)];
      const prompts = readPrompts(input.dir, input.set, num(input.config, 'promptsPerSet', step, 1));
      // State carried from snapshot to snapshot: the previous snapshot's tensor ("training" continues from it).
      let state: Float32Array = ctx.resume.last
        ? readF32(path.join(await ctx.resolve(ctx.resume.last), 'adapter.safetensors'), 'lora').data
        : noise(hashString(`${input.seed}:${input.set}`), r * w);
      for (let i = ctx.resume.done; i < total; i++) {
        onUnit(`${step}:${input.set}:${i}`, 'start');
        await busy(delay, ctx);
        spin(cpu);
        const step_ = noise(hashString(`${input.seed}:${input.set}:${i}`), r * w);
        state = state.map((v, j) => 0.9 * v + 0.1 * step_[j]!);
        const tensor: TensorData = { data: state, shape: [r, w] }; // [R, W]
        await ctx.checkpoint(i, total, async (dir) => {
          writeSafetensors(path.join(dir, 'adapter.safetensors'), { lora: { dtype: 'F32', shape: tensor.shape, data: tensor.data } }, { set: input.set, index: String(i) });
        });
        onUnit(`${step}:${input.set}:${i}`, 'done');
      }
      fs.writeFileSync(path.join(outDir, 'set.json'), JSON.stringify({ set: input.set, snapshots: total, prompts }, null, 2));
      return { set: input.set, snapshots: total, prompts: prompts.length };
    },

    async buildPairs(input, outDir, ctx) {
      const k = num(input.config, 'promptsPerPair', 'buildPairs', 1);
      const rows: Array<{ set: string; snapshot: ArtifactRef; prompts: string[] }> = [];
      for (const z of input.zoo) {
        const info = JSON.parse(fs.readFileSync(path.join(await ctx.resolve(z.output), 'set.json'), 'utf8')) as { prompts: string[] };
        for (const s of z.snapshots) rows.push({ set: z.set, snapshot: s, prompts: info.prompts.slice(0, k) });
      }
      if (rows.length === 0) throw new BadInputError('buildPairs: the zoo holds no snapshots');
      fs.writeFileSync(path.join(outDir, 'pairs.json'), JSON.stringify(rows, null, 2));
      return { pairs: rows.length };
    },

    async trainGenerator(input, outDir, ctx) {
      const epochs = num(input.config, 'epochs', 'trainGenerator', 1);
      const delay = num(input.config, 'unitDelayMs', 'trainGenerator');
      const cpu = num(input.config, 'unitCpuMs', 'trainGenerator');
      const rows = (JSON.parse(fs.readFileSync(path.join(await ctx.resolve(input.pairs), 'pairs.json'), 'utf8')) as Array<{ set: string; snapshot: ArtifactRef }>)
        .filter((row) => !input.heldOut.includes(row.set));
      if (rows.length === 0) throw new BadInputError(`trainGenerator: no pairs left after holding out ${JSON.stringify(input.heldOut)}`);
      const load = async (ref: ArtifactRef): Promise<TensorData> => readF32(path.join(await ctx.resolve(ref), 'adapter.safetensors'), 'lora');
      const first = await load(rows[0]!.snapshot);
      let mean: Float32Array = ctx.resume.last
        ? readF32(path.join(await ctx.resolve(ctx.resume.last), 'generator.safetensors'), 'mean').data
        : new Float32Array(first.data.length);
      for (let e = ctx.resume.done; e < epochs; e++) {
        onUnit(`trainGenerator:${e}`, 'start');
        await busy(delay, ctx);
        spin(cpu);
        const acc = new Float32Array(mean.length);
        for (const row of rows) (await load(row.snapshot)).data.forEach((v, j) => { acc[j]! += v / rows.length; });
        mean = mean.map((v, j) => (v * e + acc[j]!) / (e + 1));
        await ctx.checkpoint(e, epochs, async (dir) => {
          writeSafetensors(path.join(dir, 'generator.safetensors'), { mean: { dtype: 'F32', shape: first.shape, data: mean } });
        });
        onUnit(`trainGenerator:${e}`, 'done');
      }
      writeSafetensors(path.join(outDir, 'generator.safetensors'), { mean: { dtype: 'F32', shape: first.shape, data: mean } }, { heldOut: input.heldOut.join(',') });
      return { epochs, pairs: rows.length };
    },

    async evaluate(input, outDir, ctx) {
      const max = num(input.config, 'maxPrompts', 'evaluate', 1);
      const [units, cpu] = [num(input.config, 'units', 'evaluate', 1), num(input.config, 'unitCpuMs', 'evaluate')];
      // Scoring batches as checkpointed units: a retried evaluation resumes after the last stored batch.
      for (let u = ctx.resume.done; u < units; u++) {
        onUnit(`evaluate:${u}`, 'start');
        spin(cpu);
        await ctx.checkpoint(u, units, async (dir) => { fs.writeFileSync(path.join(dir, 'batch.json'), JSON.stringify({ batch: u })); });
        onUnit(`evaluate:${u}`, 'done');
      }
      const g = readF32(path.join(await ctx.resolve(input.generator), 'generator.safetensors'), 'mean');
      const norm = Math.sqrt(g.data.reduce((s, v) => s + v * v, 0));
      const rows = input.sets.map((set) => ({ set, prompts: readPrompts(input.setDirs[set]!, set, max).length, generatorNorm: Number(norm.toFixed(6)) }));
      fs.writeFileSync(path.join(outDir, 'report.json'), JSON.stringify({ kind: 'demo', rows }, null, 2));
      fs.writeFileSync(path.join(outDir, 'report.md'), [
        '# dnd report (demo steps)', '', 'Placeholder steps: no model was trained or scored. The @dnd/* steps are chosen in apps/orchestrator/src/step-selection.ts.', '',
        '| set | prompts | generator norm |', '|---|---|---|', ...rows.map((r) => `| ${r.set} | ${r.prompts} | ${r.generatorNorm} |`), '',
      ].join('\n'));
      return { sets: input.sets.length, generatorNorm: norm };
    },
  };
}
