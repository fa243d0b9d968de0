// writeFileAtomic on real files: full content or the old content, never part; on a really full disk (a
// 1 MiB tmpfs) one DiskFullError naming the path and the bytes, the old file intact, no temporary left.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { DiskFullError, isAtomicTempName, writeFileAtomic } from './atomic-write';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'dnd-aw-'));

// A 1 MiB tmpfs, or null with the reason when this machine refuses to mount one (not root, no CAP_SYS_ADMIN).
function smallDisk(): { dir: string; unmount: () => void } | { reason: string } {
  const dir = tmp();
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir], { stdio: 'pipe' });
  } catch (e) {
    fs.rmSync(dir, { recursive: true, force: true });
    return { reason: `mount -t tmpfs refused: ${String((e as { stderr?: Buffer }).stderr ?? (e as Error).message).trim()}` };
  }
  return { dir, unmount: () => { execFileSync('umount', [dir]); fs.rmSync(dir, { recursive: true, force: true }); } };
}

describe('writeFileAtomic', () => {
  it('writes the whole buffer, replaces the old file and leaves no temporary file', () => {
    const d = tmp();
    const f = path.join(d, 'sub', 'w.bin');
    writeFileAtomic(f, Buffer.alloc(3 << 20, 7));
    writeFileAtomic(f, 'second');
    expect(fs.readFileSync(f, 'utf8')).toBe('second');
    expect(fs.readdirSync(path.dirname(f))).toEqual(['w.bin']);
  });

  it('removes its temporary file when the rename fails and leaves the target untouched', () => {
    const d = tmp();
    const target = path.join(d, 'is-a-dir');
    fs.mkdirSync(path.join(target, 'child'), { recursive: true }); // rename of a file onto a non-empty dir fails
    expect(() => writeFileAtomic(target, 'x')).toThrow();
    expect(fs.readdirSync(d)).toEqual(['is-a-dir']);
    expect(fs.readdirSync(target)).toEqual(['child']);
  });

  it('recognises its temporary names (and the older ones) but not ordinary files', () => {
    expect(isAtomicTempName('.adapter_model.safetensors.tmp-1234-k3j4h5')).toBe(true);
    expect(isAtomicTempName('generator.safetensors.tmp-99-0a1b2c3d4e')).toBe(true);
    expect(isAtomicTempName('adapter_model.safetensors')).toBe(false);
    expect(isAtomicTempName('step-0001')).toBe(false);
  });

  it('disk full: one DiskFullError naming the path and the bytes needed; the old file intact; no temporary file left', () => {
    const disk = smallDisk();
    if ('reason' in disk) {
      // Where tmpfs cannot be mounted this says so instead of passing silently.
      console.warn(`SKIPPED disk-full test: ${disk.reason}`);
      return;
    }
    try {
      const f = path.join(disk.dir, 'adapter_model.safetensors');
      writeFileAtomic(f, Buffer.alloc(300_000, 1)); // the previous good version
      const need = 937_216; // a real adapter's size: does not fit next to the old one in 1 MiB
      let err: unknown;
      try { writeFileAtomic(f, Buffer.alloc(need, 2)); } catch (e) { err = e; }
      expect(err).toBeInstanceOf(DiskFullError);
      expect((err as DiskFullError).nonRetryable).toBe(true);
      expect((err as Error).message).toContain(f);
      expect((err as Error).message).toContain(`${need} bytes`);
      expect(fs.readdirSync(disk.dir)).toEqual(['adapter_model.safetensors']);
      const now = fs.readFileSync(f);
      expect(now.length).toBe(300_000);
      expect(now.every((b) => b === 1)).toBe(true);
    } finally {
      disk.unmount();
    }
  });
});
