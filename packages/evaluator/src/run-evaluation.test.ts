import { resolveEvaluatorConfig } from './config';
import { runEvaluation, type EvaluationPlan, type ProtocolResults } from './run-evaluation';
import { scoringJobs, scoringPairs } from './scoring-plan';
import { FakeModel, FakeMultiModel, fakeAdapter, makeItems } from '../test/fake-model';
import { deltaCosine } from './lora-geometry';
import { renderMarkdown } from './report-markdown';

// Three sets of 20 items; LoRAs trained on A and B (skills 0.6 / 0.2), one failed LoRA on C;
// generated LoRAs for held-out set C with skills 0.8 and 0.6. The fake model is right on an item
// exactly when (index mod 10) < 10 * skill, so every accuracy below is exact.
function plan(): EvaluationPlan {
  const sets = ['A', 'B', 'C'].map((s) => ({ name: s, items: makeItems(s, 20) }));
  return {
    sets,
    heldOut: ['C', 'A'],
    trainingLoras: [
      { name: 'lora-A', trainedOn: 'A', adapter: fakeAdapter(0.6) },
      { name: 'lora-B', trainedOn: 'B', adapter: fakeAdapter(0.2) },
      { name: 'lora-C', trainedOn: 'C', adapter: null, failed: 'diverged' },
    ],
    generated: [
      { heldOut: 'C', sample: 0, adapter: fakeAdapter(0.8), numPrompts: 16 },
      { heldOut: 'C', sample: 1, adapter: fakeAdapter(0.6), numPrompts: 16 },
    ],
  };
}
const allItems = (p: EvaluationPlan) => p.sets.flatMap((s) => s.items);

describe('runEvaluation', () => {
  it('computes every baseline per held-out set, under both protocols', async () => {
    const p = plan();
    const { results, rows } = await runEvaluation(p, resolveEvaluatorConfig(), new FakeModel(allItems(p), 0.3));
    expect(results.protocols.map((x) => [x.protocol, x.scorer, x.metric])).toEqual([['paper', 'generative', 'acc'], ['knowledge', 'loglik', 'acc']]);
    // The top level repeats the first protocol's tables (schema-1 readers).
    expect(results.heldOut).toEqual(results.protocols[0]!.heldOut);
    // The fake model is right on the same items whichever way it is asked, so both protocols agree.
    expect(results.protocols[1]!.heldOut.map((h) => [h.set, h.base.value, h.generated?.value ?? null]))
      .toEqual(results.protocols[0]!.heldOut.map((h) => [h.set, h.base.value, h.generated?.value ?? null]));
    const c = results.protocols[1]!.heldOut.find((h) => h.set === 'C')!;
    expect(c.chance).toBeCloseTo(0.25, 12);
    expect(c.n).toBe(20);
    expect(c.base.value).toBeCloseTo(0.3, 12);
    expect(c.training.map((t) => [t.adapter, t.acc.value])).toEqual([['lora-A', 0.6], ['lora-B', 0.2]]);
    expect(c.loraMean!.value).toBeCloseTo(0.4, 12);
    expect(c.loraMean!.pooled.correct).toBe(16);
    expect(c.loraMean!.pooled.n).toBe(40);
    expect(c.bestLora).toMatchObject({ adapter: 'lora-A' });
    expect(c.averagedLora!.members).toEqual(['lora-A', 'lora-B']);
    expect(c.averagedLora!.acc.value).toBeCloseTo(0.4, 12); // skill (0.6 + 0.2) / 2
    expect(c.generated!.k).toBe(2);
    expect(c.generated!.numPrompts).toBe(16);
    expect(c.generated!.value).toBeCloseTo(0.7, 12);
    expect(c.generated!.std).toBeCloseTo(Math.SQRT2 * 0.1, 12);
    expect(c.generated!.pooled).toMatchObject({ correct: 28, n: 40 });

    // Held-out A: the failed LoRA counts as 0, the LoRA trained on A is excluded.
    const a = results.heldOut.find((h) => h.set === 'A')!;
    expect(a.training.map((t) => [t.adapter, t.acc.value, t.failed])).toEqual([['lora-B', 0.2, null], ['lora-C', 0, 'diverged']]);
    expect(a.loraMean!.value).toBeCloseTo(0.1, 12);
    expect(a.loraMean!.failed).toBe(1);
    expect(a.averagedLora!.members).toEqual(['lora-B']);
    expect(a.generated).toBeNull();

    // Cross matrix: base + 3 LoRAs x 3 sets, with the failed row at 0.
    expect(results.cross.cols).toEqual(['A', 'B', 'C']);
    expect(results.cross.rows.map((r) => r.adapter)).toEqual(['base', 'lora-A', 'lora-B', 'lora-C']);
    expect(results.cross.cells[1]!.map((x) => x!.value)).toEqual([0.6, 0.6, 0.6]);
    expect(results.cross.cells[3]!.map((x) => x!.value)).toEqual([0, 0, 0]);

    // Paper rows: base 3x20, lora-A/B/C 3x20 each, averaged(A+B) on C 20, averaged(B) on A 20, generated 2x20.
    // Knowledge rows (no cross matrix there): base 3x20; each LoRA on the held-out sets C, A and its own set:
    // lora-A 2x20, lora-B 3x20, lora-C 2x20; averaged 2x20; generated 2x20.
    expect(rows.filter((r) => r.protocol === 'paper').length).toBe(60 * 4 + 20 + 20 + 40);
    expect(rows.filter((r) => r.protocol === 'knowledge').length).toBe(60 + 40 + 60 + 40 + 40 + 40);
    expect(results.protocols[1]!.cross.cells[1]!.map((x) => x?.value ?? null)).toEqual([0.6, null, 0.6]); // lora-A: not scored on B
    expect(rows.filter((r) => r.protocol === 'knowledge').every((r) => r.scorer === 'loglik' || r.scorer === 'failed')).toBe(true);
    expect(rows.filter((r) => r.protocol === 'paper').every((r) => r.scorer === 'generative' || r.scorer === 'failed')).toBe(true);
    expect(new Set(rows.map((r) => r.role))).toEqual(new Set(['base', 'training', 'averaged', 'generated']));
    expect(results.sets.every((s) => s.subsampleSeed === null)).toBe(true);
  });

  it('scores a set\'s adapters together, adaptersPerPass at a time, with the results of one adapter at a time', async () => {
    const p = plan();
    const one = await runEvaluation(p, resolveEvaluatorConfig({ adaptersPerPass: 1 }), new FakeMultiModel(allItems(p), 0.3));
    const m = new FakeMultiModel(allItems(p), 0.3);
    const seen: { done: number; total: number; items: { done: number; total: number } }[] = [];
    const together = await runEvaluation(p, resolveEvaluatorConfig({ adaptersPerPass: 2, batchSize: 8, generative: { batchSize: 8 } }), m, (x) => seen.push(x));
    // Progress moves per model call (a batch), in item-adapter pairs, up to every scored row.
    expect(seen.at(-1)!.items).toEqual({ done: together.rows.length, total: together.rows.length });
    expect(seen.every((x, i) => i === 0 || x.items.done >= seen[i - 1]!.items.done)).toBe(true);
    expect(seen.length).toBeGreaterThan(2 * seen.at(-1)!.total);
    expect(together.results.cells).toEqual(one.results.cells);
    expect(together.rows).toEqual(one.rows);
    // The same protocols but for the wall time (the pairs scored are the same).
    const untimed = (ps: ProtocolResults[]) => ps.map((x) => ({ ...x, timing: { ...x.timing!, seconds: 0, sets: x.timing!.sets.map((s) => ({ ...s, seconds: 0 })) } }));
    expect(untimed(together.results.protocols)).toEqual(untimed(one.results.protocols));
    // Paper protocol, set C (held out): base, lora-A, lora-B, averaged(A+B), 2 generated = 6 live adapters in 3 passes
    // of 2 (generate: 1 batch of 20 prompts each); lora-C failed and is not scored.
    expect(m.passes.every((k) => k === 2)).toBe(true);
    // Six live adapters on C (base, lora-A, lora-B, averaged, 2 generated) at most 4 per pass: 3 and 3, not 4 and 2.
    const six = new FakeMultiModel(allItems(p), 0.3);
    await runEvaluation({ ...p, heldOut: ['C'] }, resolveEvaluatorConfig({ protocols: ['paper'], adaptersPerPass: 4, crossMatrix: false, generative: { batchSize: 50 } }), six);
    expect(six.passes).toEqual([3, 3]);
  });

  it('without the cross matrix the base is scored on the held-out sets only', async () => {
    const p = plan();
    const { results } = await runEvaluation({ ...p, heldOut: ['C'] }, resolveEvaluatorConfig({ protocols: ['paper'], crossMatrix: false }), new FakeModel(allItems(p), 0.3));
    expect(results.cells.filter((c) => c.adapter === 'base').map((c) => c.set)).toEqual(['C']);
    expect(results.cross.cells[0]).toEqual([null, null, expect.objectContaining({ value: 0.3 })]);
  });

  it('scores no averaged LoRA when told the adapters are unrelated (dnd evaluate)', async () => {
    const p = { ...plan(), averageTrainingLoras: false };
    const { results, rows } = await runEvaluation(p, resolveEvaluatorConfig({ protocols: ['paper'] }), new FakeModel(allItems(p), 0.3));
    expect(results.heldOut.map((h) => h.averagedLora)).toEqual([null, null]);
    expect(results.heldOut.find((h) => h.set === 'C')!.loraMean!.value).toBeCloseTo(0.4, 12);
    expect(rows.length).toBe(60 * 4 + 40);
    expect(rows.some((r) => r.role === 'averaged')).toBe(false);
  });

  it('a set named in knowledge.metricBySet uses its own headline metric everywhere; the others keep the default', async () => {
    const p = plan();
    const cfg = resolveEvaluatorConfig({ protocols: ['knowledge'], knowledge: { metricBySet: { C: 'acc_norm' } } });
    const { results, rows } = await runEvaluation(p, cfg, new FakeModel(allItems(p), 0.3));
    const k = results.protocols[0]!;
    expect([k.metric, k.metricBySet]).toEqual(['acc', { A: 'acc', B: 'acc', C: 'acc_norm' }]);
    const cellOf = (adapter: string, set: string) => results.cells.find((c) => c.adapter === adapter && c.set === set && c.protocol === 'knowledge')!;
    const c = k.heldOut.find((h) => h.set === 'C')!;
    const a = k.heldOut.find((h) => h.set === 'A')!;
    expect([c.metric, a.metric]).toEqual(['acc_norm', 'acc']);
    expect(c.base).toEqual(cellOf('base', 'C').accNorm);
    expect(c.generated!.samples.map((x) => x.acc)).toEqual([cellOf('generated:C#0', 'C').accNorm, cellOf('generated:C#1', 'C').accNorm]);
    expect(a.base).toEqual(cellOf('base', 'A').acc);
    // The paired difference on C is taken over the acc_norm outcomes of the rows, item by item.
    const norm = (adapter: string) => rows.filter((r) => r.adapter === adapter && r.set === 'C').map((r) => (r.correctNorm ? 1 : 0));
    const g0 = norm('generated:C#0'); const g1 = norm('generated:C#1'); const b = norm('base');
    const want = g0.reduce((s: number, x, i) => s + (x + g1[i]!) / 2 - b[i]!, 0) / g0.length;
    expect(c.paired.find((x) => x.against === 'base')!.diff.mean).toBeCloseTo(want, 12);
    expect(cellOf('base', 'C').accNorm!.correct).not.toBe(cellOf('base', 'C').acc.correct); // so the test tells the metrics apart
    // The cross matrix's column C is acc_norm, column A acc; the report names both.
    const row = k.cross.rows.findIndex((r) => r.adapter === 'base');
    expect(k.cross.cells[row]![k.cross.cols.indexOf('C')]).toEqual(cellOf('base', 'C').accNorm);
    expect(k.cross.cells[row]![k.cross.cols.indexOf('A')]).toEqual(cellOf('base', 'A').acc);
    expect(renderMarkdown(results)).toContain('## Knowledge protocol (log-likelihood of the choice texts, lm-evaluation-harness; acc; acc_norm on C)');
    expect(() => resolveEvaluatorConfig({ knowledge: { metricBySet: { C: 'f1' } } } as never)).toThrow(/knowledge\.metricBySet\."C" must be one of "acc", "acc_norm", got "f1"/);
  });

  it('pairs the generated LoRAs with each baseline on the same items', async () => {
    const p = plan();
    const { results } = await runEvaluation(p, resolveEvaluatorConfig({ protocols: ['knowledge'] }), new FakeModel(allItems(p), 0.3));
    const c = results.protocols[0]!.heldOut.find((h) => h.set === 'C')!;
    const by = (k: string) => c.paired.find((x) => x.against === k)!;
    expect(c.paired.map((x) => x.against)).toEqual(['base', 'loraMean', 'averagedLora', 'bestLora']);
    // Generated skills 0.8 / 0.6 (mean 0.7); base 0.3; lora-A 0.6, lora-B 0.2 (mean 0.4); averaged skill 0.4; best = lora-A.
    expect(by('base').diff.mean).toBeCloseTo(0.4, 12);
    expect(by('loraMean').diff.mean).toBeCloseTo(0.3, 12);
    expect(by('averagedLora').diff.mean).toBeCloseTo(0.3, 12);
    expect(by('bestLora').diff.mean).toBeCloseTo(0.1, 12);
    expect(by('bestLora').adapters).toEqual(['lora-A']);
    expect(by('loraMean').adapters).toEqual(['lora-A', 'lora-B']);
    expect(by('loraMean').mcnemar).toBeNull();
    // Every generated LoRA is right wherever the base is: discordant pairs all one way, so McNemar's p is 2 / 2^b.
    expect(by('base').mcnemar).toEqual([{ sample: 0, b: 10, c: 0, p: expect.closeTo(2 / 2 ** 10, 12) }, { sample: 1, b: 6, c: 0, p: expect.closeTo(2 / 2 ** 6, 12) }]);
    expect(by('bestLora').mcnemar).toEqual([{ sample: 0, b: 4, c: 0, p: expect.closeTo(0.125, 12) }, { sample: 1, b: 0, c: 0, p: 1 }]);
    expect(by('base').diff.lo).toBeGreaterThan(0);
    expect(by('base').diff.hi).toBeGreaterThan(0.4);
    expect(by('base').diff).toMatchObject({ n: 20, resamples: 4000, seed: 1234 });
    // Each LoRA on its own set against the base (cross matrix on): lora-A 0.6 vs 0.3 on A; lora-B 0.2 vs 0.3 on B; lora-C failed (left out).
    const own = results.protocols[0]!.ownSet;
    expect(own.map((o) => [o.adapter, o.set, o.lora.value, o.base.value])).toEqual([['lora-A', 'A', 0.6, 0.3], ['lora-B', 'B', 0.2, 0.3]]);
    expect(own[0]!.diff.mean).toBeCloseTo(0.3, 12);
    expect(own[0]!.mcnemar).toEqual({ b: 6, c: 0, p: expect.closeTo(2 / 2 ** 6, 12) });
    expect(own[1]!.diff.mean).toBeCloseTo(-0.1, 12);
    expect(own[1]!.mcnemar).toEqual({ b: 0, c: 2, p: 0.5 });
    // Held-out A has no generated LoRAs: nothing to pair.
    expect(results.protocols[0]!.heldOut.find((h) => h.set === 'A')!.paired).toEqual([]);
  });

  it('subsamples with the fixed seed and records it, per protocol', async () => {
    const p = plan();
    const cfg = resolveEvaluatorConfig({ maxItemsPerSet: 7, seed: 42, crossMatrix: false });
    const r1 = await runEvaluation(p, cfg, new FakeModel(allItems(p)));
    const r2 = await runEvaluation(p, cfg, new FakeModel(allItems(p)));
    expect(r1.results.sets.map((s) => [s.n, s.total, s.subsampleSeed])).toEqual([[7, 20, 42], [7, 20, 42], [7, 20, 42]]);
    // The knowledge protocol takes up to 1,000 items: all 20 here.
    expect(r1.results.protocols[1]!.sets.map((s) => [s.n, s.total, s.subsampleSeed])).toEqual([[20, 20, null], [20, 20, null], [20, 20, null]]);
    const ids = (r: typeof r1) => r.rows.filter((x) => x.adapter === 'base' && x.set === 'C' && x.protocol === 'paper').map((x) => x.itemId);
    expect(ids(r1)).toEqual(ids(r2));
    expect(ids(r1).length).toBe(7);
    // Without the cross matrix a LoRA is scored only on held-out sets it was not trained on.
    // The knowledge protocol scores each LoRA on its own set too (the own-set comparison).
    expect(r1.results.cells.filter((c) => c.adapter === 'lora-A').map((c) => [c.set, c.protocol])).toEqual([['C', 'paper'], ['A', 'knowledge'], ['C', 'knowledge']]);
    expect(r1.results.protocols[0]!.ownSet).toEqual([]);
    expect(r1.results.protocols[1]!.ownSet.map((o) => o.adapter)).toEqual(['lora-A', 'lora-B']);
  });

  it('scores the full knowledge cross matrix when asked', async () => {
    const p = plan();
    const { rows, results } = await runEvaluation(p, resolveEvaluatorConfig({ protocols: ['knowledge'], knowledge: { crossMatrix: true } }), new FakeModel(allItems(p), 0.3));
    expect(rows.length).toBe(60 * 4 + 20 + 20 + 40);
    expect(results.cross.cells.every((row) => row.every((c) => c !== null))).toBe(true);
  });

  it('reports acc_norm as the headline when asked, with acc beside it in the cells', async () => {
    const p = plan();
    const { results } = await runEvaluation(p, resolveEvaluatorConfig({ protocols: ['knowledge'], knowledge: { metric: 'acc_norm' } }), new FakeModel(allItems(p), 0.3));
    expect(results.metric).toBe('acc_norm');
    for (const h of results.heldOut) {
      const cell = results.cells.find((c) => c.adapter === 'base' && c.set === h.set && c.protocol === 'knowledge')!;
      expect(h.base).toEqual(cell.accNorm);
    }
    // The fake model's winner scores -2 and the rest -2.5 - 0.1 index: dividing by length favours long choices, so acc_norm differs.
    const c = results.cells.find((x) => x.adapter === 'base' && x.set === 'C')!;
    expect(c.accNorm!.correct).not.toBe(c.acc.correct);
  });

  it('refuses an adapter made for another base model before scoring anything', async () => {
    const p = plan();
    p.generated[1]!.adapter = fakeAdapter(0.5, 'other/model-7b');
    const model = new FakeModel(allItems(p));
    await expect(runEvaluation(p, resolveEvaluatorConfig(), model)).rejects.toThrow(/adapter "generated:C#1": made for other\/model-7b/);
    expect(model.calls).toBe(0);
  });

  it('refuses an adapter whose shapes do not fit the base', async () => {
    const p = plan();
    p.trainingLoras[0]!.adapter = fakeAdapter(0.5, 'fake/base-1', [4, 2]);
    await expect(runEvaluation(p, resolveEvaluatorConfig(), new FakeModel(allItems(p)))).rejects.toThrow(/lora-A.*shape \[4,2\]/);
  });

  it('refuses unlabeled, empty and unknown held-out sets', async () => {
    const p = plan();
    p.sets[1]!.items = p.sets[1]!.items.map((it) => ({ ...it, gold: null }));
    await expect(runEvaluation(p, resolveEvaluatorConfig(), new FakeModel(allItems(p)))).rejects.toThrow(/set "B" has 20 of 20 items without labels/);
    const q = plan();
    q.sets[0]!.items = [];
    await expect(runEvaluation(q, resolveEvaluatorConfig(), new FakeModel([]))).rejects.toThrow(/set "A" is empty/);
    const r = plan();
    r.heldOut = ['Z'];
    await expect(runEvaluation(r, resolveEvaluatorConfig(), new FakeModel(allItems(r)))).rejects.toThrow(/held-out set "Z" is not among the sets/);
  });
});

describe('runEvaluation diagnostics (probe LoRAs)', () => {
  function probed(): EvaluationPlan {
    const p = plan();
    p.probes = [
      { kind: 'promptSwap', scoredOn: 'C', promptsFrom: 'A', sample: 0, adapter: fakeAdapter(0.5) },
      { kind: 'promptSwap', scoredOn: 'C', promptsFrom: 'B', sample: 0, adapter: fakeAdapter(0.9) },
      { kind: 'promptSwap', scoredOn: 'C', promptsFrom: 'B', sample: 1, adapter: fakeAdapter(0.7) },
      { kind: 'inDistribution', scoredOn: 'A', promptsFrom: 'A', sample: 0, adapter: fakeAdapter(0.5) },
    ];
    return p;
  }
  it('prompt swap: each set\'s prompts scored on the held-out set, and whether the own prompts win', async () => {
    const p = probed();
    const { results } = await runEvaluation(p, resolveEvaluatorConfig({ protocols: ['knowledge'], crossMatrix: false }), new FakeModel(allItems(p), 0.3));
    const [swap] = results.protocols[0]!.promptSwap;
    expect(swap!.set).toBe('C');
    expect(swap!.rows.map((r) => [r.promptsFrom, r.own, r.k, r.value])).toEqual([['C', true, 2, 0.7], ['A', false, 1, 0.5], ['B', false, 2, 0.8]]);
    expect(swap!.ownBest).toBe(false); // B's prompts (0.8) beat C's own (0.7)
    // In-distribution: generated from A's prompts (0.5) against lora-A (0.6) and the base (0.3) on A, scored even without the cross matrix.
    const [ind] = results.protocols[0]!.inDistribution;
    expect(ind).toMatchObject({ set: 'A', ownLora: 'lora-A', base: { value: 0.3 }, own: { value: 0.6 }, generated: { k: 1, value: 0.5 } });
    expect(ind!.recovered).toBeCloseTo(2 / 3, 12);
    expect(ind!.cosine).toBeCloseTo(deltaCosine(p.probes![3]!.adapter, p.trainingLoras[0]!.adapter!), 12);
    // Spread over generated LoRAs grouped by whose prompts made them: C (2), A (1: draw A#0 is both the swap and
    // the in-distribution probe, counted once, so no zero distance enters A's spread), B (2).
    expect(results.spread!.within.map((w) => [w.group, w.count, w.meanDistance === null])).toEqual([['C', 2, false], ['A', 1, true], ['B', 2, false]]);
    expect(results.spread!.ratio).not.toBeNull();
    // The report explains the protocols the run has, and only those.
    const md = renderMarkdown(results);
    expect(md).toContain('Knowledge protocol: the log-likelihood of " " + each choice text');
    expect(md).not.toContain('Paper protocol');
  });
  it('scoringJobs counts the item-adapter pairs the evaluation scores (the rule a run\'s ETA uses), under every setting', async () => {
    const settings = [
      {}, { crossMatrix: false }, { protocols: ['knowledge'] as const, crossMatrix: false },
      { knowledge: { metric: 'acc' as const, maxItemsPerSet: 0, crossMatrix: true } }, { maxItemsPerSet: 7 },
    ];
    for (const make of [plan, probed]) {
      for (const extra of settings) {
        for (const average of [undefined, false]) {
          const p = make();
          if (average === false) p.averageTrainingLoras = false;
          const cfg = resolveEvaluatorConfig({ ...extra, protocols: [...(extra.protocols ?? ['paper', 'knowledge'])] });
          let total = -1;
          await runEvaluation(p, cfg, new FakeModel(allItems(p), 0.3), (q) => { total = q.items.total; });
          const jobs = scoringJobs({
            sets: p.sets.map((x) => x.name), heldOut: p.heldOut,
            trainingLoras: p.trainingLoras.map((l) => ({ name: l.name, trainedOn: l.trainedOn, usable: Boolean(l.adapter) && !l.failed })),
            generated: p.generated, probes: p.probes ?? [],
            ...(average === false ? { averageTrainingLoras: false } : {}),
          }, cfg);
          const limit = (q: 'paper' | 'knowledge') => (q === 'knowledge' ? cfg.knowledge.maxItemsPerSet : cfg.maxItemsPerSet);
          const pairs = scoringPairs(jobs, cfg.protocols, (q) => (limit(q) > 0 ? Math.min(limit(q), 20) : 20));
          expect([make.name, extra, average, cfg.protocols.reduce((a, q) => a + pairs[q], 0)]).toEqual([make.name, extra, average, total]);
        }
      }
    }
  });

  it('refuses probes that cannot be compared', async () => {
    const cfg = resolveEvaluatorConfig({ protocols: ['knowledge'] });
    const bad = async (probe: NonNullable<EvaluationPlan['probes']>[number], re: RegExp) => {
      const p = plan();
      p.probes = [probe];
      await expect(runEvaluation(p, cfg, new FakeModel(allItems(p)))).rejects.toThrow(re);
    };
    await bad({ kind: 'promptSwap', scoredOn: 'B', promptsFrom: 'A', sample: 0, adapter: fakeAdapter(0.5) }, /scored on a held-out set, and "B" is not one/);
    await bad({ kind: 'promptSwap', scoredOn: 'C', promptsFrom: 'C', sample: 0, adapter: fakeAdapter(0.5) }, /own prompts are its generated LoRAs/);
    await bad({ kind: 'inDistribution', scoredOn: 'C', promptsFrom: 'C', sample: 0, adapter: fakeAdapter(0.5) }, /no usable training LoRA of "C"/);
    await bad({ kind: 'inDistribution', scoredOn: 'A', promptsFrom: 'B', sample: 0, adapter: fakeAdapter(0.5) }, /comes from its own set's prompts/);
  });
});

describe('EvaluatorConfig protocols', () => {
  it('refuses an empty, unknown or repeated protocol list and a knowledge limit under 1,000', () => {
    expect(() => resolveEvaluatorConfig({ protocols: [] })).toThrow(/protocols must list at least one/);
    expect(() => resolveEvaluatorConfig({ protocols: ['paper', 'vibes'] })).toThrow(/protocols\[\] must be one of "paper", "knowledge", got "vibes"/);
    expect(() => resolveEvaluatorConfig({ protocols: ['paper', 'paper'] })).toThrow(/lists a protocol twice/);
    expect(() => resolveEvaluatorConfig({ knowledge: { maxItemsPerSet: 500 } })).toThrow(/knowledge.maxItemsPerSet must be 0 \(the full test split\) or at least 1000, got 500/);
    expect(resolveEvaluatorConfig({ knowledge: { maxItemsPerSet: 0 } }).knowledge).toEqual({ metric: 'acc', metricBySet: null, maxItemsPerSet: 0, crossMatrix: false });
    expect(() => resolveEvaluatorConfig({ knowledge: { crossMatrix: 'yes' } } as never)).toThrow(/knowledge.crossMatrix must be a boolean/);
  });
});
