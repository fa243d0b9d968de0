// Client-side operations of the dnd command: start a pipeline, read its progress (the `progress` query
// plus the heartbeats of pending activities), cancel, and the nightly Schedule. Not the worker.
import { Client, Connection, ScheduleOverlapPolicy, WorkflowNotFoundError, type WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { LeaveOneOutInput, NightlyInput, PipelineInput, PipelineResult, Progress, RunConfig } from './types';

/** Connects to `address` (TEMPORAL_ADDRESS or the embedded dev server). */
export async function connectClient(address: string, namespace = 'default'): Promise<Client> {
  const connection = await Connection.connect({ address });
  return new Client({ connection, namespace });
}

/** Starts dndPipeline with workflow id = runId on the CPU queue. */
export async function startPipeline(client: Client, input: PipelineInput): Promise<WorkflowHandle> {
  return client.workflow.start('dndPipeline', { taskQueue: input.config.temporal.cpuQueue, workflowId: input.runId, args: [input] });
}

/** Starts leaveOneOut with workflow id = runId on the CPU queue. */
export async function startLeaveOneOut(client: Client, input: LeaveOneOutInput): Promise<WorkflowHandle> {
  return client.workflow.start('leaveOneOut', { taskQueue: input.config.temporal.cpuQueue, workflowId: input.runId, args: [input] });
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
  const children = (desc.raw.pendingChildren ?? []).map((c) => c.workflowId ?? '').filter(Boolean);
  line.stage = children.length ? children.map((c) => c.slice(c.lastIndexOf('/') + 1)).join(', ') : undefined;
  if (depth < 4) for (const c of children) out.push(...(await collectProgress(client, c, depth + 1)));
  return out;
}

/** Renders progress lines as text, one per workflow, e.g. `run-1/zoo/boolq  [collectSet 2/3 boolq snapshot loss 0.41 (attempt 2)]` (the note the step heartbeats, cut to 90 characters). */
export function formatProgress(lines: ProgressLine[]): string {
  return lines.map((l) => {
    const acts = l.activities.map((a) => {
      const note = typeof a.progress?.note === 'string' && a.progress.note ? ` ${a.progress.note.length > 90 ? `${a.progress.note.slice(0, 87)}...` : a.progress.note}` : '';
      return `${a.type}${a.progress && a.progress.total ? ` ${a.progress.done}/${a.progress.total}` : ''}${note}${a.attempt > 1 ? ` (attempt ${a.attempt})` : ''}`;
    });
    return `${l.workflowId}  ${l.status === 'RUNNING' ? (l.stage ?? 'running') : l.status}${acts.length ? `  [${acts.join(', ')}]` : ''}`;
  }).join('\n');
}

/** Waits for a pipeline, calling `onProgress` with the rendered tree whenever it changes. */
export async function followRun(client: Client, handle: WorkflowHandle, onProgress: (text: string) => void, everyMs = 1000): Promise<PipelineResult> {
  let last = '';
  let done = false;
  const poll = (async () => {
    while (!done) {
      try {
        const text = formatProgress(await collectProgress(client, handle.workflowId));
        if (text !== last && !done) onProgress(text);
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
