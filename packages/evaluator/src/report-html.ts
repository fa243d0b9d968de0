// The HTML report: ONE self-contained file (inline CSS and SVG, no scripts, fonts or images fetched),
// with the headline table, the bar chart per held-out set and the cross-matrix heat map. Not Markdown.
import { formatAccuracy, reportNotes } from './report-markdown';
import type { EvaluationResults } from './run-evaluation';
import { barChart, esc, heatMap, type BarSeries } from './svg-charts';

const pct = (v: number) => (100 * v).toFixed(1);
/** An accuracy that never breaks inside its interval. */
const acc = (a: Parameters<typeof formatAccuracy>[0]) => `<span class="a">${esc(formatAccuracy(a))}</span>`;

/**
 * Renders results as a standalone HTML page.
 * @example writeFileAtomic('report.html', renderHtml(results))
 */
export function renderHtml(r: EvaluationResults): string {
  const groups = r.heldOut.map((h) => h.set);
  const series: BarSeries[] = [
    { label: 'base model', values: r.heldOut.map((h) => h.base) },
    { label: 'training LoRAs (mean)', values: r.heldOut.map((h) => (h.loraMean ? { value: h.loraMean.value, lo: h.loraMean.pooled.lo, hi: h.loraMean.pooled.hi } : null)) },
    { label: 'best training LoRA', values: r.heldOut.map((h) => h.bestLora?.acc ?? null) },
    { label: 'averaged LoRA', values: r.heldOut.map((h) => h.averagedLora?.acc ?? null) },
    { label: 'generated (mean over K)', values: r.heldOut.map((h) => (h.generated ? { value: h.generated.value, lo: h.generated.pooled.lo, hi: h.generated.pooled.hi } : null)) },
  ];
  const rowLabels = r.cross.rows.map((x) => (x.trainedOn ? `${x.adapter} (${x.trainedOn})` : x.adapter));
  const heat = heatMap(rowLabels, r.cross.cols, r.cross.cells, (i, j) => r.cross.rows[i]!.trainedOn === r.cross.cols[j], `Each LoRA on each set (${r.metric}, %)`, (i) => r.cross.rows[i]!.failed !== null);
  const bars = barChart(groups, series, `Held-out sets: ${r.metric} with 95% intervals`);

  const rows = r.heldOut.map((h) => {
    const mean = h.loraMean ? `${pct(h.loraMean.value)} ± ${pct(h.loraMean.std)} <small>(${h.loraMean.count} LoRAs${h.loraMean.failed ? `, ${h.loraMean.failed} failed` : ''}) [${pct(h.loraMean.pooled.lo)}, ${pct(h.loraMean.pooled.hi)}]</small>` : '—';
    const best = h.bestLora ? `${acc(h.bestLora.acc)} <small>${esc(h.bestLora.adapter)}</small>` : '—';
    const gen = h.generated ? `${pct(h.generated.value)} ± ${pct(h.generated.std)} <small>(K=${h.generated.k}${h.generated.numPrompts ? `, N=${h.generated.numPrompts}` : ''}) [${pct(h.generated.pooled.lo)}, ${pct(h.generated.pooled.hi)}]</small>` : '—';
    return `<tr><th>${esc(h.set)}</th><td>${h.n}</td><td>${acc(h.base)}</td><td>${mean}</td><td>${best}</td><td>${acc(h.averagedLora?.acc)}</td><td>${gen}</td></tr>`;
  }).join('\n');

  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>DnD evaluation: ${esc(r.baseModel)}</title>
<style>
body{font-family:"DejaVu Sans",Arial,sans-serif;margin:24px auto;max-width:1100px;color:#111;line-height:1.45;padding:0 16px}
h1{font-size:22px;margin-bottom:4px}h2{font-size:17px;margin-top:28px}
table{border-collapse:collapse;font-size:13px;margin:8px 0}th,td{border-bottom:1px solid #ddd;padding:6px 10px;text-align:left;vertical-align:top}
thead th{background:#f3f3f3}small{color:#555}td small,.a{white-space:nowrap}.sub{color:#555;margin-top:0}ul{font-size:13px;color:#333}
figure{margin:12px 0;overflow-x:auto}
</style></head><body>
<h1>Evaluation of ${esc(r.baseModel)}</h1>
<p class="sub">Sets: ${r.sets.map((s) => `${esc(s.name)} (n=${s.n}${s.n < s.total ? ` of ${s.total}` : ''})`).join(', ')}. Metric: ${esc(r.metric)}, scorer: ${esc(r.scorer)}.</p>
<h2>Held-out sets</h2>
<table><thead><tr><th>held-out set</th><th>n</th><th>base</th><th>LoRA mean</th><th>best LoRA</th><th>averaged LoRA</th><th>generated</th></tr></thead>
<tbody>
${rows}
</tbody></table>
<figure>${bars}</figure>
<h2>Cross matrix</h2>
<figure>${heat}</figure>
<h2>Notes</h2>
<ul>${reportNotes(r).map((n) => `<li>${esc(n)}</li>`).join('')}</ul>
<p class="sub">Per-item predictions: predictions.arrow beside this file. Summary: results.json.</p>
</body></html>
`;
}
