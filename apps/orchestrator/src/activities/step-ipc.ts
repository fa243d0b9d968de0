// The messages between a step's child process and the activity that owns it (JSON over Node's IPC
// channel), and how an error crosses that boundary. Not the process handling (step-process.ts, step-child.ts).
import type { ArtifactRef } from '@dnd/core';

/** Parent -> child: what to run. `module` exports `factory`, which returns the StepFunctions. */
export interface StartMessage {
  t: 'start';
  module: string;
  factory: string;
  step: 'collectSet' | 'buildPairs' | 'trainGenerator' | 'evaluate';
  input: unknown;
  outDir: string;
  workDir: string;
  /** StepContext.cacheDir, when the activity has one. */
  cacheDir?: string;
  /** The worker's build (build-fingerprint.ts; null from sources): the child refuses to run another. */
  build: string | null;
  resume: { done: number; last: ArtifactRef | null };
  /** Stage workDir for the store at progress calls, at most this often (null: never); see work-sync.ts. */
  workSyncMs: number | null;
}

/** Parent -> child: the answer to a request (`checkpoint`, `resolve`). */
export interface ReplyMessage {
  t: 'reply';
  id: number;
  value?: unknown;
  error?: SerializedError;
}

export type ToChild = StartMessage | ReplyMessage;

/** Child -> parent. `checkpoint` and `resolve` are requests answered by a ReplyMessage with the same id. */
export type FromChild =
  | { t: 'progress'; done: number; total: number; note?: string; staged?: string }
  | { t: 'heartbeat'; note?: string }
  | { t: 'log'; message: string }
  | { t: 'checkpoint'; id: number; index: number; total: number; dir: string }
  | { t: 'resolve'; id: number; ref: ArtifactRef }
  | { t: 'done'; meta: Record<string, unknown>; backend: string | null }
  | { t: 'error'; error: SerializedError };

/** An Error as plain JSON: its class name decides retryability (BadInputError is not retried). */
export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  nonRetryable?: boolean;
  cause?: SerializedError;
}

/** Plain-JSON form of any thrown value, causes included (3 levels). */
export function serializeError(e: unknown, depth = 0): SerializedError {
  if (!(e instanceof Error)) return { name: 'Error', message: String(e) };
  const out: SerializedError = { name: e.name, message: e.message, stack: e.stack };
  if ((e as { nonRetryable?: unknown }).nonRetryable === true) out.nonRetryable = true;
  if (e.cause !== undefined && depth < 3) out.cause = serializeError(e.cause, depth + 1);
  return out;
}

/** The Error a SerializedError stands for (same name, message, stack and cause). */
export function deserializeError(s: SerializedError): Error {
  const e = new Error(s.message, s.cause ? { cause: deserializeError(s.cause) } : undefined);
  e.name = s.name;
  if (s.stack) e.stack = s.stack;
  if (s.nonRetryable) (e as { nonRetryable?: boolean }).nonRetryable = true;
  return e;
}
