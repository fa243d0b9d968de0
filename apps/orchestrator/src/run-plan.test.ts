import { defaultRunConfig } from './config';
import { createDemoSteps } from './demo-steps';
import { plannedSteps } from './run-plan';
import { runPlan } from './client';

describe('plannedSteps', () => {
  const config = () => ({ ...defaultRunConfig(createDemoSteps()), sets: ['a', 'b', 'c'], heldOut: ['c'] });

  it('a pipeline collects its training sets only, and a config from before collectHeldOut (absent) collects every set, as the workflow does', () => {
    const c = config();
    c.collectHeldOut = false;
    expect(plannedSteps('dndPipeline', 'r', c).map((s) => s.id)).toEqual(['r/zoo/a', 'r/zoo/b', 'r/pairs', 'r/train', 'r/evaluate']);
    delete (c as Partial<typeof c>).collectHeldOut;
    expect(plannedSteps('dndPipeline', 'r', c).filter((s) => s.kind === 'collect').map((s) => s.set)).toEqual(['a', 'b', 'c']);
  });

  it('leave-one-out collects every set once and runs one fold per set; the ETA plan has the same ids', () => {
    const c = config();
    const ids = plannedSteps('leaveOneOut', 'r', c).map((s) => s.id);
    expect(ids).toEqual(['r/zoo/a', 'r/zoo/b', 'r/zoo/c',
      'r/heldout-a/pairs', 'r/heldout-a/train', 'r/heldout-a/evaluate', 'r/heldout-b/pairs', 'r/heldout-b/train', 'r/heldout-b/evaluate',
      'r/heldout-c/pairs', 'r/heldout-c/train', 'r/heldout-c/evaluate']);
    expect(runPlan('leaveOneOut', 'r', c).map((s) => s.id)).toEqual(ids);
  });
});
