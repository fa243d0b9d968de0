// A generator directory for the tests of dnd generate / serve / evaluate: a randomly initialised (seeded)
// decoder in @dnd/decoder's portable format, for @dnd/lm's tiny Llama fixture (q_proj, v_proj, r 2) and
// @dnd/encoder's tiny BERT fixture (32-d, L 8, N 4). Real formats and real models, untrained weights. Test support only.
import * as path from 'path';
import { DEFAULT_LORA_ADAPTER_CONFIG, digestPath, llamaLoraShapes, loraTokenLayout, readHfConfig } from '@dnd/core';
import { HyperConvDecoder, interpolatedChain, writeGeneratorDir, type GeneratorManifest } from '@dnd/decoder';
import { loadTextEncoder, tinyBertFixtureDir } from '@dnd/encoder';

export const TINY_LLAMA = path.resolve(__dirname, '..', '..', '..', '..', 'packages', 'lm', 'test', 'fixtures', 'llama');
export const TINY_N = 4;

/** Writes the tiny generator at `dir` (seeded: equal seeds give equal directories) and returns its manifest. */
export async function writeTinyGenerator(dir: string, seed = 1): Promise<GeneratorManifest> {
  const hf = readHfConfig(TINY_LLAMA);
  const targetModules = ['q_proj', 'v_proj'];
  const layout = loraTokenLayout(llamaLoraShapes({
    numLayers: hf.numHiddenLayers, hiddenSize: hf.hiddenSize, intermediateSize: hf.intermediateSize, kvOutSize: hf.numKeyValueHeads * hf.headDim, targetModules,
  }), { rank: 2, width: 16 });
  const encoder = await loadTextEncoder(tinyBertFixtureDir());
  const decoder = { features: interpolatedChain([TINY_N, 8, encoder.dim], layout.tokenShape, 2), kernelSize: 3 };
  const gen = HyperConvDecoder.create(decoder, seed);
  try {
    return writeGeneratorDir(dir, {
      params: gen.stateDict(), decoder,
      template: { layout, adapterConfig: { ...DEFAULT_LORA_ADAPTER_CONFIG, r: 2, loraAlpha: 4, targetModules, baseModelNameOrPath: 'llama' } },
      encoder: { name: path.basename(tinyBertFixtureDir()), digest: encoder.digest, kind: 'bert' },
      baseModel: { name: path.basename(TINY_LLAMA), digest: digestPath(TINY_LLAMA).sha256, architecture: hf.architecture },
      training: { sets: ['boolq'], heldOut: ['openbookqa'], loss: { kind: 'weighted-mse', tokenWeights: 'uniform' }, train: null, steps: 0, finalLoss: null },
    });
  } finally {
    gen.dispose();
    encoder.dispose();
  }
}
