// Public API of @dnd/core: everything other packages may use is exported here by name.
export { CORE_VERSION } from './version';
export type { TensorData } from './tensor-data';
export { sizeOf, assertShape } from './tensor-data';
export { BadInputError, isBadInput } from './bad-input';
export { mergeConfig, checkNumber, checkOneOf, canonicalJson } from './config';
export { mulberry32, normalArray, uniformArray } from './prng';
export type { AdamWOptions, AdamWParams } from './adamw';
export { AdamW } from './adamw';
export type { SeededRandom } from './seeded-random';
export { seededRandom } from './seeded-random';
export type { BackendName, BackendInfo } from './backend';
export { initBackend, currentBackend, BACKEND_ORDER } from './backend';
export type { SafetensorsDtype, SafetensorsEntry, SafetensorsHeader, SafetensorsValue, TensorToWrite } from './safetensors';
export { SafetensorsFile, readSafetensors, readSafetensorsHeader, writeSafetensors, serializeSafetensors, decodeTensorBytes, MAX_HEADER_BYTES } from './safetensors';
export { writeFileAtomic, DiskFullError, isDiskFull, isAtomicTempName } from './atomic-write';
export type { NameKind } from './names';
export { NAME_PATTERN, isValidName, validateName, resolveInside } from './names';
export { formatDuration } from './duration';
// -- sections below are filled in by each area; add exports only inside your own section --
// [runtime]
export type { PatchedBackend, RuntimeKernelsConfig } from './wasm-kernels';
export { installRuntimeKernels, installedRuntimeKernels, uninstallRuntimeKernels, conv2dFilterGradIm2col, conv2dInputGradFlipped, DEFAULT_RUNTIME_KERNELS_CONFIG, validateRuntimeKernelsConfig } from './wasm-kernels';
// [formats: hf config, tokenizer, peft adapters]
export type { LoraAdapterConfig, LoraAdapter, LoraModule } from './peft';
export type { HfModelConfig, RopeScaling, HfGenerationConfig } from './hf-config';
export { TINY_LLAMA_CONFIG, parseHfConfig, validateHfModelConfig, toHfConfigJson, readHfConfig, readGenerationConfig } from './hf-config';
export type { TextTokenizer } from './tokenizer';
export { HfTokenizer, loadHfTokenizer } from './tokenizer';
export type { ChatMessage, ChatTemplateTokens } from './chat-template';
export { applyChatTemplate } from './chat-template';
export type { AnswerFormat, InstructionRecord, ParsedInstruction } from './instruction-format';
export { ANSWER_FORMATS, formatTokens, parseInstruction, knowledgeExample } from './instruction-format';
export { LORA_MODULES, DEFAULT_LORA_ADAPTER_CONFIG, validateLoraAdapterConfig, validateLoraAdapter, loraScaling, loraModulePath, peftTensorName, parsePeftTensorName, parsePeftAdapterConfig, toPeftAdapterConfig, readPeftAdapter, writePeftAdapter } from './peft';
// [lora token grids]
export type { LoraModuleShape, LoraTokenEntry, LoraTokenLayout, LlamaLoraShapeSpec } from './lora-tokens';
export { LORA_TOKEN_MODULE_ORDER, TOKEN_MEAN_SCALE, TOKEN_STD_BIAS, llamaLoraShapes, loraTokenLayout, loraTokenLayoutOf, tokenizeLora, detokenizeLora, tokenLossWeights, meanLossWeights } from './lora-tokens';
// [artifact store, manifests]
export type { ArtifactRef, ArtifactRecord, ArtifactStore, LocalArtifactStoreOptions, EntryCheck } from './artifacts';
export { artifactKey, sha256Hex, sha256File, digestPath, LocalArtifactStore, ArtifactCorruptError } from './artifacts';
export type { RunManifest } from './run-manifest';
export { writeRunManifest, readRunManifest } from './run-manifest';
// [object storage: S3 artifact store, store URLs, SeaweedFS for tests]
export type { S3ArtifactStoreOptions } from './s3-artifact-store';
export { S3ArtifactStore } from './s3-artifact-store';
export type { OpenArtifactStoreOptions } from './artifact-store-url';
export { openArtifactStore, parseS3Url } from './artifact-store-url';
export type { SeaweedFsServer } from './seaweedfs-server';
export { startSeaweedFs, seaweedFsBinary } from './seaweedfs-server';
export { freePort, provisionedBinary } from './local-service';
