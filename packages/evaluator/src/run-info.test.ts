import { isBadInput } from '@dnd/core';
import { publicName, publicText, validateRunInfo } from './run-info';

describe('publicName / publicText', () => {
  it('keeps only the last component of absolute local paths', () => {
    expect(publicName('/home/a/.cache/dnd/models/SmolLM2-135M-Instruct')).toBe('SmolLM2-135M-Instruct');
    expect(publicName('/home/a/models/m1/')).toBe('m1');
    expect(publicName('file:///srv/x/model')).toBe('model');
    expect(publicName('C:\\models\\minilm')).toBe('minilm');
    expect(publicName('~/models/minilm')).toBe('minilm');
    expect(publicName('HuggingFaceTB/SmolLM2-135M-Instruct')).toBe('HuggingFaceTB/SmolLM2-135M-Instruct'); // a hub id, not a path
  });
  it('scrubs paths inside text and leaves label formats, hub ids and URLs alone', () => {
    expect(publicText('loaded from /srv/x/models/m1 in 3 s')).toBe('loaded from m1 in 3 s');
    expect(publicText('(see /tmp/run-7/report.md)')).toBe('(see report.md)');
    expect(publicText('answer1/answer2/answer3')).toBe('answer1/answer2/answer3');
    expect(publicText('HuggingFaceTB/SmolLM2-135M')).toBe('HuggingFaceTB/SmolLM2-135M');
    expect(publicText('https://huggingface.co/x/y')).toBe('https://huggingface.co/x/y');
  });
});

describe('validateRunInfo', () => {
  it('accepts a full record and names the bad field with a BadInputError', () => {
    expect(() => validateRunInfo({ runId: 'r', preset: 'p', seed: 1, baseModel: { name: 'm', provenance: 'dequantized from Q4_1 GGUF' }, stepSeconds: [{ step: 'collect', seconds: 3 }], trainingLoss: [{ step: 0, loss: 1 }] })).not.toThrow();
    const bad = (x: unknown, re: RegExp) => {
      let err: unknown;
      try { validateRunInfo(x); } catch (e) { err = e; }
      expect(isBadInput(err)).toBe(true);
      expect((err as Error).message).toMatch(re);
    };
    bad({ stepSeconds: [{ step: 'collect', seconds: -1 }] }, /runInfo.stepSeconds\[0\] must be \{ step, seconds \}/);
    bad({ trainingLoss: [{ step: 0, loss: NaN }] }, /runInfo.trainingLoss\[0\]/);
    bad({ baseModel: 'm' }, /runInfo.baseModel must be \{ name, digest\? \}/);
    bad({ commit: 12 }, /runInfo.commit must be a string/);
    bad({ tensorBackend: 'x' }, /unknown field "tensorBackend"/);
  });
});
