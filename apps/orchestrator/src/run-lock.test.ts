// The run-id lock with real processes: a live holder is named and its lock untouched; the lock of a
// process killed with -9 is taken over; release removes only our own lock.
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { acquireRunLock, runLockFile, RunLockedError } from './run-lock';

const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'dnd-lock-'));

describe('acquireRunLock', () => {
  it('a live holder: RunLockedError naming its pid, lock file unchanged', async () => {
    const dir = tmp();
    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    try {
      const lockText = JSON.stringify({ pid: holder.pid, procStart: null, startedAt: '2026-12-01T10:00:00.000Z', host: os.hostname(), command: 'dnd run quickstart' }) + '\n';
      fs.writeFileSync(runLockFile(dir), lockText);
      let err: unknown;
      try { acquireRunLock(dir, 'r1'); } catch (e) { err = e; }
      expect(err).toBeInstanceOf(RunLockedError);
      expect((err as Error).message).toContain(`run r1 is in use by process ${holder.pid} (dnd run quickstart, since 2026-12-01T10:00:00.000Z)`);
      expect(fs.readFileSync(runLockFile(dir), 'utf8')).toBe(lockText);
      expect(fs.readdirSync(dir)).toEqual(['run.lock']);
    } finally {
      holder.kill('SIGKILL');
    }
  });

  it('the lock of a process killed with -9 is taken over; release removes it', async () => {
    const dir = tmp();
    const victim = spawn(process.execPath, ['-e', `
      const fs = require('fs');
      fs.writeFileSync(${JSON.stringify(runLockFile(dir))}, JSON.stringify({ pid: process.pid, procStart: null, startedAt: new Date().toISOString(), host: require('os').hostname(), command: 'dnd run x' }));
      process.stdout.write('locked\\n'); setInterval(() => {}, 1000);`], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => victim.stdout!.on('data', () => resolve()));
    expect(() => acquireRunLock(dir, 'r2')).toThrow(RunLockedError);
    victim.kill('SIGKILL');
    await new Promise((r) => victim.once('exit', r));
    const lock = acquireRunLock(dir, 'r2');
    expect(JSON.parse(fs.readFileSync(runLockFile(dir), 'utf8')).pid).toBe(process.pid);
    expect(fs.readdirSync(dir)).toEqual(['run.lock']);
    lock.release();
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('a pid reused by another process (different start time) does not hold the lock', () => {
    const dir = tmp();
    // Our own pid with a start time that is not ours: a lock left by an earlier process with this pid.
    fs.writeFileSync(runLockFile(dir), JSON.stringify({ pid: process.pid, procStart: '1', startedAt: '2020-01-01T00:00:00Z', host: os.hostname(), command: 'dnd run old' }));
    if (!fs.existsSync(`/proc/${process.pid}/stat`)) return; // start times need /proc; elsewhere a reused pid counts as live
    const lock = acquireRunLock(dir, 'r3');
    expect(lock.owner.pid).toBe(process.pid);
    lock.release();
  });

  it('two processes racing for one free lock: exactly one wins', () => {
    const dir = tmp();
    const script = `try { require(${JSON.stringify(path.join(__dirname, 'run-lock.ts'))}).acquireRunLock(${JSON.stringify(dir)}, 'r4'); process.stdout.write('won'); } catch (e) { process.stdout.write(e.name); }`;
    const register = path.join(__dirname, '..', 'test', 'support', 'register.cjs');
    const kids = [0, 1, 2].map(() => spawn(process.execPath, ['-r', register, '-e', `${script}; setTimeout(() => {}, 4000)`], { stdio: ['ignore', 'pipe', 'inherit'] }));
    return Promise.all(kids.map((k) => new Promise<string>((r) => { let t = ''; k.stdout!.on('data', (d) => { t += String(d); if (t) r(t); }); }))).then((outs) => {
      for (const k of kids) k.kill('SIGKILL');
      expect(outs.filter((o) => o === 'won')).toHaveLength(1);
      expect(outs.filter((o) => o === 'RunLockedError')).toHaveLength(2);
    });
  });
});
