// Progress of a long collection: the event type, a rate/ETA tracker, and a one-line TTY progress bar
// (a plain line every 10% when the stream is not a terminal). Not logging in general.
import { formatDuration } from '@dnd/core';

/** One optimizer step's report. */
export interface CollectProgress {
  set: string;
  phase: 'warmup' | 'snapshot';
  /** Steps done in this set (warm-up + snapshot steps), and the total. */
  done: number;
  total: number;
  loss: number;
  /** Trained (answer) tokens per second over this run so far. */
  tokensPerSec: number;
  /** Wall-clock seconds of the last step. */
  stepSeconds: number;
  /** Seconds left for this set at the current pace. */
  etaSec: number;
}

/** The text of one progress line, e.g. `piqa [#####.....] 60/125 warmup loss 1.234 812 tok/s ETA 1m05s`. */
export function formatProgress(p: CollectProgress, width = 20): string {
  const filled = p.total > 0 ? Math.round((p.done / p.total) * width) : 0;
  const bar = '#'.repeat(filled) + '.'.repeat(Math.max(0, width - filled));
  return `${p.set} [${bar}] ${p.done}/${p.total} ${p.phase} loss ${p.loss.toFixed(4)} ${Math.round(p.tokensPerSec)} tok/s ETA ${formatDuration(p.etaSec)}`;
}

/**
 * A progress callback that redraws one line on a TTY (`\r`), or prints a line every 10% otherwise.
 * @example await collectSet('piqa', dir, cfg, { ...deps, onProgress: progressBar() });
 */
export function progressBar(stream: NodeJS.WriteStream = process.stderr): (p: CollectProgress) => void {
  let lastDecile = -1;
  return (p) => {
    if (stream.isTTY) {
      stream.write(`\r${formatProgress(p)}\x1b[K${p.done === p.total ? '\n' : ''}`);
      return;
    }
    const decile = Math.floor((10 * p.done) / Math.max(1, p.total));
    if (decile !== lastDecile) { lastDecile = decile; stream.write(`${formatProgress(p)}\n`); }
  };
}
