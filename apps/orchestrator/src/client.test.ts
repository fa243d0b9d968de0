// The overall progress line's arithmetic: done fraction from step statuses and heartbeats, and an ETA whose
// pace counts only steps seen working (a cached zoo finishing in seconds must not promise a one-minute run).
import { formatOverall, RunEta, type PlanStage, type ProgressLine } from './client';

const plan: PlanStage[] = [
  { id: 'r/zoo/a', kind: 'collect', estSec: 100 },
  { id: 'r/train', kind: 'train', estSec: 100 },
  { id: 'r/evaluate', kind: 'evaluate', estSec: 100 },
];
const running = (id: string, done: number, total: number): ProgressLine => ({ workflowId: id, status: 'RUNNING', activities: [{ type: 'x', attempt: 1, progress: { done, total, last: null } }] });

describe('RunEta', () => {
  afterEach(() => jest.useRealTimers());

  it('counts cached steps as done but not as pace, and rescales the estimate left by the pace of real work', async () => {
    jest.useFakeTimers({ now: 0 });
    const status = new Map<string, string>();
    const statusOf = async (id: string) => status.get(id) ?? null;
    const eta = new RunEta(plan);
    expect(await eta.update(statusOf, [])).toMatchObject({ fraction: 0, stagesDone: 0, stages: 3, etaSec: null });

    jest.setSystemTime(5_000); // the zoo comes from the cache: done at once, never heartbeat progress
    status.set('r/zoo/a', 'COMPLETED');
    const cached = await eta.update(statusOf, [running('r/train', 0, 100)]);
    expect(cached).toMatchObject({ fraction: 1 / 3, stagesDone: 1, etaSec: null });
    expect(cached.estimateLeftSec).toBe(200);
    expect(formatOverall(cached)).toBe('overall 33% (1/3 steps) · 0m elapsed · ETA ~3m (from unit costs; measured once under way)');

    jest.setSystemTime(65_000); // training did 60% of its 100 estimated seconds in the last 60 s
    const o = await eta.update(statusOf, [running('r/train', 60, 100)]);
    expect(o.fraction).toBeCloseTo(160 / 300, 10);
    expect(o.etaSec).toBeCloseTo(140 * (60 / 60), 6); // at training's pace, 1 s per estimated second; not 140 * 65 / 160: the zoo was free

    jest.setSystemTime(125_000); // training finished (40) and evaluation began (20): 60 s shared 2:1
    status.set('r/train', 'COMPLETED');
    const later = await eta.update(statusOf, [running('r/evaluate', 20, 100)]);
    expect(later).toMatchObject({ stagesDone: 2 });
    expect(later.etaSec).toBeCloseTo(80 * (120 / 120), 6); // evaluation's own pace needs 30 estimated seconds: the overall pace until then

    jest.setSystemTime(185_000); // evaluation is slower than estimated: 30 more in 60 s
    const slow = await eta.update(statusOf, [running('r/evaluate', 50, 100)]);
    expect(slow.etaSec).toBeCloseTo(50 * ((20 + 60) / 50), 6); // its own pace (1.6 s per estimated second), not the overall 180/150
    expect(formatOverall(slow)).toMatch(/^overall 83% \(2\/3 steps\) · 3m elapsed · ETA 1m \(\d\d:\d\d UTC\)$/);
  });

  it('a step finished before the command started counts as done, not as pace', async () => {
    jest.useFakeTimers({ now: 0 });
    const statusOf = async (id: string) => (id === 'r/zoo/a' ? 'COMPLETED' : null);
    const eta = new RunEta(plan);
    await eta.update(statusOf, []);
    jest.setSystemTime(120_000);
    const o = await eta.update(statusOf, [running('r/train', 30, 100)]);
    expect(o.fraction).toBeCloseTo(130 / 300, 10);
    expect(o.etaSec).toBeNull(); // 30 s of estimate worked off: under the one-minute floor
  });

  it('the overall fraction never goes backwards when a step loses its heartbeat between attempts (40% -> 15% -> 41%)', async () => {
    jest.useFakeTimers({ now: 0 });
    const statusOf = async () => null;
    const eta = new RunEta(plan);
    const seen: number[] = [];
    for (const [t, lines] of [
      [10_000, [running('r/zoo/a', 40, 100)]],
      [20_000, [{ workflowId: 'r/zoo/a', status: 'RUNNING', activities: [{ type: 'collectSet', attempt: 2, progress: null }] }]], // retry: no heartbeat yet
      [30_000, [running('r/zoo/a', 15, 100)]], // a restarted attempt reporting less than before
      [40_000, [running('r/zoo/a', 41, 100)]],
    ] as Array<[number, ProgressLine[]]>) {
      jest.setSystemTime(t);
      seen.push((await eta.update(statusOf, lines)).fraction);
    }
    expect(seen).toEqual([0.4 / 3, 0.4 / 3, 0.4 / 3, 0.41 / 3].map((x) => expect.closeTo(x, 10)));
  });
});
