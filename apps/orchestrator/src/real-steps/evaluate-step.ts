// The evaluate step adapter: K LoRAs per evaluated set from N of its unlabeled instructions (@dnd/decoder's
// generateLoraSamples), optional probe LoRAs from each training set's prompts (the diagnostics), then
// @dnd/evaluator's evaluate (base, each training LoRA, their average, the generated LoRAs, the probes) with
// every scoring call stored in ctx.workDir so a retry resumes, and in the worker's step cache (ctx.cacheDir) so a
// later fold on this host reads back the calls it repeats. Its typed config and defaults.
// Not the generation or the scoring themselves.
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { BadInputError, checkNumber, checkOneOf, initBackend, mergeConfig, writeFileAtomic } from '@dnd/core';
import { conditioningPrompt, loadTaskSet, readZooManifest, type ZooSetManifest } from '@dnd/dataset';
import { generateLoraSamples, loadGenerator, loraTemplateFromAdapter } from '@dnd/decoder';
import { loadTextEncoder } from '@dnd/encoder';
import {
  DEFAULT_EVALUATOR_CONFIG, EVAL_CALLS_VERSION, evaluate, hostCausalLM, itemFromInstruction, memoizedEvalModel, resolveEvaluatorConfig,
  type EvaluateSetInput, type EvaluationResults, type RunInfo,
} from '@dnd/evaluator';
import { modelProvenance } from '../assets';
import type { EvaluateInput, StepFunction } from '../step-contract';
import { GENERATOR_INFO_FILE, type GeneratorInfo } from './generator-info';
import { cancelled, readJson, type RealStepEnv } from './step-env';
import type { EvaluateStepConfig } from '../config-schema';

/** Its type is the config schema's (src/config-schema.ts: the one source of types, ranges and defaults). */
export type { EvaluateStepConfig };

export const DEFAULT_EVALUATE_STEP_CONFIG: EvaluateStepConfig = {
  samples: 3, // K generated LoRAs per set (paper: 10)
  promptSplit: 'test', // the paper's setting (transductive); 'train' avoids conditioning on scored items
  diagnostics: { promptSwap: false, inDistribution: false, samples: 2 }, // off: they add generation and scoring (tools/experiments/knowledge-fold.json turns them on)
  evaluator: { ...DEFAULT_EVALUATOR_CONFIG, generative: { ...DEFAULT_EVALUATOR_CONFIG.generative, template: '{prompt}\n' } }, // template = collection's promptTemplate
};

/** The step config merged onto its defaults and validated, naming the field. */
export function evaluateConfigOf(cfg: Record<string, unknown>): EvaluateStepConfig {
  const c = mergeConfig(DEFAULT_EVALUATE_STEP_CONFIG, cfg, 'evaluate');
  checkNumber('evaluate', 'samples', c.samples, { integer: true, min: 1 });
  checkOneOf('evaluate', 'promptSplit', c.promptSplit, ['test', 'train']);
  checkNumber('evaluate', 'diagnostics.samples', c.diagnostics.samples, { integer: true, min: 1 });
  c.evaluator = resolveEvaluatorConfig(c.evaluator);
  return c;
}

/** The evaluate step function over `env`. */
export function evaluateStep(env: RealStepEnv): StepFunction<EvaluateInput> {
  return async (input, outDir, ctx) => {
    const cfg = evaluateConfigOf(input.config);
    const genDir = await ctx.resolve(input.generator);
    const info = readJson<GeneratorInfo>(path.join(genDir, GENERATOR_INFO_FILE), 'evaluate');
    const zoo: Array<{ set: string; dir: string; m: ZooSetManifest }> = [];
    for (const z of info.zoo) {
      const dir = await ctx.resolve(z.output);
      const m = readZooManifest(dir);
      if (!m || m.snapshots.length === 0) throw new BadInputError(`evaluate: the zoo output of ${z.set} (${dir}) has no snapshots`);
      zoo.push({ set: z.set, dir, m });
    }
    const lastSnapshot = (z: (typeof zoo)[number]) => path.join(z.dir, z.m.snapshots[z.m.snapshots.length - 1]!.path);
    const template = loraTemplateFromAdapter(lastSnapshot(zoo[0]!), info.tokenShape[2] - 2);
    const baseDir = info.baseModel.source;
    if (!fs.existsSync(baseDir)) throw new BadInputError(`evaluate: the base model ${baseDir} the zoo was collected on is gone`);
    const N = info.promptsPerPair;

    return env.withBackend(async (t0) => {
      // 1. Generation: K LoRAs per set, each from N unlabeled instructions (never outputs or answers).
      const sets: EvaluateSetInput[] = [];
      const generated: Array<{ heldOut: string; sample: number; dir: string; numPrompts: number }> = [];
      const probes: NonNullable<Parameters<typeof evaluate>[0]['probes']> = [];
      const diag = cfg.diagnostics;
      // Probe LoRAs come from the training sets' prompts; in-distribution also scores on those sets' test items.
      const probeSources = diag.promptSwap || diag.inDistribution ? info.trainSets.filter((s) => !input.sets.includes(s)) : [];
      for (const s of probeSources) if (!input.setDirs[s]) throw new BadInputError(`evaluate: the diagnostics need training set "${s}", which the run config does not list`);
      const seconds: number[] = [];
      const { generator } = loadGenerator(path.join(genDir, 'generator'));
      const encoder = await loadTextEncoder(info.encoder);
      try {
        if (encoder.digest !== info.encoderDigest) throw new BadInputError(`evaluate: the encoder at ${info.encoder} changed since the generator was trained (digest ${encoder.digest}, trained with ${info.encoderDigest})`);
        const promptsOf = async (h: string, scored: boolean) => {
          const ts = await loadTaskSet(input.setDirs[h]!, info.split);
          if (scored) {
            try {
              sets.push({ name: h, items: ts.test.map((r, i) => itemFromInstruction(r, h, i, 'test')) });
            } catch (e) {
              throw new BadInputError(`evaluate: set "${h}" cannot be scored: ${(e as Error).message}`);
            }
          }
          const texts = ts[cfg.promptSplit].map(conditioningPrompt);
          if (texts.length < N) throw new BadInputError(`evaluate: set "${h}" has ${texts.length} ${cfg.promptSplit} prompts, the generator takes N = ${N}`);
          return texts;
        };
        for (const h of input.sets) {
          const texts = await promptsOf(h, true);
          // K LoRAs, each from its own seeded draw of N prompts: @dnd/decoder's generateLoraSamples.
          await generateLoraSamples(texts, generator, {
            samples: cfg.samples, promptsPerLora: N, seed: input.seed, name: h, encoder, template, maxLength: info.textLength,
            outDir: path.join(outDir, 'generated'), extra: (k) => ({ heldOut: h, sample: String(k), promptSplit: cfg.promptSplit }),
            beforeSample: () => cancelled(ctx, 'evaluate'),
            onSample: (k, r) => {
              generated.push({ heldOut: h, sample: k, dir: r.dir, numPrompts: N });
              seconds.push(r.seconds);
              ctx.heartbeat(`generated ${h}#${k} in ${r.seconds.toFixed(2)} s`);
            },
          });
        }
        // The same draws as if s were held out (seed, name s, sample k): one set of probes per training set,
        // scored as prompt-swap probes on every held-out set and as in-distribution probes on s itself.
        for (const s of probeSources) {
          const texts = await promptsOf(s, diag.inDistribution);
          await generateLoraSamples(texts, generator, {
            samples: diag.samples, promptsPerLora: N, seed: input.seed, name: s, encoder, template, maxLength: info.textLength,
            outDir: path.join(outDir, 'probes'), extra: (k) => ({ promptsFrom: s, sample: String(k), promptSplit: cfg.promptSplit }),
            beforeSample: () => cancelled(ctx, 'evaluate'),
            onSample: (k, r) => {
              if (diag.promptSwap) for (const h of input.sets) probes.push({ kind: 'promptSwap', scoredOn: h, promptsFrom: s, sample: k, dir: r.dir });
              if (diag.inDistribution) probes.push({ kind: 'inDistribution', scoredOn: s, promptsFrom: s, sample: k, dir: r.dir });
              ctx.heartbeat(`generated probe ${s}#${k} in ${r.seconds.toFixed(2)} s`);
            },
          });
        }
      } finally {
        generator.dispose();
        encoder.dispose();
      }

      // 2. Scoring: base, every training LoRA (its last snapshot), their average, the generated LoRAs.
      const model = await env.modelFor(baseDir);
      let batches = 0;
      let current = 'scoring';
      const provenance = modelProvenance(baseDir);
      const backend = (await initBackend()).name;
      // Calls agree across evaluations on the same base model, call semantics (EVAL_CALLS_VERSION) and tensor backend.
      const sharedDir = ctx.cacheDir === undefined ? undefined
        : path.join(ctx.cacheDir, 'eval-calls', crypto.createHash('sha256').update(JSON.stringify([EVAL_CALLS_VERSION, info.baseModel.digest, backend])).digest('hex').slice(0, 32));
      const runInfo: RunInfo = {
        ...input.run, seed: input.seed, backend,
        baseModel: { name: path.basename(baseDir), digest: info.baseModel.digest, ...(provenance ? { provenance } : {}) },
        encoder: { name: path.basename(info.encoder), digest: info.encoderDigest },
        ...(info.trainingLoss?.length ? { trainingLoss: info.trainingLoss } : {}),
      };
      await evaluate({
        baseModel: { dir: baseDir, nameOrPath: path.basename(baseDir) }, sets, heldOut: input.sets,
        trainingLoras: zoo.map((z) => ({ name: `${z.set}@${z.m.snapshots.length}`, trainedOn: z.set, dir: lastSnapshot(z) })), generated, probes, runInfo,
      }, cfg.evaluator, {
        // Every scoring call (a batch) is stored in workDir: a retried attempt resumes after the last one. The step
        // cache keeps them too: a later fold's evaluation on this host reads back what it repeats (base and own LoRA
        // on a training set, for the in-distribution probes).
        outDir, loadModel: async (_dir, name) => memoizedEvalModel(hostCausalLM(model, name), path.join(ctx.workDir, 'calls'), (c) => {
          batches += 1;
          const from = c.shared ? ', read back from an earlier evaluation' : c.reused ? ', read back from an earlier attempt' : '';
          ctx.heartbeat(`${current} · batch ${batches} (${c.size} ${c.method.startsWith('generate') ? 'generations' : 'continuations'}${from})`);
        }, sharedDir === undefined ? {} : { sharedDir }),
        releaseModel: () => model.detachLora(),
        // Units are item-adapter pairs, updated per model call (a batch), so progress and ETA move within a pass.
        progress: (p) => { current = p.last; ctx.progress(p.items.done, p.items.total, p.last); },
      });
      writeFileAtomic(path.join(outDir, 'generation.json'), `${JSON.stringify({
        promptSplit: cfg.promptSplit,
        setting: cfg.promptSplit === 'test' ? 'transductive: unlabeled instructions of the scored test items condition the generator (the paper\'s protocol)' : 'inductive: train-pool instructions condition the generator',
        promptsPerLora: N, samples: cfg.samples, diagnostics: { ...diag, probeSets: probeSources }, secondsPerLora: seconds, encoder: path.basename(info.encoder), trainSets: info.trainSets,
      }, null, 2)}\n`);
      const results = JSON.parse(fs.readFileSync(path.join(outDir, 'results.json'), 'utf8')) as EvaluationResults;
      const meanSeconds = seconds.reduce((a, b) => a + b, 0) / Math.max(1, seconds.length);
      return {
        sets: input.sets, generated: generated.length, generationSecondsMean: meanSeconds, html: 'report.html', seconds: (Date.now() - t0) / 1000,
        heldOut: results.heldOut.map((h) => ({ set: h.set, n: h.n, base: h.base.value, loraMean: h.loraMean?.value ?? null, generated: h.generated?.value ?? null })),
      };
    });
  };
}
