// The one error class for input that can never succeed (a malformed set, a bad config value, a corrupt
// file): the orchestrator maps it to a non-retryable Temporal failure in one place. Not for faults a
// retry may fix (I/O hiccups, a busy machine): those stay plain Errors.

/**
 * Input that can never succeed, however often it is retried.
 * @example throw new BadInputError(`set "piqa": line 12 of train.jsonl is not JSON`)
 */
export class BadInputError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BadInputError';
  }
}

/** True for a BadInputError, also one from another copy of this package or a child process (by name). */
export function isBadInput(e: unknown): e is Error {
  return e instanceof BadInputError || (e instanceof Error && e.name === 'BadInputError');
}
