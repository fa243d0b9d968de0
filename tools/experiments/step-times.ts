// Seconds each step of a finished local run computed, from the start and close times its Temporal history
// recorded (a dev server on a copy of its temporal.db: temporal-history.ts). The steps of one worker run one at a
// time, so a step computes from its start or the previous step's close, whichever is later, to its own close.
// Step workflows: the zoo's (<run>/zoo/<set>), pairs, train and evaluate. Prints {"times": {workflowId: s},
// "wall": s}; results-table.py --history reads it.
// Usage: node tools/bench/run-ts.cjs tools/experiments/step-times.ts RUN_DIR   (DND_TEMPORAL_BIN set)
import { listWorkflows, withRunHistory } from './temporal-history';

async function main(): Promise<void> {
  const [runDir] = process.argv.slice(2);
  const temporal = process.env['DND_TEMPORAL_BIN'];
  if (!runDir || !temporal) throw new Error('usage: DND_TEMPORAL_BIN=... step-times.ts RUN_DIR');
  const flows = (await withRunHistory(temporal, runDir, (address) => listWorkflows(temporal, address)))
    .filter((w): w is { id: string; start: string; close: string } => w.close !== null)
    .map((w) => ({ id: w.id, start: Date.parse(w.start), close: Date.parse(w.close) }));
  if (flows.length === 0) throw new Error(`${runDir}: no closed workflow in its history (has the run finished?)`);
  const steps = flows.filter((f) => /\/(pairs|train|evaluate)$/.test(f.id) || f.id.includes('/zoo/')).sort((a, b) => a.close - b.close);
  const times: Record<string, number> = {};
  let prev: number | null = null;
  for (const s of steps) {
    times[s.id] = (s.close - (prev === null ? s.start : Math.max(s.start, prev))) / 1000;
    prev = s.close;
  }
  const wall = (Math.max(...flows.map((f) => f.close)) - Math.min(...flows.map((f) => f.start))) / 1000;
  console.log(JSON.stringify({ times, wall }));
}

main().catch((e: unknown) => { console.error(e instanceof Error ? e.message : e); process.exit(1); });
