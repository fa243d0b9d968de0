// The progress views: line mode prints a workflow only when its state changes and the overall line on step
// changes (not the tree on every poll); live mode redraws one block in place on a terminal stream.
import type { OverallProgress, ProgressLine, RunSnapshot } from './client';
import { formatOverall, formatProgress } from './client';
import { lineProgressView, liveProgressView } from './progress-view';

const wf = (id: string, stage: string | undefined, done?: number, note?: string): ProgressLine => ({
  workflowId: id, status: 'RUNNING', stage, activities: done === undefined ? [] : [{ type: 'collectSet', attempt: 1, progress: { done, total: 3, last: null, note } }],
});
const overall = (fraction: number, stagesDone: number): OverallProgress => ({ fraction, stagesDone, stages: 4, elapsedSec: 60, etaSec: null, estimateLeftSec: 100 });
const snap = (lines: ProgressLine[], o: OverallProgress): RunSnapshot => ({ lines, overall: o, text: `${formatOverall(o)}\n${formatProgress(lines)}` });

describe('lineProgressView', () => {
  it('prints one line per step change, not the tree per poll; heartbeat notes alone are not a change', () => {
    const out: string[] = [];
    const view = lineProgressView((l) => out.push(l));
    view.update(snap([wf('r', 'zoo'), wf('r/zoo/a', undefined, 1, 'loss 0.9')], overall(0.05, 0)));
    view.update(snap([wf('r', 'zoo'), wf('r/zoo/a', undefined, 1, 'loss 0.8')], overall(0.06, 0))); // only the note moved
    view.update(snap([wf('r', 'zoo'), wf('r/zoo/a', undefined, 2, 'loss 0.7')], overall(0.12, 0)));
    view.update(snap([wf('r', 'train'), wf('r/train', undefined, 1)], overall(0.3, 1)));
    expect(out).toEqual([
      'overall 5% (0/4 steps) · 1m elapsed · ETA ~2m (from unit costs; measured once under way)',
      'r  zoo',
      'r/zoo/a  running  [collectSet 1/3 loss 0.9]',
      'overall 12% (0/4 steps) · 1m elapsed · ETA ~2m (from unit costs; measured once under way)', // 5 points up
      'r/zoo/a  running  [collectSet 2/3 loss 0.7]',
      'overall 30% (1/4 steps) · 1m elapsed · ETA ~2m (from unit costs; measured once under way)', // a step finished
      'r  train',
      'r/train  running  [collectSet 1/3]',
    ]);
  });
  it('never prints the same text twice in a row for a workflow, even when its state changed in a way the line does not show', () => {
    // Seen on a loaded machine: a step polled before its first heartbeat, then at its first heartbeat (0 units of
    // an unknown total), reads the same; so does a failure noted on the same attempt.
    const out: string[] = [];
    const view = lineProgressView((l) => out.push(l));
    const act = (progress?: { done: number; total: number }, lastFailure?: string): ProgressLine => ({
      workflowId: 'r/zoo/a', status: 'RUNNING', stage: undefined,
      activities: [{ type: 'collectSet', attempt: 1, progress: progress ? { ...progress, last: null } : null, ...(lastFailure ? { lastFailure } : {}) }],
    });
    view.update({ lines: [act()], overall: null, text: '' });
    view.update({ lines: [act({ done: 0, total: 0 })], overall: null, text: '' });
    view.update({ lines: [act({ done: 0, total: 0 }, 'boom')], overall: null, text: '' });
    view.update({ lines: [act({ done: 1, total: 3 })], overall: null, text: '' });
    expect(out).toEqual(['r/zoo/a  running  [collectSet]', 'r/zoo/a  running  [collectSet 1/3]']);
  });

  it('a retried step says why the attempt before it failed: the first line of the failure, cut to 120 characters', () => {
    const failure = `step process: restart this worker (a local run: interrupt it, then dnd resume <run-id>): the code on disk is not the build it loaded (worker 607f8e89ae2e, on disk 300ad757d678).\n    at run (step-child.js:40:13)`;
    const line = (attempt: number, lastFailure?: string): ProgressLine => ({
      workflowId: 'r/pairs', status: 'RUNNING', stage: undefined,
      activities: [{ type: 'buildPairs', attempt, progress: null, ...(lastFailure ? { lastFailure } : {}) }],
    });
    expect(formatProgress([line(6, failure)])).toBe('r/pairs  running  [buildPairs (attempt 6; the last failed: step process: restart this worker (a local run: interrupt it, then dnd resume <run-id>): the code on disk is not the ...)]');
    expect(formatProgress([line(2, 'activity Heartbeat timeout')])).toBe('r/pairs  running  [buildPairs (attempt 2; the last failed: activity Heartbeat timeout)]');
    expect(formatProgress([line(2)])).toBe('r/pairs  running  [buildPairs (attempt 2)]');
  });
});

describe('liveProgressView', () => {
  it('redraws the block in place on a terminal: the second frame erases the first\'s lines, notes go above it', () => {
    const writes: string[] = [];
    const tty = { isTTY: true, columns: 120, rows: 40, write: (s: string) => { writes.push(s); return true; } } as unknown as NodeJS.WriteStream;
    const errs: string[] = [];
    const err = { write: (s: string) => { errs.push(s); return true; } } as unknown as NodeJS.WriteStream;
    const view = liveProgressView(tty, err);
    const a = snap([wf('r', 'zoo'), wf('r/zoo/a', undefined, 1)], overall(0.05, 0));
    view.update(a);
    view.update(snap([wf('r', 'zoo'), wf('r/zoo/a', undefined, 2)], overall(0.1, 0)));
    view.note('[dnd] started');
    view.done();
    const frames = writes.join('');
    expect(frames).toContain('r/zoo/a  running  [collectSet 1/3]');
    expect(frames).toContain('r/zoo/a  running  [collectSet 2/3]');
    // ansi-escapes' eraseLines: cursor up + erase line, once per line of the previous frame.
    const ESC = '\u001b';
    expect(frames).toContain(`${ESC}[2K${ESC}[1A`.repeat(3) + `${ESC}[2K${ESC}[G`);
    expect(errs).toEqual(['[dnd] started\n']);
  });
});
