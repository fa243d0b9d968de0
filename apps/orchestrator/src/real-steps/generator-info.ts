// The files by which the real steps hand results to each other: buildPairs names the zoo outputs it was
// built from (zoo-refs.json), trainGenerator records what generation and evaluation need (generator.json).
// Not the portable generator format (@dnd/decoder's generator-dir.ts; `dnd export-generator` writes it).
import type { ArtifactRef } from '@dnd/core';

/** File in the buildPairs output naming the zoo outputs it was built from. */
export const ZOO_REFS_FILE = 'zoo-refs.json';
/** File in the trainGenerator output that evaluate reads (encoder, shapes, zoo, base model). */
export const GENERATOR_INFO_FILE = 'generator.json';

/** What trainGenerator records for generation and evaluation. */
export interface GeneratorInfo {
  encoder: string;
  encoderDigest: string;
  promptsPerPair: number;
  textLength: number;
  tokenShape: [number, number, number];
  trainSets: string[];
  heldOut: string[];
  zoo: Array<{ set: string; output: ArtifactRef }>;
  baseModel: { source: string; digest: string };
  split: { skipBad: boolean; splitSeed: number; trainFraction: number };
  /** The training loss of this attempt's steps (every step up to 200, then every `totalSteps / 200`th); absent in older outputs. */
  trainingLoss?: Array<{ step: number; loss: number }>;
}
