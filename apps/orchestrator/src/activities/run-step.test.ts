// Activities in a mock activity context (no server): cache hits skip the step, a retry resumes from
// the heartbeat details and the store, bad input and bad config fail non-retryably with the cause.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment as BaseEnv } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { LocalArtifactStore } from '@dnd/core';
import { sharedDir } from '@dnd/dataset';
import { defaultRunConfig } from '../config';
import { createDemoSteps } from '../demo-steps';
import type { Progress, RunConfig } from '../types';
import { createActivities } from './index';

// Activity failures are expected here: keep the SDK's logger quiet.
class MockActivityEnvironment extends BaseEnv {
  constructor(info?: ConstructorParameters<typeof BaseEnv>[0]) {
    super(info, { logger: new DefaultLogger('ERROR') });
  }

  /** run() with the activity's own types. */
  call<A extends unknown[], R>(fn: (...a: A) => Promise<R>, ...args: A): Promise<R> {
    return this.run(fn as any, ...args) as Promise<R>;
  }
}

const DATA_DIR = process.env['DND_DATA_DIR'] ?? path.join(sharedDir(), 'data', 'commonsense');

function setup(snapshots = 3) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'dnd-act-'));
  const store = new LocalArtifactStore(root);
  const units: string[] = [];
  const steps = createDemoSteps({ onUnit: (u, phase) => units.push(`${phase} ${u}`) });
  const config: RunConfig = defaultRunConfig(steps);
  config.dataDir = DATA_DIR;
  config.steps.collectSet = { ...config.steps.collectSet, snapshots };
  return { store, units, steps, config, acts: createActivities({ store, steps, queue: 'q' }) };
}

describe('step activities', () => {
  it('computes once, heartbeats {done, total, last} per unit, then returns the stored output without computing', async () => {
    const { acts, units, config } = setup(3);
    const env = new MockActivityEnvironment();
    const beats: Progress[] = [];
    env.on('heartbeat', (d: Progress) => beats.push(d));
    const first = await env.call(acts.collectSet, { set: 'boolq', config });
    expect(first.cached).toBe(false);
    expect(first.meta['checkpoints']).toHaveLength(3);
    expect(units.filter((u) => u.startsWith('start'))).toEqual(['start collectSet:boolq:0', 'start collectSet:boolq:1', 'start collectSet:boolq:2']);
    expect(beats.map((b) => [b.done, b.total])).toEqual([[0, 0], [1, 3], [2, 3], [3, 3]]);
    expect(beats[3]!.last).toEqual((first.meta['checkpoints'] as unknown[])[2]);
    const second = await new MockActivityEnvironment().call(acts.collectSet, { set: 'boolq', config });
    expect(second).toMatchObject({ cached: true, ref: first.ref, key: first.key });
    expect(units.filter((u) => u.startsWith('start'))).toHaveLength(3);
  });

  it('a retry after a crash resumes after the last stored unit (heartbeat details, then the store)', async () => {
    const { acts, units, config, steps, store } = setup(4);
    // Attempt 1 crashes inside unit 2 (after units 0 and 1 were stored).
    const crashing = createActivities({
      store, queue: 'q',
      steps: { ...steps, collectSet: createDemoSteps({ onUnit: (u, phase) => { units.push(`${phase} ${u}`); if (u.endsWith(':2') && phase === 'start') throw new Error('worker died'); } }).collectSet },
    });
    const env1 = new MockActivityEnvironment();
    let lastBeat: Progress | undefined;
    env1.on('heartbeat', (d: Progress) => { lastBeat = d; });
    await expect(env1.call(crashing.collectSet, { set: 'openbookqa', config })).rejects.toThrow('worker died');
    expect(lastBeat).toMatchObject({ done: 2, total: 4 });
    // Attempt 2 gets only unit 0's heartbeat (the later ones were throttled away): the store supplies unit 1.
    const stale = { ...lastBeat!, done: 1, last: null };
    const r = await new MockActivityEnvironment({ attempt: 2, heartbeatDetails: stale }).call(acts.collectSet, { set: 'openbookqa', config });
    expect(units.filter((u) => u.startsWith('start'))).toEqual(['start collectSet:openbookqa:0', 'start collectSet:openbookqa:1', 'start collectSet:openbookqa:2', 'start collectSet:openbookqa:2', 'start collectSet:openbookqa:3']);
    expect(r.meta['checkpoints']).toHaveLength(4);
  });

  it('bad input and bad config are non-retryable ApplicationFailures that carry the cause', async () => {
    const { acts, config } = setup();
    const missing = await new MockActivityEnvironment().call(acts.collectSet, { set: 'no-such-set', config }).catch((e: any) => e);
    expect(missing).toBeInstanceOf(ApplicationFailure);
    expect(missing).toMatchObject({ nonRetryable: true, type: 'BadInput' });
    expect(missing.message).toMatch(/no-such-set/);

    const bad = structuredClone(config);
    bad.steps.collectSet = { ...bad.steps.collectSet, snapshots: 0 };
    const e = await new MockActivityEnvironment().call(acts.collectSet, { set: 'boolq', config: bad }).catch((x: any) => x);
    expect(e).toMatchObject({ nonRetryable: true, type: 'BadInput' });
    expect(e.message).toMatch(/collectSet\.snapshots must be an integer >= 1, got 0/);
    expect(e.cause).toMatchObject({ name: 'BadInputError' });

    const noAlias = await new MockActivityEnvironment().call(acts.resolveAlias, 'latest-generator').catch((x: any) => x);
    expect(noAlias).toMatchObject({ nonRetryable: true, type: 'BadInput' });
  });

  it('a transient error stays retryable', async () => {
    const { config, steps, store } = setup();
    const flaky = createActivities({ store, queue: 'q', steps: { ...steps, buildPairs: async () => { throw new Error('disk hiccup'); } } });
    const zoo = [{ set: 'boolq', result: await new MockActivityEnvironment().call(createActivities({ store, steps, queue: 'q' }).collectSet, { set: 'boolq', config }) }];
    const e = await new MockActivityEnvironment().call(flaky.buildPairs, { zoo, config }).catch((x: any) => x);
    expect(e).not.toBeInstanceOf(ApplicationFailure);
    expect(e.message).toBe('disk hiccup');
  });
});

describe('work directory', () => {
  it('survives a failed attempt for steps that resume from their own files, and is removed once the output is stored', async () => {
    const { config, steps, store } = setup();
    let attempts = 0;
    let seenWorkDir = '';
    const own = createActivities({
      store, queue: 'q',
      steps: {
        ...steps,
        collectSet: async (_input, outDir, ctx) => {
          attempts += 1;
          seenWorkDir = ctx.workDir;
          const part = path.join(ctx.workDir, 'part-0');
          const resumed = fs.existsSync(part);
          if (!resumed) {
            fs.writeFileSync(part, 'expensive');
            ctx.progress(1, 2, 'part 0 written');
            throw new Error('worker died');
          }
          fs.renameSync(part, path.join(outDir, 'part-0'));
          return { resumed };
        },
      },
    });
    const beats: Progress[] = [];
    const env1 = new MockActivityEnvironment();
    env1.on('heartbeat', (d: Progress) => beats.push(d));
    await expect(env1.call(own.collectSet, { set: 'boolq', config })).rejects.toThrow('worker died');
    expect(beats.at(-1)).toMatchObject({ done: 1, total: 2, note: 'part 0 written' });
    const r = await new MockActivityEnvironment({ attempt: 2 }).call(own.collectSet, { set: 'boolq', config });
    expect([attempts, r.meta['resumed']]).toEqual([2, true]);
    expect(seenWorkDir.startsWith(path.join(store.root, 'work'))).toBe(true);
    expect(fs.existsSync(seenWorkDir)).toBe(false);
    expect(fs.readFileSync(path.join(await store.resolve(r.ref), 'part-0'), 'utf8')).toBe('expensive');
  });
});
