// The artifact store: step outputs keyed by a hash of (step, step version, canonical config, input
// digests), built in a temporary folder and renamed into place, verified against their digest whenever
// they are reused. Not the steps themselves, not the run manifest (run-manifest.ts), and not remote
// storage: an object store implements ArtifactStore elsewhere.
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { fileURLToPath, pathToFileURL } from 'url';
import { canonicalJson } from './config';
import { DiskFullError, isAtomicTempName, isDiskFull, writeFileAtomic } from './atomic-write';
import { BadInputError } from './bad-input';
import { validateName } from './names';

/** A reference to a stored artifact: what payloads and manifests carry instead of the bytes. */
export interface ArtifactRef {
  /** Where it lives: `file:///abs/path` for LocalArtifactStore, `s3://bucket/key` for an object store. */
  uri: string;
  /** Hex sha256 of the content (a file's bytes, or a directory's listing, see digestDir). */
  sha256: string;
  /** Total size in bytes (sum over files for a directory). */
  bytes: number;
  /** IANA media type, or `inode/directory` / `application/vnd.dnd.<thing>+dir` for directories. */
  mediaType: string;
}

/** What a stored entry holds besides its reference: the key it was stored under, and free metadata. */
export interface ArtifactRecord {
  key: string;
  ref: ArtifactRef;
  /** Small JSON the producer attached (step name, summary numbers); never tensors. */
  meta: Record<string, unknown>;
}

/**
 * The cache key of a step output: hex sha256 of the canonical JSON of (step, stepVersion, config, inputDigests).
 * Two calls with equal arguments (key order in `config` ignored) give the same key.
 * @example artifactKey('collect-set', '1', { steps: 10 }, ['sha-of-dataset']) // '3f2a…' (64 hex chars)
 */
export function artifactKey(step: string, stepVersion: string, config: unknown, inputDigests: readonly string[]): string {
  if (!step) throw new Error('artifactKey: step must be a non-empty string');
  if (!stepVersion) throw new Error(`artifactKey(${step}): stepVersion must be a non-empty string`);
  return sha256Hex(canonicalJson({ step, stepVersion, config: config ?? null, inputs: [...inputDigests] }));
}

/** Hex sha256 of a string or bytes. */
export function sha256Hex(data: string | Buffer): string {
  return crypto.createHash('sha256').update(data).digest('hex');
}

/** Hex sha256 of a file's bytes, streamed in 4 MiB reads (model weights do not fit a Buffer comfortably). */
export function sha256File(file: string): string {
  const h = crypto.createHash('sha256');
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(4 * 1024 * 1024);
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
    }
  } finally {
    fs.closeSync(fd);
  }
  return h.digest('hex');
}

/**
 * Digest and size of a file or a directory. A directory's digest is the sha256 of its sorted listing
 * `relpath\0sha256\0bytes\n` over every regular file, so it depends on names and contents only.
 */
export function digestPath(p: string): { sha256: string; bytes: number } {
  const st = fs.statSync(p);
  if (st.isFile()) return { sha256: sha256File(p), bytes: st.size };
  if (!st.isDirectory()) throw new Error(`digestPath: ${p} is neither a file nor a directory`);
  const lines: string[] = [];
  let bytes = 0;
  const walk = (dir: string, rel: string): void => {
    for (const name of fs.readdirSync(dir).sort()) {
      const abs = path.join(dir, name);
      const r = rel ? `${rel}/${name}` : name;
      const s = fs.statSync(abs);
      if (s.isDirectory()) walk(abs, r);
      else if (s.isFile()) {
        lines.push(`${r}\0${sha256File(abs)}\0${s.size}\n`);
        bytes += s.size;
      }
    }
  };
  walk(p, '');
  return { sha256: sha256Hex(lines.join('')), bytes };
}

/**
 * Storage for step outputs, addressed by artifactKey. Every method is idempotent per key: the first
 * complete put wins and later puts of the same key return the stored record without rewriting it.
 * A local directory implements it (LocalArtifactStore); an S3-compatible object store too (S3ArtifactStore in
 * s3-artifact-store.ts: put = upload under an attempt key + conditional publish of record.json, resolve =
 * verified download into a local cache). openArtifactStore(url) picks one.
 */
export interface ArtifactStore {
  /** A human-readable location, e.g. `file:///runs/artifacts`. */
  readonly location: string;
  /** True when a complete entry exists under `key`. */
  has(key: string): Promise<boolean>;
  /** The stored record under `key`, or null. */
  get(key: string): Promise<ArtifactRecord | null>;
  /** Stores bytes under `key` (no-op returning the existing record when present). */
  put(key: string, data: Buffer | string, mediaType: string, meta?: Record<string, unknown>): Promise<ArtifactRecord>;
  /**
   * Stores a directory that `write(dir)` fills (an empty temporary directory); what `write` returns is
   * merged into the record's meta. When the key exists, `write` is not called.
   */
  putDir<M extends Record<string, unknown> | void>(key: string, mediaType: string, write: (dir: string) => Promise<M>, meta?: Record<string, unknown>): Promise<ArtifactRecord>;
  /** A local path holding the artifact's content (a file or a directory). Throws if it is missing. */
  resolve(ref: ArtifactRef): Promise<string>;
  /** Points a name (e.g. `latest-generator`) at a record; names are mutable, entries are not. */
  setAlias(name: string, record: ArtifactRecord): Promise<void>;
  /** The record a name points at, or null. */
  getAlias(name: string): Promise<ArtifactRecord | null>;
  /**
   * Removes an entry that nothing will name again: scratch such as the copies of a finished step's work folder.
   * Optional; a store without it keeps such entries. Never for step outputs: other runs reuse those by key.
   */
  discard?(key: string): Promise<void>;
}

/** Options of LocalArtifactStore. */
export interface LocalArtifactStoreOptions {
  /**
   * Append one JSON line per committed entry to `<root>/journal.jsonl` ({key, sha256, bytes, pid, at}).
   * Why: an audit trail that shows each key was written exactly once (tests and post-mortems read it).
   */
  journal?: boolean;
  /** Remove `.tmp` folders of dead writers on open (default true). Why false: `dnd store gc` lists them first. */
  cleanTmp?: boolean;
}

const KEY_RE = /^[0-9a-f]{16,128}$/;

/**
 * A stored entry whose bytes no longer match the digest recorded when it was published. The entry has
 * been moved to `<root>/quarantine/`, so the next run recomputes it; this attempt cannot succeed by
 * retrying (its inputs name the corrupt entry), hence `nonRetryable`.
 * @example try { await store.get(key); } catch (e) { if (e instanceof ArtifactCorruptError) console.error(e.key, e.quarantinedTo); }
 */
export class ArtifactCorruptError extends Error {
  readonly nonRetryable = true;
  constructor(readonly key: string, readonly problem: string, readonly quarantinedTo: string | null) {
    super(`stored artifact ${key} is corrupt: ${problem}; `
      + (quarantinedTo ? `moved to ${quarantinedTo} so that the next run recomputes it` : 'it could not be moved aside; remove it or run `dnd store verify --fix`'));
    this.name = 'ArtifactCorruptError';
  }
}

/** This machine, in the names of `.tmp` folders (pids are only meaningful on the host that made them). */
const HOST_TAG = crypto.createHash('sha256').update(os.hostname()).digest('hex').slice(0, 8);

/** True when process `pid` exists (signal 0 probes without signalling). */
function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** What LocalArtifactStore.verifyEntry found. */
export interface EntryCheck {
  key: string;
  ok: boolean;
  /** Why not ok (missing record, digest mismatch, temporary file inside). */
  problem?: string;
}

/**
 * An ArtifactStore in a local directory. Layout: `<root>/<key[0:2]>/<key>/{data, record.json}` where
 * `data` is the file or directory. An entry is built complete in `<root>/.tmp/<unique>/` and renamed
 * into place in one step, so readers and concurrent writers (threads or processes) never see half of it;
 * a writer that loses the rename race discards its copy and returns the winner's record.
 * @example
 * const store = new LocalArtifactStore('/tmp/artifacts');
 * const rec = await store.put(artifactKey('hello', '1', {}, []), 'hi', 'text/plain');
 * fs.readFileSync(await store.resolve(rec.ref), 'utf8'); // 'hi'
 */
export class LocalArtifactStore implements ArtifactStore {
  readonly root: string;
  readonly location: string;
  private readonly journal: boolean;

  constructor(root: string, opts: LocalArtifactStoreOptions = {}) {
    if (!root) throw new Error('LocalArtifactStore: root must be a directory path');
    this.root = path.resolve(root);
    this.location = pathToFileURL(this.root).href;
    this.journal = opts.journal ?? true;
    fs.mkdirSync(path.join(this.root, '.tmp'), { recursive: true });
    if (opts.cleanTmp ?? true) this.cleanStaleTmp();
  }

  /**
   * Removes `.tmp/<pid>-*` folders whose writer process is gone (a kill -9 mid-write leaves them); those
   * of live processes stay. Returns the removed paths. Called on every open of the store.
   */
  cleanStaleTmp(): string[] {
    const stale = this.staleTmp();
    for (const p of stale) fs.rmSync(p, { recursive: true, force: true });
    return stale;
  }

  /** The `.tmp/<pid>-*` folders cleanStaleTmp would remove (writer dead, on this host), without removing. */
  staleTmp(): string[] {
    const dir = path.join(this.root, '.tmp');
    const stale: string[] = [];
    for (const name of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
      // `<pid>-<host>-XXXXXX` (host: 8 hex of its name; older folders have none). A folder of another
      // host sharing this store is left alone: its pid means nothing here (`dnd store gc` removes it).
      const m = /^(\d+)-(?:([0-9a-f]{8})-)?[A-Za-z0-9]{6}$/.exec(name);
      if (!m || (m[2] !== undefined && m[2] !== HOST_TAG)) continue;
      if (Number(m[1]) === process.pid || pidAlive(Number(m[1]))) continue;
      stale.push(path.join(dir, name));
    }
    return stale;
  }

  /** Every key with a published entry (a record.json), sorted. */
  keys(): string[] {
    const out: string[] = [];
    for (const shard of fs.readdirSync(this.root)) {
      if (!/^[0-9a-f]{2}$/.test(shard)) continue;
      for (const key of fs.readdirSync(path.join(this.root, shard))) {
        if (KEY_RE.test(key) && key.startsWith(shard) && fs.existsSync(path.join(this.root, shard, key, 'record.json'))) out.push(key);
      }
    }
    return out.sort();
  }

  /**
   * Re-hashes the entry under `key` and compares with its record (streaming sha256 of every file).
   * Does not move anything; see `quarantine`.
   */
  verifyEntry(key: string): EntryCheck {
    const dir = this.entryDir(key);
    let rec: ArtifactRecord;
    try {
      rec = JSON.parse(fs.readFileSync(path.join(dir, 'record.json'), 'utf8')) as ArtifactRecord;
    } catch (e) {
      return { key, ok: false, problem: `record.json unreadable (${(e as Error).message})` };
    }
    if (rec.key !== key) return { key, ok: false, problem: `record.json names key ${JSON.stringify(rec.key)}` };
    const data = path.join(dir, 'data');
    if (!fs.existsSync(data)) return { key, ok: false, problem: 'data is missing' };
    const temp = findTempFiles(data);
    if (temp.length) return { key, ok: false, problem: `holds temporary file ${temp[0]}` };
    const { sha256, bytes } = digestPath(data);
    if (sha256 !== rec.ref.sha256 || bytes !== rec.ref.bytes) return { key, ok: false, problem: `content digest ${sha256} (${bytes} bytes), recorded ${rec.ref.sha256} (${rec.ref.bytes} bytes)` };
    return { key, ok: true };
  }

  /** Moves the entry under `key` to `<root>/quarantine/<key>-<time>` (out of every lookup); returns where. */
  quarantine(key: string): string {
    const q = path.join(this.root, 'quarantine');
    fs.mkdirSync(q, { recursive: true });
    const to = path.join(q, `${key}-${Date.now()}`);
    fs.renameSync(this.entryDir(key), to);
    return to;
  }

  // Verifies before reuse: a mismatch quarantines the entry and throws ArtifactCorruptError.
  private checked(key: string, rec: ArtifactRecord): ArtifactRecord {
    const c = this.verifyEntry(key);
    if (c.ok) return rec;
    let to: string | null = null;
    try { to = this.quarantine(key); } catch { /* reported in the message */ }
    throw new ArtifactCorruptError(key, c.problem ?? 'unreadable', to);
  }

  /** The directory of an entry (whether or not it exists). */
  entryDir(key: string): string {
    if (!KEY_RE.test(key)) throw new BadInputError(`LocalArtifactStore: key must be 16-128 lowercase hex chars, got ${JSON.stringify(key)}`);
    return path.join(this.root, key.slice(0, 2), key);
  }

  async has(key: string): Promise<boolean> {
    return fs.existsSync(path.join(this.entryDir(key), 'record.json'));
  }

  /** The record under `key` after re-hashing its content; a mismatch quarantines it and throws ArtifactCorruptError. */
  async get(key: string): Promise<ArtifactRecord | null> {
    const file = path.join(this.entryDir(key), 'record.json');
    if (!fs.existsSync(file)) return null;
    let rec: ArtifactRecord;
    try {
      rec = JSON.parse(fs.readFileSync(file, 'utf8')) as ArtifactRecord;
    } catch {
      rec = { key, ref: { uri: '', sha256: '?', bytes: 0, mediaType: '' }, meta: {} };
    }
    return this.checked(key, rec);
  }

  async put(key: string, data: Buffer | string, mediaType: string, meta: Record<string, unknown> = {}): Promise<ArtifactRecord> {
    const existing = await this.get(key);
    if (existing) return existing;
    const tmp = this.makeTmp();
    try {
      writeFileAtomic(path.join(tmp, 'data'), data);
      return this.commit(key, tmp, mediaType, meta);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  }

  async putDir<M extends Record<string, unknown> | void>(key: string, mediaType: string, write: (dir: string) => Promise<M>, meta: Record<string, unknown> = {}): Promise<ArtifactRecord> {
    const existing = await this.get(key);
    if (existing) return existing;
    const tmp = this.makeTmp();
    try {
      const dataDir = path.join(tmp, 'data');
      fs.mkdirSync(dataDir);
      const extra = await write(dataDir);
      return this.commit(key, tmp, mediaType, { ...meta, ...(extra ?? {}) });
    } catch (e) {
      // A step's own raw write hit a full disk: one clear, non-retryable error instead of ENOSPC retried.
      if (isDiskFull(e) && !(e instanceof DiskFullError)) throw new DiskFullError((e as NodeJS.ErrnoException).path ?? `${this.root} (entry ${key})`, 0, { cause: e });
      throw e;
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  }

  /**
   * The local path of `ref`. An entry of this store is re-hashed first: content that no longer matches
   * `ref.sha256` is quarantined and ArtifactCorruptError thrown.
   */
  async resolve(ref: ArtifactRef): Promise<string> {
    if (!ref.uri.startsWith('file://')) throw new Error(`LocalArtifactStore.resolve: not a file URI: ${ref.uri}`);
    const p = fileURLToPath(ref.uri);
    if (!fs.existsSync(p)) throw new Error(`LocalArtifactStore.resolve: ${ref.uri} does not exist (sha256 ${ref.sha256})`);
    const rel = path.relative(this.root, p).split(path.sep);
    if (rel.length === 3 && rel[2] === 'data' && KEY_RE.test(rel[1]!)) {
      const key = rel[1]!;
      const { sha256 } = digestPath(p);
      if (sha256 !== ref.sha256) {
        let to: string | null = null;
        try { to = this.quarantine(key); } catch { /* reported in the message */ }
        throw new ArtifactCorruptError(key, `content digest ${sha256}, the reference says ${ref.sha256}`, to);
      }
    }
    return p;
  }

  async setAlias(name: string, record: ArtifactRecord): Promise<void> {
    writeFileAtomic(this.aliasFile(name), JSON.stringify(record, null, 2));
  }

  async getAlias(name: string): Promise<ArtifactRecord | null> {
    const f = this.aliasFile(name);
    return fs.existsSync(f) ? (JSON.parse(fs.readFileSync(f, 'utf8')) as ArtifactRecord) : null;
  }

  private aliasFile(name: string): string {
    return path.join(this.root, 'aliases', `${validateName('alias', name)}.json`);
  }

  private makeTmp(): string {
    return fs.mkdtempSync(path.join(this.root, '.tmp', `${process.pid}-${HOST_TAG}-`));
  }

  // tmp holds `data`; writes record.json beside it, then renames tmp to the entry directory.
  private commit(key: string, tmp: string, mediaType: string, meta: Record<string, unknown>): ArtifactRecord {
    const final = this.entryDir(key);
    // A writer that failed half-way and swallowed the error leaves its temporary file: never publish it.
    const temp = findTempFiles(path.join(tmp, 'data'));
    if (temp.length) throw new Error(`LocalArtifactStore: refusing to publish ${key}: it holds the temporary file ${temp[0]} of an unfinished write`);
    const { sha256, bytes } = digestPath(path.join(tmp, 'data'));
    const record: ArtifactRecord = { key, ref: { uri: pathToFileURL(path.join(final, 'data')).href, sha256, bytes, mediaType }, meta };
    writeFileAtomic(path.join(tmp, 'record.json'), JSON.stringify(record, null, 2));
    fs.mkdirSync(path.dirname(final), { recursive: true });
    try {
      fs.renameSync(tmp, final);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e;
      // Another writer committed first: its entry is complete (renames are atomic), keep it.
      const winner = JSON.parse(fs.readFileSync(path.join(final, 'record.json'), 'utf8')) as ArtifactRecord;
      return winner;
    }
    if (this.journal) {
      fs.appendFileSync(path.join(this.root, 'journal.jsonl'), JSON.stringify({ key, sha256, bytes, pid: process.pid, at: new Date().toISOString() }) + '\n');
    }
    return record;
  }
}

/** Relative paths of writeFileAtomic temporary files under `p` (a file or a directory). */
function findTempFiles(p: string): string[] {
  const out: string[] = [];
  const walk = (dir: string, rel: string): void => {
    for (const name of fs.readdirSync(dir)) {
      const r = rel ? `${rel}/${name}` : name;
      if (isAtomicTempName(name)) out.push(r);
      const abs = path.join(dir, name);
      if (fs.lstatSync(abs).isDirectory()) walk(abs, r);
    }
  };
  if (fs.statSync(p).isDirectory()) walk(p, '');
  return out;
}
