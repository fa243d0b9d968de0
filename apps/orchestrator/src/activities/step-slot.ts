// One step at a time per worker process: model steps share 2 cores and a base model's memory, so a
// worker computes one step and queues the rest. A waiting step keeps heartbeating and stops waiting the
// moment it is cancelled (a superseded attempt never computes later). Not a cross-process lock.

/** Heartbeat period for an activity: a quarter of its heartbeat timeout, between 0.2 and 2 s. */
export function heartbeatTickMs(heartbeatTimeoutMs: number | undefined): number {
  return Math.min(2000, Math.max(200, Math.floor((heartbeatTimeoutMs ?? 8000) / 4)));
}

/** A FIFO mutex whose waiters heartbeat and can be cancelled. */
export class StepSlot {
  private tail: Promise<void> = Promise.resolve();

  /**
   * Waits for the slot, calling `onWait` every `everyMs` meanwhile; rejects with `signal.reason` if the
   * signal aborts before the slot is free; then runs `fn` and frees the slot however `fn` ends.
   * @example await slot.run(ctx.cancellationSignal, () => ctx.heartbeat(details), () => compute())
   */
  async run<T>(signal: AbortSignal, onWait: () => void, fn: () => Promise<T>, everyMs = 2000): Promise<T> {
    const prev = this.tail;
    let release!: () => void;
    const mine = new Promise<void>((r) => { release = r; });
    this.tail = prev.then(() => mine);
    const timer = setInterval(onWait, everyMs);
    try {
      await new Promise<void>((resolve, reject) => {
        if (signal.aborted) return reject(signal.reason ?? new Error('cancelled while waiting for the step slot'));
        const onAbort = (): void => reject(signal.reason ?? new Error('cancelled while waiting for the step slot'));
        signal.addEventListener('abort', onAbort, { once: true });
        void prev.then(() => { signal.removeEventListener('abort', onAbort); resolve(); });
      });
    } catch (e) {
      release();
      throw e;
    } finally {
      clearInterval(timer);
    }
    try {
      return await fn();
    } finally {
      release();
    }
  }
}
