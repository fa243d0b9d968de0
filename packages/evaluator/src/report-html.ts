// The HTML report: ONE self-contained file (inline CSS and SVG, no scripts, fonts or images fetched):
// the header that makes it stand alone, then per protocol the held-out table (with chance), the paired
// comparisons, the interval chart and the cross-matrix heat map, the generator's loss curve, the notes.
// No absolute local path appears in it. Not Markdown (report-markdown.ts).
import {
  ACC_PAIR_COLUMNS, OWN_SET_COLUMNS, PAIRED_COLUMNS, accPairRows, diagnosticTables, ownSetRows, spreadText, formatAccuracy, sideBySide, formatGenerated, formatLoraMean, formatPaired, headerRows, metricLabel, protocolTitle, reportNotes, reportTitle,
} from './report-markdown';
import type { EvaluationResults, ProtocolResults } from './run-evaluation';
import { publicText } from './run-info';
import { esc, heatMap, intervalChart, lineChart, type IntervalSeries } from './svg-charts';

const pct = (v: number) => (100 * v).toFixed(1);
/** An accuracy that never breaks inside its interval. */
const acc = (a: Parameters<typeof formatAccuracy>[0]) => `<span class="a">${esc(formatAccuracy(a))}</span>`;

function htmlTable(title: string, header: string[], rows: string[][]): string {
  return `<h3>${esc(title)}</h3>
<table><thead><tr>${header.map((c) => `<th>${esc(c)}</th>`).join('')}</tr></thead>
<tbody>
${rows.map((row) => `<tr>${row.map((c) => `<td><span class="a">${esc(c)}</span></td>`).join('')}</tr>`).join('\n')}
</tbody></table>`;
}

function protocolHtml(r: EvaluationResults, p: ProtocolResults): string {
  const groups = p.heldOut.map((h) => h.set);
  const series: IntervalSeries[] = [
    { label: 'base model', values: p.heldOut.map((h) => h.base) },
    { label: 'training LoRAs (mean, pooled)', values: p.heldOut.map((h) => (h.loraMean ? { value: h.loraMean.value, lo: h.loraMean.pooled.lo, hi: h.loraMean.pooled.hi, points: h.training.map((t) => t.acc.value) } : null)) },
    { label: 'best training LoRA', values: p.heldOut.map((h) => h.bestLora?.acc ?? null) },
    { label: 'averaged LoRA', values: p.heldOut.map((h) => h.averagedLora?.acc ?? null) },
    { label: 'generated (mean over K, pooled)', values: p.heldOut.map((h) => (h.generated ? { value: h.generated.value, lo: h.generated.pooled.lo, hi: h.generated.pooled.hi, points: h.generated.samples.map((x) => x.acc.value) } : null)) },
  ];
  const chanceBySet = new Map(p.sets.map((s) => [s.name, s.chance]));
  const chart = intervalChart(groups, series, `Held-out sets: ${metricLabel(p)} with 95% intervals`, p.heldOut.map((h) => h.chance));
  const rowLabels = p.cross.rows.map((x) => (x.trainedOn ? `${x.adapter} (${x.trainedOn})` : x.adapter));
  const heat = heatMap(rowLabels, p.cross.cols, p.cross.cells, (i, j) => p.cross.rows[i]!.trainedOn === p.cross.cols[j], `Each LoRA on each set (${metricLabel(p)}, %)`,
    (i) => p.cross.rows[i]!.failed !== null, p.cross.cols.map((c) => chanceBySet.get(c) ?? 0));
  const rows = p.heldOut.map((h) => {
    const best = h.bestLora ? `${acc(h.bestLora.acc)} <small>${esc(h.bestLora.adapter)}</small>` : '—';
    return `<tr><th>${esc(h.set)}</th><td>${h.n}</td><td>${pct(h.chance)}</td><td>${acc(h.base)}</td><td><small>${esc(formatLoraMean(h.loraMean))}</small></td><td>${best}</td><td>${acc(h.averagedLora?.acc)}</td><td><small>${esc(formatGenerated(h.generated))}</small></td></tr>`;
  }).join('\n');
  const paired = p.heldOut.some((h) => h.paired.length > 0)
    ? `<h3>Generated against each baseline, paired on the items (${esc(metricLabel(p))}, percentage points)</h3>
<table><thead><tr><th>held-out set</th><th>chance</th>${PAIRED_COLUMNS.map((c) => `<th>${esc(c.label)}</th>`).join('')}</tr></thead>
<tbody>
${p.heldOut.map((h) => `<tr><th>${esc(h.set)}</th><td>${pct(h.chance)}</td>${PAIRED_COLUMNS.map((c) => `<td><small>${esc(formatPaired(h, c.against))}</small></td>`).join('')}</tr>`).join('\n')}
</tbody></table>`
    : '';
  const pairs = accPairRows(r, p);
  const accPairs = pairs.length > 0
    ? `<h3>acc / acc_norm (lm-evaluation-harness reports both)</h3>
<table><thead><tr><th>held-out set</th>${ACC_PAIR_COLUMNS.map((c) => `<th>${esc(c)}</th>`).join('')}</tr></thead>
<tbody>
${pairs.map((x) => `<tr><th>${esc(x.set)}</th>${x.cols.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('\n')}
</tbody></table>`
    : '';
  return `<h2>${esc(protocolTitle(p.protocol, p.scorer, metricLabel(p)))}</h2>
<table><thead><tr><th>held-out set</th><th>n</th><th>chance</th><th>base</th><th>LoRA mean</th><th>best LoRA</th><th>averaged LoRA</th><th>generated</th></tr></thead>
<tbody>
${rows}
</tbody></table>
${paired}
${accPairs}
<figure>${chart}</figure>
${diagnosticTables(p).map((t) => htmlTable(t.title, t.header, t.rows)).join('\n')}
<h3>Cross matrix</h3>
<figure>${heat}</figure>
${p.ownSet.length > 0 ? `<h3>Each LoRA on its own set against the base model (${esc(metricLabel(p))}, paired)</h3>
<table><thead><tr>${OWN_SET_COLUMNS.map((c) => `<th>${esc(c)}</th>`).join('')}</tr></thead>
<tbody>
${ownSetRows(p).map((row) => `<tr>${row.map((c) => `<td><span class="a">${esc(c)}</span></td>`).join('')}</tr>`).join('\n')}
</tbody></table>` : ''}`;
}

/**
 * Renders results as a standalone HTML page (no absolute local path in it).
 * @example writeFileAtomic('report.html', renderHtml(results))
 */
export function renderHtml(r: EvaluationResults): string {
  const loss = r.runInfo?.trainingLoss ?? [];
  const title = reportTitle(r);
  const sb = sideBySide(r);
  const both = r.protocols.length > 1
    ? `<h2>Both protocols side by side</h2>
<p class="sub">Headline metric of each protocol, %; differences in percentage points with 95% paired-bootstrap intervals.</p>
<table><thead><tr>${sb.header.map((c) => `<th>${esc(c)}</th>`).join('')}</tr></thead>
<tbody>
${sb.rows.map((row) => `<tr><th>${esc(row[0]!)}</th>${row.slice(1).map((c) => `<td><span class="a">${esc(c)}</span></td>`).join('')}</tr>`).join('\n')}
</tbody></table>`
    : '';
  // A last guard, as in the Markdown report: absolute local paths keep their last component only.
  return publicText(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>
body{font-family:"DejaVu Sans",Arial,sans-serif;margin:24px auto;max-width:1100px;color:#111;line-height:1.45;padding:0 16px}
h1{font-size:22px;margin-bottom:4px}h2{font-size:17px;margin-top:28px}h3{font-size:15px;margin-top:18px}
table{border-collapse:collapse;font-size:13px;margin:8px 0}th,td{border-bottom:1px solid #ddd;padding:6px 10px;text-align:left;vertical-align:top}
thead th{background:#f3f3f3}small{color:#555}td small,.a{white-space:nowrap}.sub{color:#555;margin-top:0}ul{font-size:13px;color:#333}
table.hdr th{background:none;font-weight:normal;color:#555}
figure{margin:12px 0;overflow-x:auto}
</style></head><body>
<h1>${esc(title)}</h1>
<table class="hdr"><tbody>
${headerRows(r).map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('\n')}
</tbody></table>
${both}
${r.protocols.map((p) => protocolHtml(r, p)).join('\n')}
${(() => { const sp = spreadText(r); return sp ? `<h2>Spread of the generated LoRAs</h2>\n${htmlTable('Mean distance within each set\'s generated LoRAs', sp.header, sp.rows)}\n<p class="sub">${esc(sp.summary)}</p>` : ''; })()}
<h2>Generator training loss</h2>
${loss.length > 0 ? `<figure>${lineChart(loss.map((x) => ({ x: x.step, y: x.loss })), 'Generator training loss', 'step', 'loss')}</figure>` : '<p class="sub">Not recorded for this evaluation.</p>'}
<h2>Notes</h2>
<ul>${reportNotes(r).map((n) => `<li>${esc(n)}</li>`).join('')}</ul>
<p class="sub">Per-item predictions: predictions.arrow beside this file. Summary: results.json.</p>
</body></html>
`);
}
