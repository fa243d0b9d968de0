// Public API of @dnd/orchestrator: everything other packages may use is exported here by name.
export { buildCli } from './cli';
export type { StepContext, StepFunction, StepFunctions, StepName, CollectSetInput, BuildPairsInput, TrainGeneratorInput, EvaluateInput } from './step-functions';
export { BadInputError } from './step-functions';
export { createStepFunctions } from './steps';
export { createRealSteps, REAL_STEP_DEFAULTS, REAL_STEP_VERSIONS } from './real-steps';
export type { RealSteps, RealStepOptions, CollectStepConfig, TrainGeneratorStepConfig, EvaluateStepConfig } from './real-steps';
export { resolveModelDir, modelsDir } from './assets';
export { encodePool, decoderBatches } from './pair-batches';
export type { EncodedPool, PairBatchSource } from './pair-batches';
export { createDemoSteps } from './demo-steps';
export type { DemoStepOptions } from './demo-steps';
export { createActivities, LATEST_GENERATOR_ALIAS } from './activities';
export type { ActivityDeps, DndActivities } from './activities';
export { createDndWorker } from './worker';
export type { DndWorkerOptions } from './worker';
export { connectClient, startPipeline, startLeaveOneOut, collectProgress, formatProgress, followRun, createNightlySchedule } from './client';
export type { ProgressLine, NightlyScheduleOptions } from './client';
export { startDevServer, temporalBinary, freePort } from './dev-server';
export type { DevServer, DevServerOptions } from './dev-server';
export { DEFAULT_RUN_CONFIG, defaultRunConfig, validateRunConfig, loadRunConfig, PRESETS_DIR } from './config';
export type { LoadedConfig } from './config';
export { RunConfigSchema, StepConfigsSchema, DEFAULT_STEP_CONFIGS, runConfigJsonSchema } from './config-schema';
// The schema's step config types keep their names in config-schema.ts; here under Schema* until real-steps.ts's go.
export type { StepConfigs, TypedRunConfig, BuildPairsStepConfig, ConfigIssue, CollectStepConfig as SchemaCollectStepConfig, TrainGeneratorStepConfig as SchemaTrainGeneratorStepConfig, EvaluateStepConfig as SchemaEvaluateStepConfig } from './config-schema';
export { preflightRunConfig, assertRunnable } from './config-preflight';
export { listRuns, readRunStatus } from './run-record';
export type { RunListing, RunStatus } from './run-record';
export type * from './types';
