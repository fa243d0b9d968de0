// Determinism guard: replays workflow histories recorded from a real run (test/fixtures/history-*.json,
// refreshed with `DND_WRITE_HISTORY=1 npx jest test/temporal.test.ts -t "end to end"`) against today's
// workflow code. A change that would break running workflows fails here; no server needed.
import * as fs from 'fs';
import * as path from 'path';
import { Worker } from '@temporalio/worker';

const FIXTURES = path.join(__dirname, 'fixtures');
const load = (name: string): any => JSON.parse(fs.readFileSync(path.join(FIXTURES, name), 'utf8'));
const workflowsPath = require.resolve('../src/workflows');
// history-e2e-1_zoo_boolq.json was recorded from workflow id e2e-1/zoo/boolq (child ids derive from it).
const idOf = (file: string): string => file.replace(/^history-/, '').replace(/\.json$/, '').replace(/_/g, '/');

describe('replay of recorded histories', () => {
  const files = fs.readdirSync(FIXTURES).filter((f) => f.startsWith('history-')).sort();

  it('has the pipeline, zoo, per-set and training histories', () => {
    expect(files).toEqual(['history-e2e-1.json', 'history-e2e-1_train.json', 'history-e2e-1_zoo.json', 'history-e2e-1_zoo_boolq.json']);
  });

  it('replays every recorded history without a determinism error', async () => {
    const histories = files.map((f) => ({ workflowId: idOf(f), history: load(f) }));
    const results: Array<{ workflowId: string; error?: unknown }> = [];
    for await (const r of Worker.runReplayHistories({ workflowsPath, replayName: 'dnd-replay' }, histories)) results.push(r);
    expect(results.map((r) => [r.workflowId, r.error ? String(r.error) : null])).toEqual(files.map((f) => [idOf(f), null]));
  });

  it('detects divergence: a training history replayed as the evaluate workflow fails', async () => {
    const history = load('history-e2e-1_train.json');
    history.events[0].workflowExecutionStartedEventAttributes.workflowType.name = 'evaluate';
    await expect(Worker.runReplayHistory({ workflowsPath, replayName: 'dnd-replay-bad' }, history, 'e2e-1/train')).rejects.toMatchObject({ name: 'DeterminismViolationError' });
  });
});
