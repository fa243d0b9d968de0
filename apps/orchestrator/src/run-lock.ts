// The run-id lock: one live `dnd run` / `dnd resume` per run directory. A lock file holds the owner's pid
// and start time; a second command with the same id changes nothing and names the holder; a lock left by
// a dead process is taken over. Not a Temporal-side check (the workflow id is), and not a cross-host lock.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/** Who holds a run's lock. */
export interface RunLockOwner {
  pid: number;
  /** The owner process's start, as /proc gives it (clock ticks since boot) where there is /proc; else null. */
  procStart: string | null;
  /** When the lock was taken (ISO time), for people. */
  startedAt: string;
  host: string;
  /** The command line that holds it, for people. */
  command: string;
}

/** A held lock; `release()` removes the file if it is still ours. */
export interface RunLock {
  file: string;
  owner: RunLockOwner;
  release(): void;
}

/**
 * The lock file of a run directory.
 * @example runLockFile('runs/exp-3') // 'runs/exp-3/run.lock'
 */
export const runLockFile = (runDir: string): string => path.join(runDir, 'run.lock');

/**
 * Another live process holds the run id: nothing was changed.
 * @example try { acquireRunLock(dir, id); } catch (e) { if (e instanceof RunLockedError) console.error(e.holder.pid); }
 */
export class RunLockedError extends Error {
  constructor(readonly runId: string, readonly holder: RunLockOwner, readonly file: string) {
    super(`run ${runId} is in use by process ${holder.pid} (${holder.command}, since ${holder.startedAt}${holder.host !== os.hostname() ? ` on ${holder.host}` : ''}); `
      + `nothing was changed. Wait for it, stop it (kill ${holder.pid}), or pick another --run-id. Lock: ${file}`);
    this.name = 'RunLockedError';
  }
}

/**
 * Start time of `pid` from /proc/<pid>/stat (field 22), or null where there is no /proc.
 * @example processStart(process.pid) // '123456' (clock ticks since boot)
 */
export function processStart(pid: number): string | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

/**
 * True when the process that wrote `owner` is still running (same pid and, where known, same start time).
 * @example ownerAlive(JSON.parse(fs.readFileSync(runLockFile(dir), 'utf8')))
 */
export function ownerAlive(owner: RunLockOwner): boolean {
  if (owner.host !== os.hostname()) return true; // cannot tell from here: assume live
  try {
    process.kill(owner.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const now = processStart(owner.pid);
  return owner.procStart === null || now === null || now === owner.procStart;
}

function readOwner(file: string): RunLockOwner | null {
  try {
    const o = JSON.parse(fs.readFileSync(file, 'utf8')) as RunLockOwner;
    return Number.isInteger(o.pid) ? o : null;
  } catch {
    return null;
  }
}

/**
 * Takes the lock of `runDir` (creating the folder) or throws RunLockedError naming the live holder.
 * A lock whose holder is dead (or unreadable: a crash while writing it) is taken over.
 * @example const lock = acquireRunLock('runs/exp-3', 'exp-3'); try { ... } finally { lock.release(); }
 */
export function acquireRunLock(runDir: string, runId: string): RunLock {
  fs.mkdirSync(runDir, { recursive: true });
  const file = runLockFile(runDir);
  const owner: RunLockOwner = {
    pid: process.pid, procStart: processStart(process.pid), startedAt: new Date().toISOString(), host: os.hostname(),
    command: ['dnd', ...process.argv.slice(2)].join(' ').slice(0, 200),
  };
  // The lock is written whole to a private name, then hard-linked to run.lock: link() fails with EEXIST
  // when the lock exists, so exactly one process wins and nobody ever sees a half-written lock.
  const mine = `${file}.${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  fs.writeFileSync(mine, JSON.stringify(owner) + '\n');
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        fs.linkSync(mine, file);
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const holder = readOwner(file);
      if (holder && ownerAlive(holder)) throw new RunLockedError(runId, holder, file);
      if (attempt >= 3) throw new Error(`could not take the lock ${file} (another process keeps replacing it)`);
      // Stale (dead holder, or unreadable): move it aside under a unique name (one taker wins the
      // rename), then check that what moved is the stale lock judged; a live taker's fresh lock goes back.
      const aside = `${file}.stale-${process.pid}-${Date.now()}`;
      try { fs.renameSync(file, aside); } catch { continue; }
      const moved = readOwner(aside);
      if (moved && ownerAlive(moved) && !(holder && moved.pid === holder.pid && moved.startedAt === holder.startedAt)) {
        try { fs.linkSync(aside, file); } catch { /* someone else holds it now */ }
        fs.rmSync(aside, { force: true });
        throw new RunLockedError(runId, moved, file);
      }
      fs.rmSync(aside, { force: true });
    }
  } finally {
    fs.rmSync(mine, { force: true });
  }
  // process.exit (Ctrl-C's handler ends with it) skips `finally` blocks; the exit event still runs.
  const release = (): void => {
    process.removeListener('exit', release);
    const cur = readOwner(file);
    if (cur && cur.pid === owner.pid && cur.startedAt === owner.startedAt) fs.rmSync(file, { force: true });
  };
  process.once('exit', release);
  return { file, owner, release };
}
