// The atomic file writer every package uses: bytes go to a temporary name beside the target, are
// written in full, fsynced, checked, then renamed into place and the folder fsynced. Not a store:
// it publishes one file; LocalArtifactStore publishes whole entries.
import * as fs from 'fs';
import * as path from 'path';

/**
 * The disk (or quota) is full. Not retried blindly: a retry on the same disk fails the same way, so it
 * carries `nonRetryable` (the orchestrator maps that to a non-retryable failure), and the message names
 * the path and the bytes the write needed.
 * @example if (e instanceof DiskFullError) console.error(e.message) // 'disk full: writing /o/x needs 937216 bytes ...'
 */
export class DiskFullError extends Error {
  readonly nonRetryable = true;
  constructor(readonly file: string, readonly bytesNeeded: number, options?: { cause?: unknown }) {
    super(`disk full: writing ${file} ${bytesNeeded > 0 ? `needs ${bytesNeeded} bytes (${(bytesNeeded / 1048576).toFixed(1)} MiB)` : 'needs more space'} and the disk has no room; nothing was published. Free space and run again`, options);
    this.name = 'DiskFullError';
  }
}

/**
 * True for ENOSPC / EDQUOT errors (disk or quota full).
 * @example try { fs.writeFileSync(f, b); } catch (e) { if (isDiskFull(e)) throw new DiskFullError(f, b.length, { cause: e }); throw e; }
 */
export function isDiskFull(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

/**
 * The temporary name writeFileAtomic uses for `file`: hidden, beside it, unique per process and call.
 * @example atomicTempName('/o/generator.safetensors') // '/o/.generator.safetensors.tmp-4242-k3j4h5ab'
 */
export function atomicTempName(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 10)}`);
}

/**
 * True for a name writeFileAtomic's temporary files have (also those of older versions: `<name>.tmp-<pid>-<rand>`).
 * @example isAtomicTempName('.adapter_model.safetensors.tmp-4242-k3j4h5') // true
 */
export function isAtomicTempName(name: string): boolean {
  return /\.tmp-\d+-[a-z0-9]+$/.test(name);
}

function fsyncDir(dir: string): void {
  let fd: number | null = null;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch (e) {
    // Some file systems refuse fsync on a directory (EINVAL / EISDIR / EPERM): the rename stands.
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'EISDIR' && code !== 'EPERM' && code !== 'EBADF') throw e;
  } finally {
    if (fd !== null) fs.closeSync(fd);
  }
}

/**
 * Writes bytes to `file` so that readers see the old content or the whole new content, never part of it:
 * a temporary name in the same folder, a loop until every byte is written, fsync, a size check, a rename,
 * then an fsync of the folder. On any failure the temporary file is removed and `file` is untouched;
 * a full disk throws DiskFullError naming the path and the bytes needed.
 * @example writeFileAtomic('runs/r1/config.json', JSON.stringify(cfg))
 */
export function writeFileAtomic(file: string, data: Buffer | string): void {
  const buf = typeof data === 'string' ? Buffer.from(data) : data;
  const dir = path.dirname(file);
  let tmp: string | null = null;
  try {
    fs.mkdirSync(dir, { recursive: true });
    tmp = atomicTempName(file);
    const fd = fs.openSync(tmp, 'wx');
    try {
      let off = 0;
      while (off < buf.length) {
        const n = fs.writeSync(fd, buf, off, buf.length - off);
        if (n <= 0) throw Object.assign(new Error(`write returned ${n} at byte ${off} of ${buf.length}`), { code: 'ENOSPC' });
        off += n;
      }
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    const size = fs.statSync(tmp).size;
    if (size !== buf.length) throw new Error(`writeFileAtomic ${file}: wrote ${size} of ${buf.length} bytes`);
    fs.renameSync(tmp, file);
    tmp = null;
    fsyncDir(dir);
  } catch (e) {
    if (tmp !== null) fs.rmSync(tmp, { force: true });
    if (isDiskFull(e)) throw new DiskFullError(file, buf.length, { cause: e });
    throw e;
  }
}
