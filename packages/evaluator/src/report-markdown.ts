// The Markdown report: a header that makes it stand alone (run id, preset, commit, config digest, seed,
// base model, encoder, backend, step times), then per protocol the held-out table with its chance column,
// the paired comparisons and the cross matrix, the generator's training loss, and the notes. Text helpers
// the HTML report shares live here too. Not the HTML report.
import { formatDuration } from '@dnd/core';
import type { EvalProtocol } from './config';
import type { PairedComparison } from './held-out-summary';
import type { EvaluationResults, HeldOutSummary, ProtocolResults } from './run-evaluation';
import { publicName, publicText } from './run-info';
import type { Accuracy, PairedDiff } from './stats';

const pct = (v: number) => (100 * v).toFixed(1);
const signed = (v: number) => `${v >= 0 ? '+' : '−'}${Math.abs(100 * v).toFixed(1)}`;

/** "54.8 [49.1, 60.4]" (percent, 95% Wilson interval). */
export function formatAccuracy(a: Accuracy | null | undefined): string {
  if (!a) return '—';
  return `${pct(a.value)} [${pct(a.lo)}, ${pct(a.hi)}]`;
}

/** "+2.1 [−0.4, +4.6]" (percentage points, 95% paired-bootstrap interval). */
export function formatDiff(d: PairedDiff): string {
  return `${signed(d.mean)} [${signed(d.lo)}, ${signed(d.hi)}]`;
}

/** "p 0.031" for one pair, "p 0.012–0.440 (K=5 pairs)" for several, "—" for none. */
export function formatMcNemar(m: PairedComparison['mcnemar']): string {
  if (!m || m.length === 0) return '—';
  const f = (p: number) => (p < 0.001 ? p.toExponential(1) : p.toFixed(3));
  if (m.length === 1) return `p ${f(m[0]!.p)}`;
  const ps = m.map((x) => x.p);
  return `p ${f(Math.min(...ps))}–${f(Math.max(...ps))} (K=${m.length} pairs)`;
}

/** The report's title: run id and preset when known, else the base model's name. */
export function reportTitle(r: EvaluationResults): string {
  const i = r.runInfo;
  if (i?.runId) return `${publicText(i.runId)}${i.preset ? ` (${publicText(i.preset)})` : ''}`;
  return `Evaluation of ${publicName(r.baseModel)}${i?.preset ? ` (${publicText(i.preset)})` : ''}`;
}

/** The header rows: [label, value] for run id, date, commit, preset, config digest, seed, base model, encoder, backend, step times. */
export function headerRows(r: EvaluationResults): [string, string][] {
  const i = r.runInfo ?? {};
  const nr = 'not recorded';
  const s = (v: string | undefined) => (v ? publicText(v) : nr);
  const base = i.baseModel
    ? [publicName(i.baseModel.name), i.baseModel.digest ? `sha256 ${i.baseModel.digest.slice(0, 12)}` : null, i.baseModel.provenance ? publicText(i.baseModel.provenance) : null].filter(Boolean).join(', ')
    : `${publicName(r.baseModel)} (digest ${nr})`;
  const enc = i.encoder ? [publicName(i.encoder.name), i.encoder.digest ? `sha256 ${i.encoder.digest.slice(0, 12)}` : null].filter(Boolean).join(', ') : nr;
  const steps = i.stepSeconds && i.stepSeconds.length > 0
    ? i.stepSeconds.map((x) => `${publicText(x.step)} ${formatDuration(x.seconds, 'spaced')}`).join('; ') + `; total ${formatDuration(i.stepSeconds.reduce((a, x) => a + x.seconds, 0), 'spaced')}`
    : nr;
  return [
    ['run id', s(i.runId)], ['date', s(i.date)], ['commit', s(i.commit)], ['preset', s(i.preset)],
    ['config digest', i.configDigest ? `sha256 ${publicText(i.configDigest)}` : nr], ['seed', i.seed !== undefined ? String(i.seed) : nr],
    ['base model', base], ['encoder', enc], ['backend', s(i.backend)], ['wall time per step', steps],
    ['evaluation', r.protocols.map((p) => `${protocolTitle(p.protocol, p.scorer, metricLabel(p))}: ${p.sets.map((x) => `${x.name} ${x.n}${x.n < x.total ? ` of ${x.total}` : ''}`).join(', ')}`).join('; ')],
    ['scoring time', scoringTimeText(r)],
  ];
}

/**
 * Each protocol's scoring time with its item-adapter pairs and the time per pair; "not recorded" for results
 * written before timing was kept.
 * @example scoringTimeText(r) // 'paper 2 min 05 s (1,500 item-adapter pairs, 83 ms each); knowledge 4 min 10 s (9,000 pairs, 28 ms each)'
 */
export function scoringTimeText(r: EvaluationResults): string {
  const timed = r.protocols.filter((p) => p.timing !== undefined);
  if (timed.length === 0) return 'not recorded';
  return timed.map((p, i) => {
    const t = p.timing!;
    const ms = (1000 * t.seconds) / Math.max(1, t.pairs);
    const each = t.pairs > 0 ? `, ${ms >= 10 ? Math.round(ms).toLocaleString('en-US') : ms.toPrecision(2)} ms each` : '';
    return `${p.protocol} ${formatDuration(t.seconds, 'spaced')} (${t.pairs.toLocaleString('en-US')} ${i === 0 ? 'item-adapter pairs' : 'pairs'}${each})`;
  }).join('; ');
}

/**
 * A protocol's headline metric as titles name it: the default, then the sets that use the other one.
 * @example metricLabel({ metric: 'acc', metricBySet: { piqa: 'acc_norm', boolq: 'acc' } }) // 'acc; acc_norm on piqa'
 */
export function metricLabel(p: { metric: string; metricBySet?: Record<string, string> }): string {
  const other = Object.entries(p.metricBySet ?? {}).filter(([, m]) => m !== p.metric);
  if (other.length === 0) return p.metric;
  const byMetric = new Map<string, string[]>();
  for (const [set, m] of other) byMetric.set(m, [...(byMetric.get(m) ?? []), set]);
  return [p.metric, ...[...byMetric].map(([m, sets]) => `${m} on ${sets.join(', ')}`)].join('; ');
}

/** A protocol's heading, e.g. "Paper protocol (generation, strict label format; acc)". */
export function protocolTitle(p: EvalProtocol, scorer: string, metric: string): string {
  if (p === 'knowledge') return `Knowledge protocol (log-likelihood of the choice texts, lm-evaluation-harness; ${metric})`;
  return `Paper protocol (${scorer === 'generative' ? 'generation, strict label format' : 'log-likelihood of the choice texts'}; ${metric})`;
}

/** "40.0 ± 20.0 (2 LoRAs, range 20.0–60.0) [pooled 32.1, 48.4]" for the training-LoRA mean. */
export function formatLoraMean(m: HeldOutSummary['loraMean']): string {
  if (!m) return '—';
  return `${pct(m.value)} ± ${pct(m.std)} (${m.count} LoRAs${m.failed ? `, ${m.failed} failed` : ''}, range ${pct(m.min)}–${pct(m.max)}) [pooled ${pct(m.pooled.lo)}, ${pct(m.pooled.hi)}]`;
}

/** "70.0 ± 14.1 (K=2, N=16, range 60.0–80.0) [pooled 54.6, 82.0]" for the generated LoRAs. */
export function formatGenerated(g: HeldOutSummary['generated']): string {
  if (!g) return '—';
  return `${pct(g.value)} ± ${pct(g.std)} (K=${g.k}${g.numPrompts ? `, N=${g.numPrompts}` : ''}, range ${pct(g.min)}–${pct(g.max)}) [pooled ${pct(g.pooled.lo)}, ${pct(g.pooled.hi)}]`;
}

export const PAIRED_COLUMNS: { against: PairedComparison['against']; label: string }[] = [
  { against: 'base', label: 'generated − base' }, { against: 'loraMean', label: 'generated − LoRA mean' },
  { against: 'averagedLora', label: 'generated − averaged LoRA' }, { against: 'bestLora', label: 'generated − best LoRA' },
];

/** A paired-comparison cell: difference with its interval, and McNemar's p for single pairs. */
export function formatPaired(h: HeldOutSummary, against: PairedComparison['against']): string {
  const c = h.paired.find((x) => x.against === against);
  if (!c) return '—';
  return c.mcnemar ? `${formatDiff(c.diff)}; McNemar ${formatMcNemar(c.mcnemar)}` : formatDiff(c.diff);
}

/** The notes every report carries: metrics, baselines, intervals, paired statistics, subsamples. */
export function reportNotes(r: EvaluationResults): string[] {
  const g = r.config.generative;
  const has = (p: string) => r.protocols.some((x) => x.protocol === p);
  const notes = [
    [
      has('paper') ? `Paper protocol: ${r.config.scorer === 'generative' ? `generation (${g.greedy ? 'greedy' : `sampled at T=${g.temperature}`}, at most ${g.maxNewTokens} new tokens), ${g.parse} parsing: an answer outside the set's label format counts as wrong` : 'log-likelihood (the paper generates; this run scored the paper protocol by log-likelihood)'}.` : null,
      has('knowledge') ? 'Knowledge protocol: the log-likelihood of " " + each choice text after "Question: <question>\\nAnswer:" (the sentence itself for endingN sets), argmax = acc, argmax per character = acc_norm, as lm-evaluation-harness.' : null,
      'Values in %, with a 95% Wilson interval in brackets. Chance: the mean over the scored items of 1 / number of choices.',
    ].filter((x) => x !== null).join(' '),
    'LoRA mean: mean over the training LoRAs not trained on the held-out set; a failed LoRA counts as 0; ± is their standard deviation, the range their min–max, and the bracket pools all their item outcomes. Best LoRA is chosen on the same test items (an optimistic reference). Averaged LoRA: element-wise mean of those LoRAs\' lora_A and lora_B tensors.',
    'Generated: mean ± standard deviation over K generated LoRAs (K prompt samples of N prompts each), their range, and the interval pooling all K x n outcomes.',
    `Paired comparisons: per item, the share of the K generated LoRAs that are right minus the other side's outcome (for the LoRA mean, the share of training LoRAs right), averaged over items, in percentage points; 95% percentile interval from ${r.config.bootstrapResamples} paired-bootstrap resamples of the items (seed ${r.config.seed}). McNemar: exact two-sided p of each generated LoRA against the single adapter (range over the K pairs).`,
  ];
  for (const p of r.protocols) {
    const sub = p.sets.filter((s) => s.subsampleSeed !== null);
    notes.push(sub.length > 0
      ? `${p.protocol}: subsampled with a fixed seed (${r.config.seed}; Fisher-Yates over mulberry32): ${sub.map((s) => `${s.name} ${s.n} of ${s.total}`).join(', ')}.`
      : `${p.protocol}: every item of every set was scored (no subsample).`);
  }
  return notes;
}

/**
 * The protocols side by side: per held-out set and protocol, chance, base, generated mean and generated − base
 * (paired 95% interval). Header and rows as plain strings for both renderers.
 */
export function sideBySide(r: EvaluationResults): { header: string[]; rows: string[][] } {
  const header = ['held-out set', ...r.protocols.flatMap((p) => [`${p.protocol}: chance`, `${p.protocol}: base`, `${p.protocol}: generated`, `${p.protocol}: generated − base`])];
  const sets = r.protocols[0]!.heldOut.map((h) => h.set);
  const rows = sets.map((set) => [set, ...r.protocols.flatMap((p) => {
    const h = p.heldOut.find((x) => x.set === set)!;
    const d = h.paired.find((c) => c.against === 'base');
    return [pct(h.chance), formatAccuracy(h.base), h.generated ? `${pct(h.generated.value)} ± ${pct(h.generated.std)}` : '—', d ? formatDiff(d.diff) : '—'];
  })]);
  return { header, rows };
}

/**
 * For a log-likelihood protocol, acc and acc_norm side by side per held-out set: base, LoRA mean, averaged
 * LoRA and generated mean (from the cells); empty for a generative protocol.
 */
export function accPairRows(r: EvaluationResults, p: ProtocolResults): { set: string; cols: string[] }[] {
  if (p.scorer !== 'loglik') return [];
  const cellsOf = (adapters: string[], set: string) => r.cells.filter((c) => c.protocol === p.protocol && c.set === set && adapters.includes(c.adapter));
  const both = (adapters: string[], set: string) => {
    const cs = cellsOf(adapters, set);
    if (cs.length === 0) return '—';
    const m = (f: (c: (typeof cs)[number]) => number) => pct(cs.reduce((a, c) => a + f(c), 0) / cs.length);
    return `${m((c) => c.acc.value)} / ${m((c) => c.accNorm?.value ?? 0)}`;
  };
  return p.heldOut.map((h) => ({
    set: h.set,
    cols: [pct(h.chance), both(['base'], h.set), both(h.training.map((t) => t.adapter), h.set), h.averagedLora ? both([h.averagedLora.adapter], h.set) : '—',
      h.generated ? both(h.generated.samples.map((x) => x.adapter), h.set) : '—'],
  }));
}

export const OWN_SET_COLUMNS = ['LoRA', 'its set', 'chance', 'base', 'LoRA', 'LoRA − base', 'McNemar', 'beats the base?'];

/** Rows of the own-set table: a LoRA against the base on its own training set, and whether the paired interval excludes 0. */
export function ownSetRows(p: ProtocolResults): string[][] {
  const chance = new Map(p.sets.map((s) => [s.name, s.chance]));
  return p.ownSet.map((o) => [o.adapter, o.set, pct(chance.get(o.set) ?? 0), formatAccuracy(o.base), formatAccuracy(o.lora), formatDiff(o.diff),
    formatMcNemar([{ sample: 0, ...o.mcnemar }]), o.diff.lo > 0 ? 'yes (interval above 0)' : o.diff.hi < 0 ? 'no: worse (interval below 0)' : 'not shown (interval holds 0)']);
}

/** The prompt-swap and in-distribution tables of a protocol (empty without probes), as text for both renderers. */
export function diagnosticTables(p: ProtocolResults): { title: string; header: string[]; rows: string[][] }[] {
  const chance = (set: string) => pct(p.sets.find((x) => x.name === set)?.chance ?? 0);
  const out: { title: string; header: string[]; rows: string[][] }[] = [];
  if (p.promptSwap.length > 0) {
    out.push({
      title: `Prompt swap: LoRAs generated from each set's prompts, scored on the held-out set (${metricLabel(p)})`,
      header: ['held-out set', 'chance', 'prompts from', 'K', 'mean', 'pooled interval', 'own prompts best?'],
      rows: p.promptSwap.flatMap((t) => t.rows.map((row) => [t.set, chance(t.set), `${row.promptsFrom}${row.own ? ' (own)' : ''}`, String(row.k), pct(row.value), formatAccuracy(row.pooled), row.own ? (t.ownBest ? 'yes' : 'no') : ''])),
    });
  }
  if (p.inDistribution.length > 0) {
    out.push({
      title: `In-distribution: LoRAs generated from a training set's own prompts against that set's own LoRA (${metricLabel(p)})`,
      header: ['set', 'chance', 'base', 'own LoRA', 'generated (mean over K, pooled)', 'gain recovered', 'cosine with the own LoRA'],
      rows: p.inDistribution.map((d) => [d.set, chance(d.set), formatAccuracy(d.base), `${formatAccuracy(d.own)} (${d.ownLora})`,
        `${pct(d.generated.value)} (K=${d.generated.k}) [${pct(d.generated.pooled.lo)}, ${pct(d.generated.pooled.hi)}]`,
        d.recovered === null ? 'n/a (the own LoRA does not beat the base)' : `${(100 * d.recovered).toFixed(0)}%`, d.cosine.toFixed(3)]),
    });
  }
  return out;
}

/** The spread section's rows and summary line (null without a spread). */
export function spreadText(r: EvaluationResults): { header: string[]; rows: string[][]; summary: string } | null {
  if (!r.spread) return null;
  return {
    header: ['prompts from', 'LoRAs', 'mean distance within'],
    rows: r.spread.within.map((w) => [w.group, String(w.count), w.meanDistance === null ? '—' : w.meanDistance.toPrecision(4)]),
    summary: `Between sets: ${r.spread.between === null ? '—' : r.spread.between.toPrecision(4)}; between / within: ${r.spread.ratio === null ? '—' : r.spread.ratio.toFixed(2)} (near 1: LoRAs from different sets' prompts are no further apart than those from one set's). Distances: Frobenius norm of the difference of the updates (scale x B A, all modules).`,
  };
}

export const ACC_PAIR_COLUMNS = ['chance', 'base', 'LoRA mean', 'averaged LoRA', 'generated (mean over K)'];

function protocolMarkdown(r: EvaluationResults, p: ProtocolResults): string[] {
  const out: string[] = [];
  const chance = new Map(p.sets.map((s) => [s.name, s.chance]));
  out.push(`## ${protocolTitle(p.protocol, p.scorer, metricLabel(p))}`, '');
  out.push('| held-out set | n | chance | base | LoRA mean | best LoRA | averaged LoRA | generated |', '|---|---|---|---|---|---|---|---|');
  for (const h of p.heldOut) {
    const best = h.bestLora ? `${formatAccuracy(h.bestLora.acc)} (${h.bestLora.adapter})` : '—';
    out.push(`| ${h.set} | ${h.n} | ${pct(h.chance)} | ${formatAccuracy(h.base)} | ${formatLoraMean(h.loraMean)} | ${best} | ${formatAccuracy(h.averagedLora?.acc)} | ${formatGenerated(h.generated)} |`);
  }
  if (p.heldOut.some((h) => h.paired.length > 0)) {
    out.push('', `### Generated against each baseline, paired on the items (${metricLabel(p)}, percentage points)`, '');
    out.push(`| held-out set | chance | ${PAIRED_COLUMNS.map((c) => c.label).join(' | ')} |`, `|---|---|${PAIRED_COLUMNS.map(() => '---').join('|')}|`);
    for (const h of p.heldOut) out.push(`| ${h.set} | ${pct(h.chance)} | ${PAIRED_COLUMNS.map((c) => formatPaired(h, c.against)).join(' | ')} |`);
  }
  const pairs = accPairRows(r, p);
  if (pairs.length > 0) {
    out.push('', '### acc / acc_norm (lm-evaluation-harness reports both)', '');
    out.push(`| held-out set | ${ACC_PAIR_COLUMNS.join(' | ')} |`, `|---|${ACC_PAIR_COLUMNS.map(() => '---').join('|')}|`);
    for (const x of pairs) out.push(`| ${x.set} | ${x.cols.join(' | ')} |`);
  }
  out.push('', `### LoRA x set (${metricLabel(p)})`, '');
  out.push(`| LoRA (trained on) \\ test | ${p.cross.cols.join(' | ')} |`, `|---|${p.cross.cols.map(() => '---').join('|')}|`);
  out.push(`| chance | ${p.cross.cols.map((c) => pct(chance.get(c) ?? 0)).join(' | ')} |`);
  p.cross.rows.forEach((row, i) => {
    const label = (row.trainedOn ? `${row.adapter} (${row.trainedOn})` : row.adapter) + (row.failed ? ` — failed: ${row.failed}, counted as 0` : '');
    out.push(`| ${label} | ${p.cross.cells[i]!.map((c, j) => {
      const v = c ? pct(c.value) : '—';
      return row.trainedOn === p.cross.cols[j] ? `*${v}*` : v;
    }).join(' | ')} |`);
  });
  out.push('', 'Diagonal cells (a LoRA on its own training set) are in italics.', '');
  for (const t of diagnosticTables(p)) {
    out.push(`### ${t.title}`, '');
    out.push(`| ${t.header.join(' | ')} |`, `|${t.header.map(() => '---').join('|')}|`);
    for (const row of t.rows) out.push(`| ${row.join(' | ')} |`);
    out.push('');
  }
  if (p.ownSet.length > 0) {
    out.push(`### Each LoRA on its own set against the base model (${metricLabel(p)}, paired)`, '');
    out.push(`| ${OWN_SET_COLUMNS.join(' | ')} |`, `|${OWN_SET_COLUMNS.map(() => '---').join('|')}|`);
    for (const row of ownSetRows(p)) out.push(`| ${row.join(' | ')} |`);
    out.push('');
  }
  return out;
}

/** Up to `max` points of a loss series, evenly spaced, always with the first and the last. */
export function thinSeries<T>(xs: readonly T[], max: number): T[] {
  if (xs.length <= max) return [...xs];
  const idx = new Set<number>();
  for (let k = 0; k < max; k++) idx.add(Math.round((k * (xs.length - 1)) / (max - 1)));
  return [...idx].sort((a, b) => a - b).map((i) => xs[i]!);
}

/**
 * Renders results as Markdown. No absolute local path appears in it (names only).
 * @example fs.writeFileSync('report.md', renderMarkdown(results))
 */
export function renderMarkdown(r: EvaluationResults): string {
  const out: string[] = [];
  out.push(`# ${reportTitle(r)}`, '');
  out.push('| | |', '|---|---|');
  for (const [k, v] of headerRows(r)) out.push(`| ${k} | ${v} |`);
  out.push('');
  if (r.protocols.length > 1) {
    const sb = sideBySide(r);
    out.push('## Both protocols side by side (headline metric of each, %; differences in points with 95% paired intervals)', '');
    out.push(`| ${sb.header.join(' | ')} |`, `|${sb.header.map(() => '---').join('|')}|`);
    for (const row of sb.rows) out.push(`| ${row.join(' | ')} |`);
    out.push('');
  }
  for (const p of r.protocols) out.push(...protocolMarkdown(r, p));
  const sp = spreadText(r);
  if (sp) {
    out.push('## Spread of the generated LoRAs', '');
    out.push(`| ${sp.header.join(' | ')} |`, `|${sp.header.map(() => '---').join('|')}|`);
    for (const row of sp.rows) out.push(`| ${row.join(' | ')} |`);
    out.push('', sp.summary, '');
  }
  out.push('## Generator training loss', '');
  const loss = r.runInfo?.trainingLoss ?? [];
  if (loss.length === 0) {
    out.push('Not recorded for this evaluation.', '');
  } else {
    const min = loss.reduce((a, x) => (x.loss < a.loss ? x : a));
    out.push(`${loss.length} logged steps; first ${loss[0]!.loss.toPrecision(4)} (step ${loss[0]!.step}), lowest ${min.loss.toPrecision(4)} (step ${min.step}), last ${loss[loss.length - 1]!.loss.toPrecision(4)} (step ${loss[loss.length - 1]!.step}).`, '');
    out.push('| step | loss |', '|---|---|');
    for (const x of thinSeries(loss, 12)) out.push(`| ${x.step} | ${x.loss.toPrecision(4)} |`);
    out.push('');
  }
  out.push('## Notes', '');
  for (const n of reportNotes(r)) out.push(`- ${n}`);
  out.push('');
  // A last guard: any absolute local path that reached the text (a set or adapter named by path) keeps its last component only.
  return publicText(out.join('\n'));
}
