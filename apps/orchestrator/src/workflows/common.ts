// Shared workflow plumbing: activity options from the run config, the `progress` query, and the queue
// choice with fallback for GPU-capable steps. Deterministic only (workflow sandbox): no Node built-ins.
import { ActivityFailure, ApplicationFailure, TimeoutFailure, defineQuery, proxyActivities, setHandler, log } from '@temporalio/workflow';
import type { DndActivities } from '../activities';
import type { RunConfig, StepResult, WorkflowProgress } from '../types';

/** Query every dnd workflow answers: stage, children started, steps finished. */
export const progressQuery = defineQuery<WorkflowProgress>('progress');

/** A mutable progress record wired to the `progress` query. */
export function trackProgress(stage: string): WorkflowProgress {
  const p: WorkflowProgress = { stage, children: [], finished: [] };
  setHandler(progressQuery, () => p);
  return p;
}

/**
 * Failure types never retried: `BadInput` (what activities map bad input to), and the error classes that
 * reach Temporal unmapped when thrown outside a step (Temporal uses the error's name as its type):
 * @dnd/core's BadInputError and DiskFullError. ArtifactCorruptError stays retryable on purpose: the entry
 * is quarantined by then, so the next attempt recomputes it.
 */
const NON_RETRYABLE = ['BadInput', 'BadInputError', 'DiskFullError'];

/** Activities with the run's timeouts and retry policy on `taskQueue` (default: the workflow's own). */
export function stepActivities(config: RunConfig, taskQueue?: string, scheduleToStartSec?: number) {
  const t = config.temporal;
  return proxyActivities<DndActivities>({
    taskQueue,
    startToCloseTimeout: t.startToCloseTimeoutSec * 1000,
    heartbeatTimeout: t.heartbeatTimeoutSec * 1000,
    scheduleToStartTimeout: scheduleToStartSec ? scheduleToStartSec * 1000 : undefined,
    retry: {
      initialInterval: t.retry.initialIntervalSec * 1000,
      backoffCoefficient: t.retry.backoffCoefficient,
      maximumInterval: t.retry.maximumIntervalSec * 1000,
      maximumAttempts: t.retry.maximumAttempts,
      nonRetryableErrorTypes: NON_RETRYABLE,
    },
  });
}

/** Short activities (queue choice, aliases, manifest): seconds, a few retries. */
export function quickActivities() {
  return proxyActivities<DndActivities>({ startToCloseTimeout: 60_000, retry: { initialInterval: 1000, maximumAttempts: 5, nonRetryableErrorTypes: NON_RETRYABLE } });
}

/**
 * Runs a GPU-capable step on the GPU queue when a GPU worker is present, else on the CPU queue; if
 * the GPU task waits longer than gpuScheduleToStartSec (the GPU worker went away), reruns it on the CPU queue.
 */
export async function onBestQueue(config: RunConfig, run: (acts: ReturnType<typeof stepActivities>) => Promise<StepResult>): Promise<StepResult> {
  const t = config.temporal;
  const choice = await quickActivities().pickQueue({ cpuQueue: t.cpuQueue, gpuQueue: t.gpuQueue, windowSec: t.gpuPresenceWindowSec, namespace: t.namespace });
  log.info(`queue: ${choice.queue} (${choice.reason})`);
  if (choice.queue === t.cpuQueue) return run(stepActivities(config, t.cpuQueue));
  try {
    return await run(stepActivities(config, t.gpuQueue, t.gpuScheduleToStartSec));
  } catch (e) {
    if (e instanceof ActivityFailure && e.cause instanceof TimeoutFailure && e.cause.timeoutType === 'SCHEDULE_TO_START') {
      log.warn(`no GPU worker picked the task within ${t.gpuScheduleToStartSec}s: running on ${t.cpuQueue}`);
      return run(stepActivities(config, t.cpuQueue));
    }
    throw e;
  }
}

/** Fails the workflow for input that can never succeed (no retries). */
export function badInput(message: string): never {
  throw ApplicationFailure.create({ message, type: 'BadInput', nonRetryable: true });
}
