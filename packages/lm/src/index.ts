// Public API of @dnd/lm: everything other packages may use is exported here by name.
export type { CausalLM, ScoreRequest, ScoreResult, ScoreOptions, GenerateOptions, StopRule, LoraTrainer, LoraTrainerConfig, LoraTrainerState, TrainBatch } from './types';
export { loadCausalLM, createRandomCausalLM } from './causal-lm';
export { createLoraTrainer, DEFAULT_LORA_TRAINER_CONFIG, validateLoraTrainerConfig } from './trainer';
export { ByteTokenizer } from './byte-tokenizer';
export type { ModelCheckResult } from './model-check';
export { modelCheck, MODEL_CHECK_PROMPT, MODEL_CHECK_TEXT } from './model-check';
