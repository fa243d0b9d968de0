// The Markdown report: held-out set x {base, LoRA mean, best LoRA, averaged LoRA, generated}, the cross
// matrix, and the notes a reader needs (n, interval, subsample seed). Not the HTML report.
import type { EvaluationResults, HeldOutSummary } from './run-evaluation';
import type { Accuracy } from './stats';

const pct = (v: number) => (100 * v).toFixed(1);

/** "54.8 [49.1, 60.4]" (percent, 95% Wilson interval). */
export function formatAccuracy(a: Accuracy | null | undefined): string {
  if (!a) return '—';
  return `${pct(a.value)} [${pct(a.lo)}, ${pct(a.hi)}]`;
}

/** The notes every report carries: metric, scorer, n, interval, subsample. */
export function reportNotes(r: EvaluationResults): string[] {
  const notes = [
    `Metric: ${r.metric} (${r.scorer === 'loglik' ? 'log-likelihood of " "+choice after the context, as lm-evaluation-harness' : `generation, ${r.config.generative.greedy ? 'greedy' : `sampled at T=${r.config.generative.temperature}`}, ${r.config.generative.parse} answer parsing: an answer outside the set's format counts as wrong`}). Values in %, with a 95% Wilson interval in brackets.`,
    'LoRA mean: mean over the training LoRAs not trained on the held-out set; a failed LoRA counts as 0; its interval pools all their item outcomes. Best LoRA is chosen on the same test items (an optimistic reference). Averaged LoRA: element-wise mean of those LoRAs\' lora_A and lora_B tensors.',
    'Generated: mean ± standard deviation over K generated LoRAs (K prompt samples of N prompts each); its interval pools all K x n outcomes.',
  ];
  const sub = r.sets.filter((s) => s.subsampleSeed !== null);
  if (sub.length > 0) {
    notes.push(`Subsampled with a fixed seed (${r.config.seed}; Fisher-Yates over mulberry32): ${sub.map((s) => `${s.name} ${s.n} of ${s.total}`).join(', ')}.`);
  } else {
    notes.push('Every item of every set was scored (no subsample).');
  }
  if (r.runInfo && Object.keys(r.runInfo).length > 0) {
    notes.push(`Computed with ${Object.entries(r.runInfo).map(([k, v]) => `${k} ${v}`).join(', ')}.`);
  }
  return notes;
}

function generatedCell(g: HeldOutSummary['generated']): string {
  if (!g) return '—';
  return `${pct(g.value)} ± ${pct(g.std)} (K=${g.k}${g.numPrompts ? `, N=${g.numPrompts}` : ''}) [${pct(g.pooled.lo)}, ${pct(g.pooled.hi)}]`;
}

/**
 * Renders results as Markdown.
 * @example fs.writeFileSync('report.md', renderMarkdown(results))
 */
export function renderMarkdown(r: EvaluationResults): string {
  const out: string[] = [];
  out.push(`# Evaluation: ${r.baseModel}`, '');
  out.push('| held-out set | n | base | LoRA mean | best LoRA | averaged LoRA | generated |', '|---|---|---|---|---|---|---|');
  for (const h of r.heldOut) {
    const mean = h.loraMean ? `${pct(h.loraMean.value)} ± ${pct(h.loraMean.std)} (${h.loraMean.count}${h.loraMean.failed ? `, ${h.loraMean.failed} failed` : ''}) [${pct(h.loraMean.pooled.lo)}, ${pct(h.loraMean.pooled.hi)}]` : '—';
    const best = h.bestLora ? `${formatAccuracy(h.bestLora.acc)} (${h.bestLora.adapter})` : '—';
    out.push(`| ${h.set} | ${h.n} | ${formatAccuracy(h.base)} | ${mean} | ${best} | ${formatAccuracy(h.averagedLora?.acc)} | ${generatedCell(h.generated)} |`);
  }
  out.push('', '## LoRA x set (cross matrix)', '');
  out.push(`| LoRA (trained on) \\ test | ${r.cross.cols.join(' | ')} |`, `|---|${r.cross.cols.map(() => '---').join('|')}|`);
  r.cross.rows.forEach((row, i) => {
    const label = (row.trainedOn ? `${row.adapter} (${row.trainedOn})` : row.adapter) + (row.failed ? ` — failed: ${row.failed}, counted as 0` : '');
    out.push(`| ${label} | ${r.cross.cells[i]!.map((c, j) => {
      const v = c ? pct(c.value) : '—';
      return row.trainedOn === r.cross.cols[j] ? `*${v}*` : v;
    }).join(' | ')} |`);
  });
  out.push('', 'Diagonal cells (a LoRA on its own training set) are in italics.', '', '## Notes', '');
  for (const n of reportNotes(r)) out.push(`- ${n}`);
  out.push('');
  return out.join('\n');
}
