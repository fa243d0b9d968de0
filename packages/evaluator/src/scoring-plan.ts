// Which adapter is scored on which set under each protocol, from the names alone: the one rule that
// runEvaluation scores by and that a run's ETA (the orchestrator's run plan) counts item-adapter pairs with,
// so the two never disagree. Pure; no LoRA weights, no items. Not the scoring (run-evaluation.ts).
import type { EvalProtocol, EvaluatorConfig } from './config';
import { generatedName, probeName } from './diagnostics';
import type { CellResult } from './held-out-summary';

/** An evaluation's adapters and sets by name: what scoringJobs needs to know. Generated LoRAs and probes are named by scoringJobs (generatedName, probeName). */
export interface ScoringShape {
  /** Every scored set (held-out sets, and the training sets that in-distribution probes score on). */
  sets: readonly string[];
  heldOut: readonly string[];
  /** `usable`: has an adapter and did not fail (only usable LoRAs enter an average). */
  trainingLoras: ReadonlyArray<{ name: string; trainedOn: string; usable: boolean }>;
  generated: ReadonlyArray<{ heldOut: string; sample: number }>;
  probes?: ReadonlyArray<{ kind: 'promptSwap' | 'inDistribution'; scoredOn: string; promptsFrom: string; sample: number }>;
  /** Score the average of the usable training LoRAs not trained on each held-out set (default true). */
  averageTrainingLoras?: boolean;
}

/** One adapter and the sets it is scored on, per protocol; an averaged LoRA names its members. */
export interface ScoringJob {
  adapter: string;
  role: CellResult['role'];
  sets: Record<EvalProtocol, string[]>;
  /** The training LoRAs an averaged LoRA averages (role 'averaged'). */
  members?: string[];
  /** The held-out sets an averaged LoRA is the baseline of (role 'averaged'). */
  averagedFor?: string[];
}

/**
 * The jobs of an evaluation under `cfg`: base on every set with the cross matrix, else where something is compared
 * with it (held-out sets, probes' sets); each training LoRA on every set with the cross matrix, else on the held-out
 * sets it was not trained on (and on its own set where an in-distribution probe is scored); per held-out set the
 * average of the usable training LoRAs not trained on it (one job per distinct average); each generated LoRA and
 * probe on its set. The knowledge protocol without its own cross matrix scores base and training LoRAs on the
 * held-out sets and on their own sets (and the base on every LoRA's and probe's set); with it, on every set.
 */
export function scoringJobs(shape: ScoringShape, cfg: Pick<EvaluatorConfig, 'protocols' | 'crossMatrix' | 'knowledge'>): ScoringJob[] {
  const { sets: setNames, heldOut } = shape;
  const probes = shape.probes ?? [];
  type Draft = { adapter: string; role: CellResult['role']; sets: string[]; trainedOn?: string; members?: string[]; averagedFor?: string[] };
  // Without the cross matrix the base is scored where something is compared with it: the held-out sets and the probes' sets.
  const probeSets = new Set(probes.map((p) => p.scoredOn));
  const drafts: Draft[] = [{ adapter: 'base', role: 'base', sets: cfg.crossMatrix ? [...setNames] : setNames.filter((s) => heldOut.includes(s) || probeSets.has(s)) }];
  for (const l of shape.trainingLoras) {
    drafts.push({ adapter: l.name, role: 'training', trainedOn: l.trainedOn, sets: cfg.crossMatrix ? [...setNames] : heldOut.filter((h) => h !== l.trainedOn) });
  }
  for (const h of shape.averageTrainingLoras === false ? [] : heldOut) {
    const members = shape.trainingLoras.filter((l) => l.trainedOn !== h && l.usable).map((l) => l.name);
    if (members.length === 0) continue;
    const key = `averaged(${members.join('+')})`;
    const existing = drafts.find((j) => j.adapter === key);
    if (existing) { existing.sets.push(h); existing.averagedFor!.push(h); continue; }
    drafts.push({ adapter: key, role: 'averaged', sets: [h], members, averagedFor: [h] });
  }
  for (const g of shape.generated) drafts.push({ adapter: generatedName(g), role: 'generated', sets: [g.heldOut] });
  for (const p of probes) {
    drafts.push({ adapter: probeName(p), role: 'probe', sets: [p.scoredOn] });
    if (p.kind === 'inDistribution') {
      // The own LoRA must be scored on its own set (it is with the cross matrix; add it otherwise).
      for (const j of drafts) if (j.role === 'training' && j.trainedOn === p.scoredOn && !j.sets.includes(p.scoredOn)) j.sets.push(p.scoredOn);
    }
  }
  // The knowledge protocol scores up to 1,000 items per set: without its own cross matrix, base and training
  // LoRAs are scored there only on the held-out sets and on their own (and the base on every LoRA's and probe's set).
  const ownSets = new Set([...shape.trainingLoras.map((l) => l.trainedOn), ...probes.map((p) => p.scoredOn)]);
  const setsFor = (j: Draft, protocol: EvalProtocol): string[] => {
    if (protocol !== 'knowledge' || cfg.knowledge.crossMatrix) return protocol === 'knowledge' && (j.role === 'base' || j.role === 'training') ? [...setNames] : j.sets;
    if (j.role === 'base') return setNames.filter((s) => heldOut.includes(s) || ownSets.has(s));
    if (j.role === 'training') return setNames.filter((s) => heldOut.includes(s) || s === j.trainedOn);
    return j.sets;
  };
  return drafts.map((j) => ({
    adapter: j.adapter, role: j.role,
    sets: Object.fromEntries(cfg.protocols.map((p) => [p, setsFor(j, p)])) as Record<EvalProtocol, string[]>,
    ...(j.members ? { members: j.members, averagedFor: j.averagedFor! } : {}),
  }));
}

/** Item-adapter pairs the jobs score, per protocol, with `itemsOf(protocol, set)` items on each set. */
export function scoringPairs(jobs: readonly ScoringJob[], protocols: readonly EvalProtocol[], itemsOf: (protocol: EvalProtocol, set: string) => number): Record<EvalProtocol, number> {
  const out = Object.fromEntries(protocols.map((p) => [p, 0])) as Record<EvalProtocol, number>;
  for (const j of jobs) for (const p of protocols) for (const s of j.sets[p] ?? []) out[p] += itemsOf(p, s);
  return out;
}
