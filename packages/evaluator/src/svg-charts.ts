// Inline SVG charts for the HTML report: grouped bars with interval whiskers, and a heat map. Plain
// strings, no external assets, no chart library. Not the page around them (report-html.ts).
import type { Accuracy } from './stats';

/** Escapes text for HTML/SVG content and attributes. */
export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Okabe-Ito colours (distinguishable with colour-vision deficiencies). */
export const SERIES_COLOURS = ['#7f7f7f', '#56B4E9', '#0072B2', '#E69F00', '#009E73', '#CC79A7'];

export interface BarSeries {
  label: string;
  /** One value per group (null = absent); `value` is drawn as the bar, lo/hi as the whisker. */
  values: (Pick<Accuracy, 'value' | 'lo' | 'hi'> | null)[];
}

/**
 * Grouped bar chart, y in percent 0-100, one group per category, whiskers for the interval.
 * @example barChart(['ARC-e', 'OBQA'], [{ label: 'base', values: [acc1, acc2] }], 'Accuracy per held-out set')
 */
export function barChart(groups: string[], series: BarSeries[], title: string): string {
  const barW = 22, gap = 4, groupGap = 36, left = 52, top = 40, plotH = 260, bottom = 60;
  const groupW = series.length * (barW + gap) - gap;
  const width = Math.max(left + 3 * 190 + 20, left + groups.length * (groupW + groupGap) + 20); // room for 3 legend columns
  const height = top + plotH + bottom + 22 * Math.ceil(series.length / 3);
  const y = (v: number) => top + plotH * (1 - v);
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${esc(title)}" font-family="DejaVu Sans, Arial, sans-serif" font-size="12">`);
  parts.push(`<text x="${left}" y="22" font-size="15" font-weight="bold">${esc(title)}</text>`);
  for (let t = 0; t <= 100; t += 20) {
    parts.push(`<line x1="${left}" x2="${width - 10}" y1="${y(t / 100)}" y2="${y(t / 100)}" stroke="#e3e3e3"/>`);
    parts.push(`<text x="${left - 6}" y="${y(t / 100) + 4}" text-anchor="end" fill="#555">${t}%</text>`);
  }
  groups.forEach((g, gi) => {
    const x0 = left + 14 + gi * (groupW + groupGap);
    series.forEach((s, si) => {
      const v = s.values[gi];
      const x = x0 + si * (barW + gap);
      const colour = SERIES_COLOURS[si % SERIES_COLOURS.length];
      if (!v) {
        parts.push(`<text x="${x + barW / 2}" y="${y(0) - 4}" text-anchor="middle" fill="#999" font-size="10">n/a</text>`);
        return;
      }
      parts.push(`<rect x="${x}" y="${y(v.value)}" width="${barW}" height="${Math.max(0, y(0) - y(v.value))}" fill="${colour}"><title>${esc(`${s.label} on ${g}: ${(100 * v.value).toFixed(1)}% [${(100 * v.lo).toFixed(1)}, ${(100 * v.hi).toFixed(1)}]`)}</title></rect>`);
      const cx = x + barW / 2;
      parts.push(`<g stroke="#222" stroke-width="1.2"><line x1="${cx}" x2="${cx}" y1="${y(v.hi)}" y2="${y(v.lo)}"/><line x1="${cx - 5}" x2="${cx + 5}" y1="${y(v.hi)}" y2="${y(v.hi)}"/><line x1="${cx - 5}" x2="${cx + 5}" y1="${y(v.lo)}" y2="${y(v.lo)}"/></g>`);
    });
    parts.push(`<text x="${x0 + groupW / 2}" y="${y(0) + 18}" text-anchor="middle" font-weight="bold">${esc(g)}</text>`);
  });
  parts.push(`<line x1="${left}" x2="${width - 10}" y1="${y(0)}" y2="${y(0)}" stroke="#333"/>`);
  series.forEach((s, si) => {
    const lx = left + (si % 3) * 190, ly = top + plotH + 40 + 22 * Math.floor(si / 3);
    parts.push(`<rect x="${lx}" y="${ly - 10}" width="14" height="14" fill="${SERIES_COLOURS[si % SERIES_COLOURS.length]}"/><text x="${lx + 20}" y="${ly + 1}">${esc(s.label)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

/** Sequential colour for v in [0, 1] (light yellow -> green -> dark blue, a viridis-like ramp) and a readable text colour on it. */
export function heatColour(v: number): { fill: string; text: string } {
  const stops = [[255, 255, 204], [161, 218, 180], [65, 182, 196], [44, 127, 184], [37, 52, 148]];
  const t = Math.min(1, Math.max(0, v)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(t));
  const f = t - i;
  const c = stops[i]!.map((a, k) => Math.round(a + f * (stops[i + 1]![k]! - a)));
  return { fill: `rgb(${c[0]},${c[1]},${c[2]})`, text: t > 2.2 ? '#fff' : '#111' };
}

/**
 * Heat map of accuracies: rows x cols, value in each cell (percent), diagonal cells outlined, rows of
 * failed LoRAs labelled "failed: 0".
 * @example heatMap(['base', 'arc'], ['ARC-e'], [[acc], [acc]], (r, c) => false, 'LoRA x set')
 */
export function heatMap(rows: string[], cols: string[], cells: (Accuracy | null)[][], isDiagonal: (r: number, c: number) => boolean, title: string, failedRow: (r: number) => boolean = () => false): string {
  const cellW = 92, cellH = 30, left = 12 + Math.min(260, 7 * Math.max(...rows.map((r) => r.length), 4)), top = 70;
  const width = Math.max(left + cols.length * cellW + 20, left + 11 * 18 + 210); // room for the legend
  const height = top + rows.length * cellH + 50;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${esc(title)}" font-family="DejaVu Sans, Arial, sans-serif" font-size="12">`);
  parts.push(`<text x="12" y="22" font-size="15" font-weight="bold">${esc(title)}</text>`);
  cols.forEach((c, j) => parts.push(`<text x="${left + j * cellW + cellW / 2}" y="${top - 10}" text-anchor="middle" font-weight="bold">${esc(c)}</text>`));
  rows.forEach((r, i) => {
    parts.push(`<text x="${left - 8}" y="${top + i * cellH + cellH / 2 + 4}" text-anchor="end">${esc(r)}</text>`);
    cols.forEach((c, j) => {
      const a = cells[i]?.[j] ?? null;
      const x = left + j * cellW, yy = top + i * cellH;
      if (!a) {
        parts.push(`<rect x="${x}" y="${yy}" width="${cellW}" height="${cellH}" fill="#f4f4f4" stroke="#fff"/><text x="${x + cellW / 2}" y="${yy + cellH / 2 + 4}" text-anchor="middle" fill="#999">—</text>`);
        return;
      }
      const { fill, text } = heatColour(a.value);
      const note = failedRow(i) ? ' (failed LoRA, counted as 0)' : '';
      parts.push(`<rect x="${x}" y="${yy}" width="${cellW}" height="${cellH}" fill="${fill}" stroke="#fff"><title>${esc(`${r} on ${c}: ${(100 * a.value).toFixed(1)}% [${(100 * a.lo).toFixed(1)}, ${(100 * a.hi).toFixed(1)}], n=${a.n}${note}`)}</title></rect>`);
      parts.push(`<text x="${x + cellW / 2}" y="${yy + cellH / 2 + 4}" text-anchor="middle" fill="${text}"${note ? ' font-style="italic"' : ''}>${note ? 'failed: 0' : (100 * a.value).toFixed(1)}</text>`);
    });
  });
  // Diagonal outlines last, so that no neighbouring cell paints over them.
  rows.forEach((_, i) => cols.forEach((__, j) => {
    if (isDiagonal(i, j)) parts.push(`<rect x="${left + j * cellW + 1.5}" y="${top + i * cellH + 1.5}" width="${cellW - 3}" height="${cellH - 3}" fill="none" stroke="#d00" stroke-width="2.5"/>`);
  }));
  const ly = top + rows.length * cellH + 18;
  for (let k = 0; k <= 10; k++) {
    parts.push(`<rect x="${left + k * 18}" y="${ly}" width="18" height="12" fill="${heatColour(k / 10).fill}"/>`);
  }
  parts.push(`<text x="${left - 4}" y="${ly + 10}" text-anchor="end" fill="#555">0%</text><text x="${left + 11 * 18 + 4}" y="${ly + 10}" fill="#555">100%</text>`);
  parts.push(`<rect x="${left + 11 * 18 + 50}" y="${ly}" width="18" height="12" fill="none" stroke="#d00" stroke-width="2.5"/><text x="${left + 11 * 18 + 74}" y="${ly + 10}" fill="#555">trained on this set</text>`);
  parts.push('</svg>');
  return parts.join('\n');
}
