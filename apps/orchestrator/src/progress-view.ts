// How `dnd run` shows a run while it goes: on a terminal one live block (overall line + workflow tree)
// redrawn in place by log-update; in a pipe or CI one line per step change, never the whole tree again.
// Not the progress arithmetic (client.ts: collectProgress, RunEta, formatProgress, formatOverall).
import createLogUpdate from 'log-update';
import { formatOverall, formatProgress, type ProgressLine, type RunSnapshot } from './client';

/** Where a run's progress goes. */
export interface ProgressView {
  /** A new poll (called when its rendered text changed). */
  update(snapshot: RunSnapshot): void;
  /** A message that must not tear the live block (printed above it on a terminal). */
  note(message: string): void;
  /** Leaves the last block on screen (terminal) and stops redrawing. */
  done(): void;
}

/** What identifies a workflow's state for the line mode: status, stage, activities and units done, not free-text notes. */
function stepKey(l: ProgressLine): string {
  return [l.status, l.stage ?? '', ...l.activities.map((a) => `${a.type}:${a.attempt}:${a.progress?.done ?? ''}/${a.progress?.total ?? ''}:${a.lastFailure ? 'f' : ''}`)].join('|');
}

/**
 * Line mode (pipes, CI, log files): prints a workflow's line when its state (status, stage, activity, units done,
 * attempt) changed, and the overall line when a step finished or the whole percent grew by 5 or more. Notes the
 * steps heartbeat (`step 40/100 loss ...`) are shown only with the line they arrive with.
 * @example const view = lineProgressView((s) => process.stdout.write(s + '\n'));
 */
export function lineProgressView(write: (line: string) => void, errWrite: (line: string) => void = write): ProgressView {
  const seen = new Map<string, string>();
  const printed = new Map<string, string>();
  let lastStages = -1;
  let lastPercent = -100;
  return {
    update({ lines, overall }) {
      if (overall) {
        const percent = Math.floor(overall.fraction * 100);
        if (overall.stagesDone !== lastStages || percent >= lastPercent + 5) {
          write(formatOverall(overall));
          lastStages = overall.stagesDone;
          lastPercent = percent;
        }
      }
      for (const l of lines) {
        const key = stepKey(l);
        if (seen.get(l.workflowId) === key) continue;
        seen.set(l.workflowId, key);
        // A state change the line does not show (a first heartbeat at 0 units, a failure noted on the same
        // attempt) would print the same text again: skip it.
        const text = formatProgress([l]);
        if (printed.get(l.workflowId) === text) continue;
        printed.set(l.workflowId, text);
        write(text);
      }
    },
    note: errWrite,
    done() { /* nothing to leave behind: every line is printed already */ },
  };
}

/**
 * Terminal mode: the overall line and the tree as one block that log-update redraws in place.
 * @example const view = liveProgressView(process.stdout, process.stderr);
 */
export function liveProgressView(stream: NodeJS.WriteStream, err: NodeJS.WriteStream): ProgressView {
  const render = createLogUpdate.create(stream, { showCursor: true });
  let frame = '';
  return {
    update({ text }) {
      frame = text;
      render(frame);
    },
    note(message) {
      render.clear();
      err.write(message + '\n');
      if (frame) render(frame);
    },
    done() {
      if (frame) render.done();
    },
  };
}

/**
 * The view for this process: live on a terminal (stdout is a TTY and CI is not set), lines otherwise.
 * @example const view = progressViewFor(process.stdout, process.stderr);
 */
export function progressViewFor(stdout: NodeJS.WriteStream, stderr: NodeJS.WriteStream): ProgressView {
  if (stdout.isTTY && !process.env['CI']) return liveProgressView(stdout, stderr);
  return lineProgressView((l) => stdout.write(l + '\n'), (l) => stderr.write(l + '\n'));
}
