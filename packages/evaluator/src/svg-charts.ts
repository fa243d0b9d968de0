// Inline SVG charts for the HTML report: dot-and-whisker groups with chance lines on a fitted axis, a
// heat map, and a line chart (training loss). Plain strings, no external assets, no chart library (a
// few dozen lines each, and the report must stay one self-contained file). Not the page (report-html.ts).
import type { Accuracy } from './stats';

/** Escapes text for HTML/SVG content and attributes. */
export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Okabe-Ito colours (distinguishable with colour-vision deficiencies). */
export const SERIES_COLOURS = ['#7f7f7f', '#56B4E9', '#0072B2', '#E69F00', '#009E73', '#CC79A7'];

export interface IntervalSeries {
  label: string;
  /** One value per group (null = absent): `value` is the dot, lo/hi the whisker, `points` the individual values pooled in it (drawn beside). */
  values: (Pick<Accuracy, 'value' | 'lo' | 'hi'> & { points?: number[] } | null)[];
}

/** A [lo, hi] axis range in [0, 1] that holds `xs` with a margin, on a 5-point grid, and its tick step. */
export function fitAxis(xs: readonly number[]): { lo: number; hi: number; step: number } {
  const finite = xs.filter((x) => Number.isFinite(x));
  if (finite.length === 0) return { lo: 0, hi: 1, step: 0.2 };
  let lo = Math.max(0, Math.floor((Math.min(...finite) - 0.02) * 20) / 20);
  let hi = Math.min(1, Math.ceil((Math.max(...finite) + 0.02) * 20) / 20);
  if (hi - lo < 0.1) { lo = Math.max(0, hi - 0.1); hi = Math.min(1, lo + 0.1); }
  const span = hi - lo;
  const step = span <= 0.2 ? 0.025 : span <= 0.4 ? 0.05 : span <= 0.8 ? 0.1 : 0.2;
  return { lo, hi, step };
}

const fmtTick = (v: number) => `${Number((100 * v).toFixed(1))}%`;

/**
 * Dot-and-whisker chart per group (a dot at the value, the interval as a whisker, pooled individual values
 * as small circles beside it), a dashed chance line per group, and a y axis fitted to the data (not forced
 * to 0-100%, so its range is printed on the axis; dots, not bars, because a bar on a cut axis misleads).
 * @example intervalChart(['ARC-e', 'OBQA'], [{ label: 'base', values: [acc1, acc2] }], 'Accuracy per held-out set', [0.25, 0.25])
 */
export function intervalChart(groups: string[], series: IntervalSeries[], title: string, chance: (number | null)[] = []): string {
  const slotW = 26, groupGap = 36, left = 60, top = 40, plotH = 260, bottom = 60, legendW = 290;
  const groupW = series.length * slotW;
  const width = Math.max(left + 2 * legendW + 20, left + groups.length * (groupW + groupGap) + 20); // room for 2 legend columns
  const height = top + plotH + bottom + 22 * Math.ceil((series.length + 1) / 2) + 30;
  const all: number[] = [];
  for (const s of series) for (const v of s.values) if (v) all.push(v.lo, v.hi, v.value, ...(v.points ?? []));
  for (const c of chance) if (c !== null && c !== undefined) all.push(c);
  const ax = fitAxis(all);
  const y = (v: number) => top + plotH * (1 - (v - ax.lo) / (ax.hi - ax.lo));
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${esc(title)}" font-family="DejaVu Sans, Arial, sans-serif" font-size="12">`);
  parts.push(`<text x="${left}" y="22" font-size="15" font-weight="bold">${esc(title)}</text>`);
  for (let t = ax.lo; t <= ax.hi + 1e-9; t += ax.step) {
    parts.push(`<line x1="${left}" x2="${width - 10}" y1="${y(t)}" y2="${y(t)}" stroke="#e3e3e3"/>`);
    parts.push(`<text x="${left - 6}" y="${y(t) + 4}" text-anchor="end" fill="#555">${fmtTick(t)}</text>`);
  }
  groups.forEach((g, gi) => {
    const x0 = left + 14 + gi * (groupW + groupGap);
    const c = chance[gi];
    if (c !== null && c !== undefined) {
      parts.push(`<line class="chance" x1="${x0 - 6}" x2="${x0 + groupW + 6}" y1="${y(c)}" y2="${y(c)}" stroke="#d00" stroke-width="1.5" stroke-dasharray="5 3"><title>${esc(`chance on ${g}: ${(100 * c).toFixed(1)}%`)}</title></line>`);
    }
    series.forEach((s, si) => {
      const v = s.values[gi];
      const cx = x0 + si * slotW + slotW / 2 - 4;
      const colour = SERIES_COLOURS[si % SERIES_COLOURS.length];
      if (!v) {
        parts.push(`<text x="${cx}" y="${y(ax.lo) - 4}" text-anchor="middle" fill="#999" font-size="10">n/a</text>`);
        return;
      }
      parts.push(`<g stroke="${colour}" stroke-width="2"><line x1="${cx}" x2="${cx}" y1="${y(v.hi)}" y2="${y(v.lo)}"/><line x1="${cx - 5}" x2="${cx + 5}" y1="${y(v.hi)}" y2="${y(v.hi)}"/><line x1="${cx - 5}" x2="${cx + 5}" y1="${y(v.lo)}" y2="${y(v.lo)}"/></g>`);
      parts.push(`<circle class="value" cx="${cx}" cy="${y(v.value)}" r="5" fill="${colour}" stroke="#222"><title>${esc(`${s.label} on ${g}: ${(100 * v.value).toFixed(1)}% [${(100 * v.lo).toFixed(1)}, ${(100 * v.hi).toFixed(1)}]`)}</title></circle>`);
      for (const p of v.points ?? []) parts.push(`<circle class="point" cx="${cx + 9}" cy="${y(p)}" r="2.5" fill="none" stroke="${colour}" stroke-width="1.3"><title>${esc(`${s.label} on ${g}, one LoRA: ${(100 * p).toFixed(1)}%`)}</title></circle>`);
    });
    parts.push(`<text x="${x0 + groupW / 2}" y="${y(ax.lo) + 18}" text-anchor="middle" font-weight="bold">${esc(g)}</text>`);
  });
  parts.push(`<line x1="${left}" x2="${width - 10}" y1="${y(ax.lo)}" y2="${y(ax.lo)}" stroke="#333"/>`);
  const legend = [...series.map((s, si) => ({ label: s.label, mark: `<circle cx="7" cy="-3" r="5" fill="${SERIES_COLOURS[si % SERIES_COLOURS.length]}" stroke="#222"/>` })),
    { label: 'chance (uniform guess)', mark: '<line x1="0" x2="14" y1="-3" y2="-3" stroke="#d00" stroke-width="1.5" stroke-dasharray="5 3"/>' }];
  legend.forEach((l, i) => {
    const lx = left + (i % 2) * legendW, ly = top + plotH + 40 + 22 * Math.floor(i / 2);
    parts.push(`<g transform="translate(${lx},${ly})">${l.mark}<text x="20" y="1">${esc(l.label)}</text></g>`);
  });
  parts.push(`<text x="${left}" y="${height - 22}" fill="#555" font-size="11">${esc(`y axis ${fmtTick(ax.lo)}–${fmtTick(ax.hi)} (fitted to the data); whiskers: 95% intervals;`)}</text>`);
  parts.push(`<text x="${left}" y="${height - 8}" fill="#555" font-size="11">small circles: the individual LoRAs pooled in a mean.</text>`);
  parts.push('</svg>');
  return parts.join('\n');
}

/** Ticks at a 1 / 2 / 2.5 / 5 x 10^k step covering [a, b], about `count` of them. */
export function niceTicks(a: number, b: number, count = 5): number[] {
  if (!(b > a)) return [a];
  const raw = (b - a) / count, mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((x) => x >= raw)!;
  const out: number[] = [];
  for (let t = Math.ceil(a / step - 1e-9) * step; t <= b + 1e-9 * step; t += step) out.push(Number(t.toPrecision(12)));
  return out;
}

/**
 * A line chart of a series (e.g. the generator's training loss against the step), axes fitted to the data.
 * @example lineChart([{ x: 0, y: 2.3 }, { x: 50, y: 1.1 }], 'Generator training loss', 'step', 'loss')
 */
export function lineChart(points: readonly { x: number; y: number }[], title: string, xLabel: string, yLabel: string): string {
  const left = 70, top = 40, plotW = 620, plotH = 220, width = left + plotW + 30, height = top + plotH + 56;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${esc(title)}" font-family="DejaVu Sans, Arial, sans-serif" font-size="12">`);
  parts.push(`<text x="${left}" y="22" font-size="15" font-weight="bold">${esc(title)}</text>`);
  if (points.length === 0) {
    parts.push(`<text x="${left}" y="${top + 30}" fill="#999">not recorded</text></svg>`);
    return parts.join('\n');
  }
  const xs = points.map((p) => p.x), ys = points.map((p) => p.y);
  const x0 = Math.min(...xs), x1 = Math.max(...xs) === x0 ? x0 + 1 : Math.max(...xs);
  const pad = (Math.max(...ys) - Math.min(...ys)) * 0.05 || Math.abs(ys[0]!) * 0.05 || 1;
  const y0 = Math.min(...ys) - pad, y1 = Math.max(...ys) + pad;
  const X = (v: number) => left + (plotW * (v - x0)) / (x1 - x0);
  const Y = (v: number) => top + plotH * (1 - (v - y0) / (y1 - y0));
  for (const v of niceTicks(y0, y1)) {
    parts.push(`<line x1="${left}" x2="${left + plotW}" y1="${Y(v)}" y2="${Y(v)}" stroke="#e3e3e3"/><text x="${left - 6}" y="${Y(v) + 4}" text-anchor="end" fill="#555">${v}</text>`);
  }
  for (const xv of niceTicks(x0, x1)) parts.push(`<text x="${X(xv)}" y="${top + plotH + 18}" text-anchor="middle" fill="#555">${xv}</text>`);
  parts.push(`<polyline fill="none" stroke="#0072B2" stroke-width="1.8" points="${points.map((p) => `${X(p.x).toFixed(1)},${Y(p.y).toFixed(1)}`).join(' ')}"/>`);
  parts.push(`<line x1="${left}" x2="${left + plotW}" y1="${top + plotH}" y2="${top + plotH}" stroke="#333"/>`);
  parts.push(`<text x="${left + plotW / 2}" y="${top + plotH + 40}" text-anchor="middle">${esc(xLabel)}</text>`);
  parts.push(`<text x="16" y="${top + plotH / 2}" text-anchor="middle" transform="rotate(-90 16 ${top + plotH / 2})">${esc(yLabel)}</text>`);
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
 * failed LoRAs labelled "failed: 0", and each column's chance level under its name when `chance` is given.
 * @example heatMap(['base', 'arc'], ['ARC-e'], [[acc], [acc]], (r, c) => false, 'LoRA x set')
 */
export function heatMap(rows: string[], cols: string[], cells: (Accuracy | null)[][], isDiagonal: (r: number, c: number) => boolean, title: string, failedRow: (r: number) => boolean = () => false, chance: number[] = []): string {
  const cellW = 92, cellH = 30, left = 12 + Math.min(260, 7 * Math.max(...rows.map((r) => r.length), 6)), top = chance.length > 0 ? 88 : 70;
  const width = Math.max(left + cols.length * cellW + 20, left + 11 * 18 + 210); // room for the legend
  const height = top + rows.length * cellH + 50;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${esc(title)}" font-family="DejaVu Sans, Arial, sans-serif" font-size="12">`);
  parts.push(`<text x="12" y="22" font-size="15" font-weight="bold">${esc(title)}</text>`);
  cols.forEach((c, j) => parts.push(`<text x="${left + j * cellW + cellW / 2}" y="${top - (chance.length > 0 ? 28 : 10)}" text-anchor="middle" font-weight="bold">${esc(c)}</text>`));
  if (chance.length > 0) {
    parts.push(`<text x="${left - 8}" y="${top - 10}" text-anchor="end" fill="#d00">chance</text>`);
    cols.forEach((_, j) => parts.push(`<text class="chance" x="${left + j * cellW + cellW / 2}" y="${top - 10}" text-anchor="middle" fill="#d00">${(100 * (chance[j] ?? 0)).toFixed(1)}</text>`));
  }
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
