// config.json parsing for Llama and Qwen2: defaults, GQA, RoPE variants, Qwen2 biases, clear errors.
import { parseHfConfig, toHfConfigJson, TINY_LLAMA_CONFIG } from './hf-config';

const smollm2 = {
  architectures: ['LlamaForCausalLM'], model_type: 'llama', vocab_size: 49152, hidden_size: 576, intermediate_size: 1536,
  num_hidden_layers: 30, num_attention_heads: 9, num_key_value_heads: 3, max_position_embeddings: 8192, rms_norm_eps: 1e-5,
  rope_theta: 100000, rope_scaling: null, tie_word_embeddings: true, bos_token_id: 1, eos_token_id: 2, pad_token_id: 2,
};

it('parses a SmolLM2 (Llama, GQA, tied) config', () => {
  const c = parseHfConfig(smollm2, 'm/config.json');
  expect(c).toMatchObject({ modelType: 'llama', headDim: 64, numKeyValueHeads: 3, ropeTheta: 100000, ropeScaling: null,
    tieWordEmbeddings: true, qkvBias: false, oBias: false, eosTokenIds: [2], rmsNormEps: 1e-5 });
});

it('parses Qwen2 (q/k/v bias, untied by default) and transformers 5 rope_parameters', () => {
  const q = parseHfConfig({ ...smollm2, architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', tie_word_embeddings: undefined,
    rope_theta: undefined, rope_parameters: { rope_type: 'default', rope_theta: 1e6 }, eos_token_id: [2, 3] });
  expect(q).toMatchObject({ modelType: 'qwen2', qkvBias: true, oBias: false, tieWordEmbeddings: false, ropeTheta: 1e6, eosTokenIds: [2, 3] });
  const l3 = parseHfConfig({ ...smollm2, rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 } });
  expect(l3.ropeScaling).toEqual({ type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 });
  expect(parseHfConfig({ ...smollm2, rope_scaling: { type: 'linear', factor: 2 } }).ropeScaling).toEqual({ type: 'linear', factor: 2 });
  expect(parseHfConfig(toHfConfigJson(TINY_LLAMA_CONFIG))).toEqual(TINY_LLAMA_CONFIG);
});

it('names the file and field on bad input', () => {
  expect(() => parseHfConfig({ ...smollm2, architectures: ['MistralForCausalLM'], model_type: 'mistral' }, 'a/config.json'))
    .toThrow('a/config.json: unknown architecture ["MistralForCausalLM"] (supported: LlamaForCausalLM, Qwen2ForCausalLM)');
  expect(() => parseHfConfig({ ...smollm2, num_key_value_heads: 4 }, 'a/config.json')).toThrow('a/config.json.numKeyValueHeads=4 must divide numAttentionHeads=9');
  expect(() => parseHfConfig({ ...smollm2, rope_scaling: { rope_type: 'yarn', factor: 4 } }, 'a/config.json')).toThrow(/rope scaling type "yarn" is not supported/);
  expect(() => parseHfConfig({ ...smollm2, hidden_size: 'big' }, 'a/config.json')).toThrow(/hiddenSize must be an integer >= 1, got "big"/);
  expect(() => parseHfConfig({ ...smollm2, eos_token_id: 50000 }, 'a/config.json')).toThrow(/special token id 50000 is outside the vocabulary/);
});

it('looks architecture names up in its own map only: "constructor" is refused, not labelled Qwen2', () => {
  for (const arch of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
    expect(() => parseHfConfig({ ...smollm2, architectures: [arch], model_type: undefined }, 'h/config.json'))
      .toThrow(`h/config.json: unknown architecture ["${arch}"]`);
  }
});
