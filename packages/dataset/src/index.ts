// Public API of @dnd/dataset: everything other packages may use is exported here by name.
export type { TaskItem, TaskFile, TaskFileFormat, ReadTaskFileOptions } from './task-file';
export { readTaskFile, taskFileFormat } from './task-file';
export type { TaskSet, LoadTaskSetOptions, SplitSource } from './task-set';
export { loadTaskSet, resolveTaskSet, registerTaskSetAlias, taskSetAliases, sharedDir, conditioningPrompt, trainingExample, COMMONSENSE_SETS } from './task-set';
export type { CollectTarget } from './training-examples';
export { trainingExamples, COLLECT_TARGETS } from './training-examples';
export type { SeededRandom } from '@dnd/core';
export { seededRandom } from '@dnd/core'; // moved to @dnd/core; re-exported so callers stay unchanged
export { CheckpointStore, CheckpointStoreWriter, CHECKPOINT_STORE_SCHEMA_VERSION } from './checkpoint-store';
export type { CheckpointRow, CheckpointRecord, CheckpointStoreMeta } from './checkpoint-store';
export { writePromptStore, readPromptStore, promptHash, PROMPT_STORE_SCHEMA_VERSION } from './prompt-store';
export type { PromptStore, PromptSplit } from './prompt-store';
export { writeLossWeights, readLossWeights, trainingLossWeights, LOSS_WEIGHTS_SCHEMA_VERSION } from './loss-weights';
export { PairSampler, DEFAULT_PAIR_SAMPLER_CONFIG, validatePairSamplerConfig } from './pair-sampler';
export type { Pair, PairSamplerConfig, TrainingBatch } from './pair-sampler';
export type { CollectConfig } from './collect-config';
export { DEFAULT_COLLECT_CONFIG, validateCollectConfig, resolveCollectConfig } from './collect-config';
export type { ZooSetManifest, ZooSnapshot, LossPoint } from './zoo-manifest';
export { readZooManifest, verifyZooSet, ZOO_MANIFEST_FILE, SNAPSHOT_WEIGHTS_FILE, ZOO_MANIFEST_VERSION } from './zoo-manifest';
export type { CollectDeps, CollectSetResult } from './collect';
export { collectSet, modelDigest, saveTrainerState, loadTrainerState } from './collect';
export type { CollectProgress } from './progress';
export { progressBar, formatProgress } from './progress';
export type { CollectZooInput, CollectZooOutput } from './collect-zoo';
export { collectZoo, COLLECT_ZOO_STEP_VERSION } from './collect-zoo';
export type { BuildPairsConfig, BuildPairsInput, BuildPairsOutput } from './build-pairs';
export { buildPairs, fileRef, DEFAULT_BUILD_PAIRS_CONFIG, validateBuildPairsConfig, BUILD_PAIRS_STEP_VERSION, ARROW_FILE_MEDIA_TYPE } from './build-pairs';
