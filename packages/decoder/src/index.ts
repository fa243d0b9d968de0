// Public API of @dnd/decoder: everything other packages may use is exported here by name.
export type { Feature, DecoderConfig, ParamSpec } from './decoder-config';
export {
  DEFAULT_DECODER_CONFIG, DECODER_PRESETS, validateDecoderConfig, checkChainMatchesTokens, checkChainMatchesCondition,
  interpolatedChain, decoderParamSpecs, decoderParamCount,
} from './decoder-config';
export { HyperConvDecoder } from './hyperconv';
export type { TrainConfig } from './train-config';
export { DEFAULT_TRAIN_CONFIG, validateTrainConfig, lrAt } from './train-config';
export type { DecoderBatch, BatchSource, TrainProgress, TrainDecoderOptions, TrainDecoderResult } from './trainer';
export { DecoderTrainer, NonFiniteLossError, trainDecoder, formatProgress, TRAIN_VERSION } from './trainer';
export type { CheckpointState, CheckpointContents } from './checkpoint';
export { saveCheckpoint, loadCheckpoint, latestCheckpoint, stepDirName, CHECKPOINT_FORMAT, CHECKPOINT_VERSION } from './checkpoint';
export type { ConditionEncoder, LoraTemplate, GenerateLoraOptions, GenerateLoraResult } from './generate';
export { generateLora, loraTemplateFromAdapter, loadGenerator } from './generate';
export type { GenerateLoraSamplesOptions, GeneratedLoraSample } from './generate-samples';
export { generateLoraSamples, samplePromptIndices } from './generate-samples';
export type { NamedDigest, GeneratorTraining, GeneratorScore, GeneratorManifest, GeneratorDirInput, LoadedGeneratorDir, GeneratorExpectations } from './generator-dir';
export { writeGeneratorDir, readGeneratorDir, readGeneratorManifest, generatorDigest, checkGeneratorExpectations, GENERATOR_DIR_FORMAT, GENERATOR_DIR_SCHEMA_VERSION } from './generator-dir';
export { renderGeneratorCard } from './generator-card';
