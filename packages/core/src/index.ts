// Public API of @dnd/core: everything other packages may use is exported here by name.
export { CORE_VERSION } from './version';
export type { TensorData } from './tensor-data';
export { sizeOf, assertShape } from './tensor-data';
export { mergeConfig, checkNumber, checkOneOf, canonicalJson } from './config';
export type { BackendName, BackendInfo } from './backend';
export { initBackend, currentBackend, BACKEND_ORDER } from './backend';
export type { SafetensorsDtype, SafetensorsEntry, SafetensorsHeader, SafetensorsValue, TensorToWrite } from './safetensors';
export { SafetensorsFile, readSafetensors, readSafetensorsHeader, writeSafetensors, serializeSafetensors, writeFileAtomic, decodeTensorBytes, MAX_HEADER_BYTES } from './safetensors';
// -- sections below are filled in by each area; add exports only inside your own section --
// [runtime]
// [formats: hf config, tokenizer, peft adapters]
// [lora token grids]
// [artifact store, manifests]
