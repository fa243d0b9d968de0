// Do two evaluations agree item by item? Reads two reports' predictions.arrow and counts, per protocol, set and
// adapter name (the part before "@", so zoo snapshots of two runs pair up), the rows whose prediction (and
// acc_norm prediction) agree (a report from before the two protocols counts as the paper protocol); prints one JSON line. For checks like "the same table to the item" after a change to
// the evaluator; generated output texts may differ (strict scoring stops at the decided answer) and are not compared.
// Usage: node tools/bench/run-ts.cjs tools/experiments/compare-predictions.ts REPORT_DIR_A REPORT_DIR_B
import * as fs from 'fs';
import * as path from 'path';
import { readPredictions, type PredictionRow } from '@dnd/evaluator';

function load(dir: string): Map<string, PredictionRow> {
  const { rows } = readPredictions(fs.readFileSync(path.join(dir, 'predictions.arrow')));
  return new Map(rows.map((r) => [`${r.protocol ?? "paper"}|${r.set}|${r.adapter.split('@')[0]}|${r.itemId}`, r]));
}

const [a, b] = process.argv.slice(2);
if (!a || !b) throw new Error('usage: compare-predictions.ts REPORT_DIR_A REPORT_DIR_B');
const A = load(a); const B = load(b);
const groups = new Map<string, { rows: number; same: number; onlyA: number }>();
for (const [key, ra] of A) {
  const g = key.split('|').slice(0, 3).join('|');
  const e = groups.get(g) ?? { rows: 0, same: 0, onlyA: 0 };
  const rb = B.get(key);
  e.rows++;
  if (!rb) e.onlyA++;
  else if (ra.prediction === rb.prediction && ra.predictionNorm === rb.predictionNorm) e.same++;
  groups.set(g, e);
}
const onlyB = [...B.keys()].filter((k) => !A.has(k)).length;
const total = [...groups.values()].reduce((s, e) => ({ rows: s.rows + e.rows, same: s.same + e.same }), { rows: 0, same: 0 });
console.log(JSON.stringify({ rows: total.rows, same: total.same, onlyB, groups: Object.fromEntries(groups) }));
