// The run config's schema (zod): the one source of the TypeScript types and the defaults of the run config
// and of the real steps' configs, their ranges and the cross-field rules, and the JSON Schema for editors.
// Not loading or merging (config.ts) and not checks that need files on disk (config-preflight.ts).
import * as path from 'path';
import { z } from 'zod';
import { DEFAULT_BUILD_PAIRS_CONFIG, DEFAULT_COLLECT_CONFIG, sharedDir } from '@dnd/dataset';
import { DEFAULT_TRAIN_CONFIG } from '@dnd/decoder';
import { DEFAULT_EVALUATOR_CONFIG } from '@dnd/evaluator';

const C = DEFAULT_COLLECT_CONFIG;
const T = DEFAULT_TRAIN_CONFIG;
const E = DEFAULT_EVALUATOR_CONFIG;

/** The projections LoRA may wrap (PEFT names, the token order of method §4.1). */
export const LORA_MODULES = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'up_proj', 'gate_proj', 'down_proj'] as const;

const int = (min: number, max?: number) => (max === undefined ? z.int().min(min) : z.int().min(min).max(max));
const num = (min: number, max?: number) => (max === undefined ? z.number().min(min) : z.number().min(min).max(max));
const beta = z.number().min(0).max(0.999999);

/** collectSet: the base model plus @dnd/dataset's CollectConfig (its seed is the run seed). Defaults: the package's. */
export const CollectStepSchema = z.strictObject({
  model: z.string().min(1).default('smollm2-135m-instruct').describe('Base LM: a HF directory, or a name under $DND_CACHE/models'),
  rank: int(1).default(C.rank).describe('LoRA rank r'),
  loraAlpha: num(0).default(C.loraAlpha).describe('lora_alpha (scaling alpha / r)'),
  loraDropout: num(0, 0.999).default(C.loraDropout),
  targetModules: z.array(z.enum(LORA_MODULES)).min(1).default([...C.targetModules] as Array<(typeof LORA_MODULES)[number]>).describe('Projections wrapped, PEFT names'),
  warmupSteps: int(0).default(C.warmupSteps).describe('Warm-up fine-tune steps (not kept)'),
  snapshotSteps: int(2).default(C.snapshotSteps).describe('Continued steps, one PEFT snapshot each'),
  warmupLr: num(0, 1).default(C.warmupLr),
  lr: num(0, 1).default(C.lr),
  weightDecay: num(0).default(C.weightDecay),
  betas: z.tuple([beta, beta]).default([...C.betas] as [number, number]),
  eps: num(0).default(C.eps),
  maxGradNorm: num(0).default(C.maxGradNorm).describe('Global grad-norm clip (0 = off)'),
  gradientCheckpointing: z.boolean().default(C.gradientCheckpointing),
  batchSize: int(1).default(C.batchSize),
  maxSeqLen: int(2).default(C.maxSeqLen),
  splitSeed: int(0).default(C.splitSeed),
  trainFraction: z.number().gt(0).lt(1).default(C.trainFraction),
  promptTemplate: z.string().includes('{prompt}').default(C.promptTemplate).describe('"{prompt}" is replaced by the instruction'),
  skipBad: z.boolean().default(C.skipBad),
  trainOn: z.enum(['label', 'knowledge', 'both']).optional()
    .describe("What the LoRAs are fine-tuned on: 'label' (the sets' answer format, the default), 'knowledge' (the gold choice text after \"Question: ...\\nAnswer:\"), or both"),
});

/** buildPairs: @dnd/dataset's BuildPairsConfig. */
export const BuildPairsStepSchema = z.strictObject({
  tokenWidth: int(0).default(DEFAULT_BUILD_PAIRS_CONFIG.tokenWidth).describe('Chunk width w of the token grids; 0 = the largest w <= 128 dividing every LoRA dimension'),
});

/** @dnd/decoder's TrainConfig without its seed (the run seed is used). */
export const DecoderTrainSchema = z.strictObject({
  totalSteps: int(1).default(T.totalSteps),
  lr: num(0).default(T.lr),
  weightDecay: num(0).default(T.weightDecay),
  betas: z.tuple([beta, beta]).default([...T.betas] as [number, number]),
  eps: num(0).default(T.eps),
  warmupSteps: int(0).default(T.warmupSteps),
  maxGradNorm: num(0).default(T.maxGradNorm),
  noiseCondition: num(0).default(T.noiseCondition),
  noiseTarget: num(0).default(T.noiseTarget),
  checkpointEvery: int(0).default(T.checkpointEvery),
  keepCheckpoints: int(1).default(T.keepCheckpoints),
});

const FeatureSchema = z.tuple([int(1), int(1), int(1)]);

/** trainGenerator: encoder, pair shapes, decoder chain and the decoder's training config. */
export const TrainGeneratorStepSchema = z.strictObject({
  encoder: z.string().min(1).default('all-MiniLM-L6-v2').describe('Frozen text encoder: a BERT directory, or a name under $DND_CACHE/models'),
  promptsPerPair: int(1).default(16).describe('N prompts per condition (the method\'s CPU range 8-32; paper 128)'),
  textLength: int(1).default(64).describe('L encoder positions per prompt (CPU range 32-128; paper 384)'),
  poolPerSet: int(0).default(256).describe('Prompts per training set encoded once and sampled from (0 = the whole train pool)'),
  layers: int(1).default(3).describe('Decoder layers of the interpolated chain (CPU range 3-5; paper 8)'),
  kernelSize: int(1).default(3).describe('Decoder kernel size (CPU range 3-5; paper 9)'),
  features: z.array(FeatureSchema).default([]).describe('An explicit (N, H, W) chain; empty = interpolated over `layers`'),
  batchSize: int(1).default(4).describe('Pairs per optimizer step (CPU range 4-16; paper 64)'),
  lossWeights: z.enum(['method', 'uniform']).default('method').describe("'method': §4.4 per-token weights; 'uniform': all 1"),
  train: DecoderTrainSchema.prefault({}),
}).superRefine((c, ctx) => {
  if (c.poolPerSet > 0 && c.poolPerSet < c.promptsPerPair) ctx.addIssue({ code: 'custom', path: ['poolPerSet'], message: `must be 0 or >= promptsPerPair (${c.promptsPerPair}), got ${c.poolPerSet}` });
  if (c.features.length === 1) ctx.addIssue({ code: 'custom', path: ['features'], message: 'must list at least 2 (N, H, W) features (input and output), or none' });
  if (c.features.length && c.features[0]![0] !== c.promptsPerPair) ctx.addIssue({ code: 'custom', path: ['features', 0, 0], message: `the chain starts at N = promptsPerPair (${c.promptsPerPair}), got ${c.features[0]![0]}` });
});

/** @dnd/evaluator's generation options. */
export const GenerativeSchema = z.strictObject({
  maxNewTokens: int(1).default(E.generative.maxNewTokens),
  greedy: z.boolean().default(E.generative.greedy),
  temperature: num(0).default(E.generative.temperature),
  seed: int(0).default(E.generative.seed),
  parse: z.enum(['strict', 'first-match']).default(E.generative.parse),
  // The step's default differs from the package's ('{prompt}'): it is the collection's promptTemplate.
  template: z.string().includes('{prompt}').default(C.promptTemplate).describe('Must match collectSet.promptTemplate (the LoRAs were trained with it)'),
  batchSize: int(1).default(E.generative.batchSize),
});

/** @dnd/evaluator's EvaluatorConfig. */
export const KnowledgeSchema = z.strictObject({
  metric: z.enum(['acc', 'acc_norm']).default(E.knowledge.metric),
  metricBySet: z.record(z.string(), z.enum(['acc', 'acc_norm'])).nullable().default(E.knowledge.metricBySet)
    .describe('The headline metric of named sets where it differs from metric, e.g. {"piqa": "acc_norm"}; null: metric everywhere'),
  maxItemsPerSet: int(0).default(E.knowledge.maxItemsPerSet).refine((n) => n === 0 || n >= 1000, 'must be 0 (the full test split) or at least 1000')
    .describe('Knowledge-protocol items per set at most: 0 = the full split, else at least 1000'),
  crossMatrix: z.boolean().default(E.knowledge.crossMatrix),
});

export const EvaluatorSchema = z.strictObject({
  protocols: z.array(z.enum(['paper', 'knowledge'])).min(1).default([...E.protocols])
    .refine((p) => new Set(p).size === p.length, 'lists a protocol twice').describe('Protocols of every evaluation, in report order'),
  scorer: z.enum(['loglik', 'generative']).default(E.scorer),
  metric: z.enum(['acc', 'acc_norm']).default(E.metric),
  maxItemsPerSet: int(0).default(E.maxItemsPerSet).describe('Items per set at most (0 = all)'),
  seed: int(0, 2 ** 32 - 1).default(E.seed),
  batchSize: int(1).default(E.batchSize),
  crossMatrix: z.boolean().default(E.crossMatrix),
  adaptersPerPass: int(1, 64).default(E.adaptersPerPass).describe('Adapters scored together on a set in one pass (1 = one at a time)'),
  knowledge: KnowledgeSchema.prefault({}),
  bootstrapResamples: int(100).default(E.bootstrapResamples),
  generative: GenerativeSchema.prefault({}),
});

/** Does the generator use its prompts? Probe LoRAs generated from each training set's prompts (issue 16). */
export const DiagnosticsSchema = z.strictObject({
  promptSwap: z.boolean().default(false).describe("Score LoRAs generated from each training set's prompts on every held-out set, beside those from the held-out set's own prompts"),
  inDistribution: z.boolean().default(false).describe("Score LoRAs generated from each training set's own prompts on that set, against its own LoRA and the base (adds the training sets' test items to the scoring)"),
  samples: int(1).default(2).describe('Probe LoRAs generated per training set (shared by both diagnostics)'),
});

/** evaluate: generation (K LoRAs per set from N prompts) and the evaluator's config. */
export const EvaluateStepSchema = z.strictObject({
  samples: int(1).default(3).describe('K generated LoRAs per evaluated set (paper: 10)'),
  promptSplit: z.enum(['test', 'train']).default('test').describe("'test' = the scored items' instructions (the paper's transductive setting), 'train' = the train pool"),
  diagnostics: DiagnosticsSchema.prefault({}),
  evaluator: EvaluatorSchema.prefault({}),
});

/** The four real steps' configs. */
export const StepConfigsSchema = z.strictObject({
  collectSet: CollectStepSchema.prefault({}),
  buildPairs: BuildPairsStepSchema.prefault({}),
  trainGenerator: TrainGeneratorStepSchema.prefault({}),
  evaluate: EvaluateStepSchema.prefault({}),
}).superRefine((s, ctx) => {
  // The token grid is (r+2) x (w+2): an explicit decoder chain must end there. Whether w divides the model's
  // LoRA dimensions needs the model's config.json: config-preflight.ts checks it.
  const w = s.buildPairs.tokenWidth;
  const f = s.trainGenerator.features;
  if (f.length >= 2) {
    const [, H, W] = f[f.length - 1]!;
    if (H !== s.collectSet.rank + 2) ctx.addIssue({ code: 'custom', path: ['trainGenerator', 'features', f.length - 1, 1], message: `the chain ends at the token grid's height r + 2 = ${s.collectSet.rank + 2} (collectSet.rank ${s.collectSet.rank}), got ${H}` });
    if (w > 0 && W !== w + 2) ctx.addIssue({ code: 'custom', path: ['trainGenerator', 'features', f.length - 1, 2], message: `the chain ends at the token grid's width w + 2 = ${w + 2} (buildPairs.tokenWidth ${w}), got ${W}` });
  }
  const g = s.evaluate.evaluator;
  if (g.scorer === 'generative' && g.generative.template !== s.collectSet.promptTemplate) {
    ctx.addIssue({ code: 'custom', path: ['evaluate', 'evaluator', 'generative', 'template'], message: `must equal collectSet.promptTemplate ${JSON.stringify(s.collectSet.promptTemplate)} (the LoRAs answer in the form they were trained on), got ${JSON.stringify(g.generative.template)}` });
  }
});

const positive = z.number().gt(0);

/** Timeouts and retries of every step activity (seconds). */
export const TemporalSchema = z.strictObject({
  namespace: z.string().min(1).default('default').describe("Temporal's default namespace exists on every dev server and fresh cluster"),
  cpuQueue: z.string().min(1).default('dnd-cpu').describe('Workflows and CPU activities; every worker polls it'),
  gpuQueue: z.string().min(1).default('dnd-gpu').describe('GPU activities when a `dnd worker --queue gpu` is present'),
  heartbeatTimeoutSec: num(1).default(60).describe("A killed worker's activity is retried elsewhere after this long without a heartbeat"),
  startToCloseTimeoutSec: positive.default(6 * 3600).describe('Upper bound for one attempt of a step'),
  gpuScheduleToStartSec: num(1).default(300).describe('A GPU task nobody picks up within this long goes back to the CPU queue'),
  gpuPresenceWindowSec: num(1).default(120).describe('A GPU worker polled within this long counts as present'),
  retry: z.strictObject({
    initialIntervalSec: num(0.01).default(5),
    backoffCoefficient: num(1).default(2),
    maximumIntervalSec: positive.default(300),
    maximumAttempts: int(0).default(10).describe('0 = unlimited'),
  }).prefault({}),
}).superRefine((t, ctx) => {
  if (t.cpuQueue === t.gpuQueue) ctx.addIssue({ code: 'custom', path: ['gpuQueue'], message: `must differ from cpuQueue, both are "${t.cpuQueue}"` });
  if (t.startToCloseTimeoutSec < t.heartbeatTimeoutSec) ctx.addIssue({ code: 'custom', path: ['startToCloseTimeoutSec'], message: `must be >= heartbeatTimeoutSec (${t.heartbeatTimeoutSec}), got ${t.startToCloseTimeoutSec}` });
  if (t.retry.maximumIntervalSec < t.retry.initialIntervalSec) ctx.addIssue({ code: 'custom', path: ['retry', 'maximumIntervalSec'], message: `must be >= retry.initialIntervalSec (${t.retry.initialIntervalSec}), got ${t.retry.maximumIntervalSec}` });
});

const setName = z.string().min(1);

/**
 * The run config. Cross-field rules (the superRefine blocks) run once the fields they read have the right
 * types: a config with type errors is refused for those first. `steps` is given as an argument: the real steps' schema, or a permissive one for step
 * functions that validate their own sections (the demo steps).
 */
export function runConfigSchema<S extends z.ZodType>(steps: S) {
  return z.strictObject({
    $schema: z.string().optional().describe('JSON Schema reference for editors (ignored)'),
    $comment: z.string().optional().describe('Free text (ignored)'),
    sets: z.array(setName).min(1).default(['ARC-Easy', 'boolq', 'openbookqa', 'piqa', 'social_i_qa']).describe('Task sets of the zoo, by name: a folder under dataDir unless setDirs names another'),
    dataDir: z.string().min(1).default(path.join(sharedDir(), 'data', 'commonsense')).describe('Folder of the shipped sets ($DND_SHARED_DIR/data/commonsense)'),
    setDirs: z.record(z.string(), z.string().min(1)).default({}).describe('name -> folder (or file) of a set that lives elsewhere (`dnd run --set name=path`)'),
    heldOut: z.array(setName).default(['ARC-Easy']).describe('Sets left out of generator training and evaluated zero-shot'),
    collectHeldOut: z.boolean().default(false).describe("Whether dndPipeline also collects the held-out sets' LoRAs"),
    seed: int(0).default(42).describe('One seed for every step, recorded in the manifest'),
    steps,
    temporal: TemporalSchema.prefault({}),
    runsDir: z.string().min(1).default('runs').describe('Run directories live under here (relative to the working directory)'),
    artifactsDir: z.string().min(1).default('runs/artifacts').describe('Content-addressed outputs shared by all runs'),
  }).superRefine((c, ctx) => {
    const seen = new Set<string>();
    c.sets.forEach((s, i) => { if (seen.has(s)) ctx.addIssue({ code: 'custom', path: ['sets', i], message: `"${s}" is listed twice` }); seen.add(s); });
    c.heldOut.forEach((h, i) => { if (!seen.has(h)) ctx.addIssue({ code: 'custom', path: ['heldOut', i], message: `"${h}" is not in sets ${JSON.stringify(c.sets)}` }); });
    if (c.heldOut.length >= c.sets.length) ctx.addIssue({ code: 'custom', path: ['heldOut'], message: `leaves no set to train on: ${JSON.stringify(c.heldOut)}` });
    for (const name of Object.keys(c.setDirs)) if (!seen.has(name)) ctx.addIssue({ code: 'custom', path: ['setDirs', name], message: `names "${name}", which is not in sets ${JSON.stringify(c.sets)}` });
  });
}

/** The run config with the real steps' configs. */
export const RunConfigSchema = runConfigSchema(StepConfigsSchema.prefault({}));

export type CollectStepConfig = z.output<typeof CollectStepSchema>;
export type BuildPairsStepConfig = z.output<typeof BuildPairsStepSchema>;
export type TrainGeneratorStepConfig = z.output<typeof TrainGeneratorStepSchema>;
export type EvaluateStepConfig = z.output<typeof EvaluateStepSchema>;
export type StepConfigs = z.output<typeof StepConfigsSchema>;
/** The resolved run config with typed step sections (types.ts's RunConfig keeps the untyped form the workflows carry). */
export type TypedRunConfig = z.output<typeof RunConfigSchema>;

/** The real steps' defaults, from the schema. @example DEFAULT_STEP_CONFIGS.trainGenerator.train.totalSteps // 1000 */
export const DEFAULT_STEP_CONFIGS: StepConfigs = StepConfigsSchema.parse({});

/** One problem in a config: the dotted path of the field and what is wrong. */
export interface ConfigIssue { path: string; message: string }

/** `steps.trainGenerator.train.totalSteps`, `sets[2]`. */
export function issuePath(p: ReadonlyArray<PropertyKey>): string {
  return p.map((k, i) => (typeof k === 'number' ? `[${k}]` : `${i ? '.' : ''}${String(k)}`)).join('') || '(root)';
}

/** Every problem zod found, with paths relative to `prefix`. */
export function configIssues(error: z.ZodError, prefix: ReadonlyArray<PropertyKey> = []): ConfigIssue[] {
  return error.issues.map((i) => {
    let message = i.message;
    if (i.code === 'invalid_type') message = `expected ${i.expected}, got ${JSON.stringify((i as { input?: unknown }).input) ?? 'nothing'}`;
    if (i.code === 'unrecognized_keys') message = `unknown field(s) ${i.keys.map((k) => JSON.stringify(k)).join(', ')}`;
    return { path: issuePath([...prefix, ...i.path]), message };
  });
}

/**
 * The JSON Schema of the run config (draft 2020-12) for editors: point a config file's `$schema` at it.
 * @example fs.writeFileSync('dnd-config.schema.json', JSON.stringify(runConfigJsonSchema(), null, 2))
 */
export function runConfigJsonSchema(): Record<string, unknown> {
  const s = z.toJSONSchema(RunConfigSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return { ...s, title: 'dnd run config', description: 'Overrides merged onto the defaults by `dnd run <config.json>`; every field is optional.' };
}
