// Public API of @dnd/orchestrator: everything other packages may use is exported here by name.
export { buildCli } from './cli';
export type { StepContext, StepFunction, StepFunctions, StepName, CollectSetInput, BuildPairsInput, TrainGeneratorInput, EvaluateInput } from './step-functions';
export { BadInputError } from './step-functions';
export { createStepFunctions } from './steps';
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
export type * from './types';
