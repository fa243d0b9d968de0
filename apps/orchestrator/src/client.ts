// Client-side operations of the dnd command: start a pipeline, read its progress (the `progress` query
// plus the heartbeats of pending activities), cancel, and the nightly Schedule. Not the worker.
import { Client, Connection, ScheduleOverlapPolicy, WorkflowNotFoundError, type WorkflowHandle } from '@temporalio/client';
import { execFileSync } from 'child_process';
import { defaultPayloadConverter } from '@temporalio/common';
import { canonicalJson, sha256Hex } from '@dnd/core';
import { resolveEvaluatorConfig, scoringJobs, scoringPairs, type EvalProtocol, type EvaluatorConfig } from '@dnd/evaluator';
import { plannedSteps } from './run-plan';
import { connectOptions, type TemporalConnectionConfig } from './connection-options';
import { explainConnect, type AddressSource } from './connection-error';
import type { LeaveOneOutInput, NightlyInput, PipelineInput, PipelineResult, Progress, RunConfig } from './types';

/**
 * Connects to `address` (a cluster or the embedded dev server) with the TLS / API key settings of `security`
 * (resolveConnection in connection-options.ts; none: plain TCP); a failure names the address, where it came
 * from, and what to check.
 * @example await connectClient('ns.acct.tmprl.cloud:7233', 'ns.acct', resolveConnection({}))
 */
export async function connectClient(address: string, namespace = 'default', security: Pick<TemporalConnectionConfig, 'tls' | 'apiKey'> = { tls: undefined, apiKey: undefined }, source: AddressSource = 'TEMPORAL_ADDRESS'): Promise<Client> {
  const connection = await explainConnect(address, source, () => Connection.connect(connectOptions(security, address)));
  return new Client({ connection, namespace });
}

/** Starts dndPipeline with workflow id = runId on the CPU queue. */
export async function startPipeline(client: Client, input: PipelineInput): Promise<WorkflowHandle> {
  return client.workflow.start('dndPipeline', { taskQueue: input.config.temporal.cpuQueue, workflowId: input.runId, args: [{ runMeta: runMetaOf(input.config), ...input }] });
}

/** When a run starts, the commit of the code (when run from a git checkout) and its config's digest: for the report. */
export function runMetaOf(config: RunConfig): NonNullable<PipelineInput['runMeta']> {
  let commit: string | undefined;
  try {
    commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: __dirname, stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 }).toString().trim() || undefined;
  } catch { /* not a checkout, or no git */ }
  return { date: new Date().toISOString(), ...(commit ? { commit } : {}), configDigest: sha256Hex(canonicalJson(config)) };
}

/** Starts leaveOneOut with workflow id = runId on the CPU queue. */
export async function startLeaveOneOut(client: Client, input: LeaveOneOutInput): Promise<WorkflowHandle> {
  return client.workflow.start('leaveOneOut', { taskQueue: input.config.temporal.cpuQueue, workflowId: input.runId, args: [{ runMeta: runMetaOf(input.config), ...input }] });
}

/** One line of progress: a workflow and what it is doing now. */
export interface ProgressLine {
  workflowId: string;
  status: string;
  stage?: string;
  /** Pending activities of that workflow with their last heartbeat. */
  activities: Array<{ type: string; attempt: number; progress: Progress | null; lastFailure?: string }>;
}

/**
 * Walks a run's open workflow tree from DescribeWorkflowExecution alone (pending children and pending
 * activities with their last heartbeat), so it answers even when no worker is running. The richer
 * `progress` query of each workflow is there for `temporal workflow query --type progress`.
 */
export async function collectProgress(client: Client, workflowId: string, depth = 0): Promise<ProgressLine[]> {
  let desc;
  try {
    desc = await client.workflow.getHandle(workflowId).describe();
  } catch (e) {
    if (e instanceof WorkflowNotFoundError) return [];
    throw e;
  }
  const line: ProgressLine = { workflowId, status: desc.status.name, activities: [] };
  const out = [line];
  if (desc.status.name !== 'RUNNING') return out;
  for (const a of desc.raw.pendingActivities ?? []) {
    const payload = a.heartbeatDetails?.payloads?.[0];
    let progress: Progress | null = null;
    try {
      progress = payload ? (defaultPayloadConverter.fromPayload(payload as any) as Progress) : null;
    } catch { /* undecodable details: leave null */ }
    line.activities.push({ type: a.activityType?.name ?? '?', attempt: a.attempt ?? 1, progress, lastFailure: a.lastFailure?.message ?? undefined });
  }
  // Sorted: Temporal lists pending children in no fixed order, and a redrawn line must not reshuffle.
  const children = (desc.raw.pendingChildren ?? []).map((c) => c.workflowId ?? '').filter(Boolean).sort();
  line.stage = children.length ? children.map((c) => c.slice(c.lastIndexOf('/') + 1)).join(', ') : undefined;
  if (depth < 4) for (const c of children) out.push(...(await collectProgress(client, c, depth + 1)));
  return out;
}

const shorten = (t: string, n: number): string => (t.length > n ? `${t.slice(0, n - 3)}...` : t);

/**
 * Renders progress lines as text, one per workflow, e.g. `run-1/zoo/boolq  [collectSet 2/3 boolq snapshot loss 0.41
 * (attempt 2; the last failed: activity Heartbeat timeout)]` (the note the step heartbeats, cut to 90 characters; the
 * previous attempt's failure, its first line cut to 120).
 */
export function formatProgress(lines: ProgressLine[]): string {
  return lines.map((l) => {
    const acts = l.activities.map((a) => {
      const note = typeof a.progress?.note === 'string' && a.progress.note ? ` ${shorten(a.progress.note, 90)}` : '';
      // A retry says why the attempt before it failed (the first line, shortened): the reason a run is not moving.
      const why = a.lastFailure ? `; the last failed: ${shorten(a.lastFailure.split('\n')[0]!, 120)}` : '';
      return `${a.type}${a.progress && a.progress.total ? ` ${a.progress.done}/${a.progress.total}` : ''}${note}${a.attempt > 1 ? ` (attempt ${a.attempt}${why})` : ''}`;
    });
    return `${l.workflowId}  ${l.status === 'RUNNING' ? (l.stage ?? 'running') : l.status}${acts.length ? `  [${acts.join(', ')}]` : ''}`;
  }).join('\n');
}

/** One stage of a run (a step workflow) with its estimated cost, for the overall progress and ETA. */
export interface PlanStage {
  /** Workflow id of the step, e.g. `run-1/heldout-boolq/train`. */
  id: string;
  kind: 'collect' | 'pairs' | 'train' | 'evaluate';
  /** Estimated seconds on 2 CPU cores (UNIT_SECONDS x units). */
  estSec: number;
}

/**
 * Seconds per unit of work measured on the reference machine (2 CPU cores, tensorflow backend, SmolLM2-135M,
 * docs/quickstart-design.md and docs/results.md): a collection step per training example, a decoder step per
 * batch element, one item per adapter scored by generation (the paper protocol) and by log-likelihood (the
 * knowledge protocol: about half, 0.16 s against 0.32 s measured on the same day), and a fixed cost for pairs.
 * Only their ratios matter for the ETA: the run's own pace rescales them as soon as some work is done.
 */
export const UNIT_SECONDS = { collectExample: 0.27, decoderExample: 0.25, scoredItem: 0.25, knowledgeItem: 0.125, pairs: 10 };

/**
 * Estimated seconds of one evaluate step: the item-adapter pairs @dnd/evaluator's scoringJobs (the rule the step
 * scores by) gives for its held-out sets, training LoRAs (the zoo without the held-out sets), K generated LoRAs
 * per held-out set and the diagnostics' probes, at `itemsPerSet` items (the protocol's limit; 500 for "all").
 */
function evaluateSeconds(e: Record<string, unknown>, heldOut: readonly string[], zoo: readonly string[]): number {
  const ev = (e['evaluator'] ?? {}) as Record<string, unknown>;
  // The demo steps have no evaluator config: one unit per adapter and set, as before.
  if (!Array.isArray(ev['protocols'])) return heldOut.length * (1 + zoo.length + 1 + num(e, 'samples')) * num(ev, 'maxItemsPerSet') * UNIT_SECONDS.scoredItem;
  const cfg = resolveEvaluatorConfig(ev as Partial<EvaluatorConfig>);
  const diag = (e['diagnostics'] ?? {}) as { promptSwap?: boolean; inDistribution?: boolean; samples?: number };
  const training = zoo.filter((z) => !heldOut.includes(z));
  const K = num(e, 'samples'); const D = diag.samples ?? 1;
  const draws = (n: number) => Array.from({ length: n }, (_, k) => k);
  const probes = [
    ...(diag.promptSwap ? training.flatMap((s) => heldOut.flatMap((h) => draws(D).map((k) => ({ kind: 'promptSwap' as const, scoredOn: h, promptsFrom: s, sample: k })))) : []),
    ...(diag.inDistribution ? training.flatMap((s) => draws(D).map((k) => ({ kind: 'inDistribution' as const, scoredOn: s, promptsFrom: s, sample: k }))) : []),
  ];
  const jobs = scoringJobs({
    sets: [...heldOut, ...(diag.inDistribution ? training : [])], heldOut,
    trainingLoras: training.map((s) => ({ name: s, trainedOn: s, usable: true })),
    generated: heldOut.flatMap((h) => draws(K).map((k) => ({ heldOut: h, sample: k }))), probes,
  }, cfg);
  const limit = (p: EvalProtocol) => (p === 'knowledge' ? cfg.knowledge.maxItemsPerSet : cfg.maxItemsPerSet);
  const pairs = scoringPairs(jobs, cfg.protocols, (p) => (limit(p) > 0 ? limit(p) : 500));
  return cfg.protocols.reduce((a, p) => a + pairs[p] * (p === 'knowledge' ? UNIT_SECONDS.knowledgeItem : UNIT_SECONDS.scoredItem), 0);
}

/** A count from a resolved step config; 1 where the steps have no such field (the demo steps), so they weigh one unit. */
const num = (o: Record<string, unknown> | undefined, k: string): number => (typeof o?.[k] === 'number' ? (o[k] as number) : 1);

/**
 * The stages a run will go through, with estimated costs from its config: `leaveOneOut` collects every set,
 * then runs pairs/train/evaluate once per held-out set; `dndPipeline` collects the training sets (all sets
 * with collectHeldOut) and runs each step once.
 * @example runPlan('leaveOneOut', 'cs-1', config).reduce((a, s) => a + s.estSec, 0) // ~4000 s
 */
export function runPlan(workflow: 'dndPipeline' | 'leaveOneOut', runId: string, config: RunConfig): PlanStage[] {
  const c = config.steps.collectSet, t = config.steps.trainGenerator, e = config.steps.evaluate;
  const collectSec = (num(c, 'warmupSteps') + num(c, 'snapshotSteps')) * num(c, 'batchSize') * UNIT_SECONDS.collectExample;
  const trainSec = num(t['train'] as Record<string, unknown>, 'totalSteps') * num(t, 'batchSize') * UNIT_SECONDS.decoderExample;
  return plannedSteps(workflow, runId, config).map((s): PlanStage => {
    if (s.kind === 'collect') return { id: s.id, kind: s.kind, estSec: collectSec };
    if (s.kind === 'pairs') return { id: s.id, kind: s.kind, estSec: UNIT_SECONDS.pairs };
    if (s.kind === 'train') return { id: s.id, kind: s.kind, estSec: trainSec };
    return { id: s.id, kind: s.kind, estSec: evaluateSeconds(e, s.heldOut!, s.zoo!) };
  });
}

/** Overall progress of a run: the estimated-cost-weighted fraction done and, once calibrated, the time left. */
export interface OverallProgress {
  fraction: number;
  stagesDone: number;
  stages: number;
  elapsedSec: number;
  /** Seconds left at this run's pace (null until enough work was done in this session to measure it). */
  etaSec: number | null;
  /** Seconds left at the plan's unit costs, before any pace is applied. */
  estimateLeftSec: number;
}

/** A step workflow's status name (`COMPLETED`, `RUNNING`, ...), or null when it does not exist yet. */
export type StatusOf = (workflowId: string) => Promise<string | null>;

/** StatusOf through DescribeWorkflowExecution. */
export function describeStatus(client: Client): StatusOf {
  return async (id) => {
    try {
      return (await client.workflow.getHandle(id).describe()).status.name;
    } catch {
      return null; // not started yet
    }
  };
}

/**
 * Tracks a plan's progress across polls: finished steps from their workflow status, running ones from their
 * activity heartbeats (done/total). The ETA is each step's estimated seconds left times the pace measured for
 * its kind (collect, train, evaluate: wall seconds per estimated second, from the time between polls in which
 * that kind made progress), or the overall pace for a kind not seen yet. Only steps seen working (a heartbeat
 * with done/total) count toward a pace: steps that finish without that (cached outputs, work done before this
 * command) count as done, not as pace, so a run resumed on a cached zoo does not promise to end in a minute.
 * A step's fraction never goes down between polls, so neither does the overall one.
 */
export class RunEta {
  private readonly completed = new Set<string>();
  private readonly working = new Set<string>();
  private readonly lastFraction = new Map<string, number>();
  private readonly paced = new Map<PlanStage['kind'], { sec: number; est: number }>();
  private readonly start = Date.now();
  private last = Date.now();
  private busyBefore = new Set<PlanStage['kind']>();
  private readonly total: number;

  constructor(readonly plan: PlanStage[]) {
    this.total = plan.reduce((a, s) => a + s.estSec, 0);
  }

  async update(statusOf: StatusOf, lines: ProgressLine[]): Promise<OverallProgress> {
    const running = new Map(lines.map((l) => [l.workflowId, l]));
    const now = Date.now();
    let doneSec = 0;
    const total = this.total;
    const gained = new Map<PlanStage['kind'], number>(); // estimated seconds worked off since the last poll, by kind
    const busy = new Set<PlanStage['kind']>(); // kinds with a step working now
    for (const s of this.plan) {
      let fraction = 0;
      const l = running.get(s.id);
      if (this.completed.has(s.id)) {
        fraction = 1;
      } else if (l && l.status === 'RUNNING') {
        const p = l.activities.find((a) => a.progress && a.progress.total > 0)?.progress;
        if (p) {
          fraction = Math.min(1, p.done / p.total);
          this.working.add(s.id);
          busy.add(s.kind);
        }
      } else if ((await statusOf(s.id)) === 'COMPLETED') {
        this.completed.add(s.id);
        fraction = 1;
      }
      const before = this.lastFraction.get(s.id);
      // Never backwards: a step between attempts (no heartbeat yet) or restarting from its last checkpoint
      // keeps the share it had reached; the overall figure only grows.
      if (before !== undefined && fraction < before) fraction = before;
      if (before !== undefined && this.working.has(s.id) && fraction > before) gained.set(s.kind, (gained.get(s.kind) ?? 0) + s.estSec * (fraction - before));
      this.lastFraction.set(s.id, fraction);
      doneSec += s.estSec * fraction;
    }
    // The wall time since the last poll goes to the kinds that progressed (in proportion), else to those that
    // were working at the last poll (a step between heartbeats), else to nobody (waiting, cached steps).
    const dt = (now - this.last) / 1000;
    const was = this.busyBefore;
    this.last = now;
    this.busyBefore = busy;
    const sumGained = [...gained.values()].reduce((a, b) => a + b, 0);
    const share = (k: PlanStage['kind']) => (sumGained > 0 ? (gained.get(k) ?? 0) / sumGained : was.has(k) ? 1 / was.size : 0);
    for (const k of new Set([...gained.keys(), ...was])) {
      const p = this.paced.get(k) ?? { sec: 0, est: 0 };
      this.paced.set(k, { sec: p.sec + dt * share(k), est: p.est + (gained.get(k) ?? 0) });
    }
    const all = [...this.paced.values()].reduce((a, p) => ({ sec: a.sec + p.sec, est: a.est + p.est }), { sec: 0, est: 0 });
    // Calibrated once this session saw a minute (and 2%) of the estimate worked off: before that the pace is noise.
    let etaSec: number | null = null;
    if (all.est >= Math.max(0.02 * total, 60)) {
      const pace = (k: PlanStage['kind']) => { const p = this.paced.get(k); return p && p.est >= 30 ? p.sec / p.est : all.sec / all.est; };
      etaSec = this.plan.reduce((a, s) => a + s.estSec * (1 - (this.lastFraction.get(s.id) ?? 0)) * pace(s.kind), 0);
    }
    return {
      fraction: total > 0 ? doneSec / total : 0, stagesDone: this.completed.size, stages: this.plan.length,
      elapsedSec: (now - this.start) / 1000, etaSec, estimateLeftSec: total - doneSec,
    };
  }
}

function minutes(sec: number): string {
  const m = Math.round(sec / 60);
  return m >= 60 ? `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m` : `${m}m`;
}

/** `overall 42% (7/20 steps) · 12m elapsed · ETA 31m (00:41 UTC)`, or `ETA ~55m (from unit costs; ...)` before the pace is known. */
export function formatOverall(o: OverallProgress): string {
  const head = `overall ${Math.floor(o.fraction * 100)}% (${o.stagesDone}/${o.stages} steps) · ${minutes(o.elapsedSec)} elapsed`;
  if (o.etaSec !== null) return `${head} · ETA ${minutes(o.etaSec)} (${new Date(Date.now() + o.etaSec * 1000).toISOString().slice(11, 16)} UTC)`;
  return `${head} · ETA ~${minutes(o.estimateLeftSec)} (from unit costs; measured once under way)`;
}

/** One poll of a run: its workflow tree, the overall progress (when a plan is given) and both rendered as text. */
export interface RunSnapshot {
  lines: ProgressLine[];
  overall: OverallProgress | null;
  /** `formatOverall` (when there is a plan) over `formatProgress`. */
  text: string;
}

/**
 * Waits for a pipeline, calling `onProgress` with each poll whose rendered text changed (headed by the overall
 * line when `plan` is given). What to print is the caller's (progress-view.ts).
 * @example await followRun(client, handle, (s) => view.update(s), 1000, runPlan('dndPipeline', id, config))
 */
export async function followRun(client: Client, handle: WorkflowHandle, onProgress: (snapshot: RunSnapshot) => void, everyMs = 1000, plan?: PlanStage[]): Promise<PipelineResult> {
  let last = '';
  let done = false;
  const eta = plan ? new RunEta(plan) : null;
  const statusOf = describeStatus(client);
  const poll = (async () => {
    while (!done) {
      try {
        const lines = await collectProgress(client, handle.workflowId);
        const overall = eta ? await eta.update(statusOf, lines) : null;
        const text = overall ? `${formatOverall(overall)}\n${formatProgress(lines)}` : formatProgress(lines);
        if (text !== last && !done) onProgress({ lines, overall, text });
        last = text;
      } catch { /* transient: try again */ }
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  try {
    return (await handle.result()) as PipelineResult;
  } finally {
    done = true;
    await poll;
  }
}

/** Options of the nightly Schedule. */
export interface NightlyScheduleOptions {
  scheduleId?: string;
  cron: string;
  config: RunConfig;
  generatorAlias?: string;
  timezone?: string;
}

/**
 * Creates (or replaces) the Schedule that starts nightlyEvaluation on `cron`; overlapping runs are skipped.
 * @example await createNightlySchedule(client, { cron: '0 3 * * *', config })
 */
export async function createNightlySchedule(client: Client, o: NightlyScheduleOptions): Promise<string> {
  const scheduleId = o.scheduleId ?? 'dnd-nightly';
  const input: NightlyInput = { config: o.config, generatorAlias: o.generatorAlias ?? 'latest-generator' };
  try {
    await client.schedule.getHandle(scheduleId).delete();
  } catch { /* absent */ }
  await client.schedule.create({
    scheduleId,
    spec: { cronExpressions: [o.cron], timezone: o.timezone },
    action: { type: 'startWorkflow', workflowType: 'nightlyEvaluation', taskQueue: o.config.temporal.cpuQueue, workflowId: `${scheduleId}-run`, args: [input] },
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 hour' },
  });
  return scheduleId;
}
