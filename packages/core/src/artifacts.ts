// The artifact store: step outputs keyed by a hash of (step, step version, canonical config, input
// digests), written to a temporary name and renamed into place, plus the run manifest writer.
// Not the steps themselves, and not remote storage: an object store implements ArtifactStore elsewhere.
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { fileURLToPath, pathToFileURL } from 'url';
import { canonicalJson } from './config';
import { writeFileAtomic } from './safetensors';

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
}

/** Options of LocalArtifactStore. */
export interface LocalArtifactStoreOptions {
  /**
   * Append one JSON line per committed entry to `<root>/journal.jsonl` ({key, sha256, bytes, pid, at}).
   * Why: an audit trail that shows each key was written exactly once (tests and post-mortems read it).
   */
  journal?: boolean;
}

const KEY_RE = /^[0-9a-f]{16,128}$/;
const ALIAS_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

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
  }

  /** The directory of an entry (whether or not it exists). */
  entryDir(key: string): string {
    if (!KEY_RE.test(key)) throw new Error(`LocalArtifactStore: key must be 16-128 lowercase hex chars, got ${JSON.stringify(key)}`);
    return path.join(this.root, key.slice(0, 2), key);
  }

  async has(key: string): Promise<boolean> {
    return fs.existsSync(path.join(this.entryDir(key), 'record.json'));
  }

  async get(key: string): Promise<ArtifactRecord | null> {
    const file = path.join(this.entryDir(key), 'record.json');
    if (!fs.existsSync(file)) return null;
    return JSON.parse(fs.readFileSync(file, 'utf8')) as ArtifactRecord;
  }

  async put(key: string, data: Buffer | string, mediaType: string, meta: Record<string, unknown> = {}): Promise<ArtifactRecord> {
    const existing = await this.get(key);
    if (existing) return existing;
    const tmp = this.makeTmp();
    try {
      fs.writeFileSync(path.join(tmp, 'data'), data);
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
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  }

  async resolve(ref: ArtifactRef): Promise<string> {
    if (!ref.uri.startsWith('file://')) throw new Error(`LocalArtifactStore.resolve: not a file URI: ${ref.uri}`);
    const p = fileURLToPath(ref.uri);
    if (!fs.existsSync(p)) throw new Error(`LocalArtifactStore.resolve: ${ref.uri} does not exist (sha256 ${ref.sha256})`);
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
    if (!ALIAS_RE.test(name)) throw new Error(`LocalArtifactStore: alias must match ${ALIAS_RE}, got ${JSON.stringify(name)}`);
    return path.join(this.root, 'aliases', `${name}.json`);
  }

  private makeTmp(): string {
    return fs.mkdtempSync(path.join(this.root, '.tmp', `${process.pid}-`));
  }

  // tmp holds `data`; writes record.json beside it, then renames tmp to the entry directory.
  private commit(key: string, tmp: string, mediaType: string, meta: Record<string, unknown>): ArtifactRecord {
    const final = this.entryDir(key);
    const { sha256, bytes } = digestPath(path.join(tmp, 'data'));
    const record: ArtifactRecord = { key, ref: { uri: pathToFileURL(path.join(final, 'data')).href, sha256, bytes, mediaType }, meta };
    fs.writeFileSync(path.join(tmp, 'record.json'), JSON.stringify(record, null, 2));
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

/** Everything needed to reproduce or audit a run; written as `manifest.json` in the run directory. */
export interface RunManifest {
  /** Schema version of this file. */
  manifestVersion: 1;
  runId: string;
  createdAt: string;
  /** `@dnd/*` package name -> version (and anything else worth pinning, e.g. the Temporal SDK). */
  packages: Record<string, string>;
  /** The resolved config (defaults + preset + overrides) and the preset name it came from. */
  preset: string | null;
  config: unknown;
  /** Every seed the run used, by purpose. */
  seeds: Record<string, number>;
  /** The tensor backend per worker role, e.g. {cpu: 'tensorflow', gpu: 'tensorflow-gpu'}. */
  backend: Record<string, string>;
  /** Named artifacts the run produced or reused. */
  artifacts: Record<string, ArtifactRef>;
  /** Where it ran: Temporal address, namespace, and every workflow id of the run (parent first). */
  temporal: { address: string; namespace: string; workflowIds: string[]; uiUrl?: string };
  /** Event-loop delay of the worker that wrote the manifest, since it started (ms): a blocked loop starves heartbeats. */
  eventLoop?: { p50Ms: number; p99Ms: number; maxMs: number; worker: string; since: string };
}

/**
 * Writes `<dir>/manifest.json` atomically after checking the fields; returns the file path.
 * @example writeRunManifest('runs/r1', { manifestVersion: 1, runId: 'r1', ... })
 */
export function writeRunManifest(dir: string, manifest: RunManifest): string {
  if (manifest.manifestVersion !== 1) throw new Error(`writeRunManifest: manifestVersion must be 1, got ${JSON.stringify(manifest.manifestVersion)}`);
  if (!manifest.runId) throw new Error('writeRunManifest: runId must be non-empty');
  for (const [name, ref] of Object.entries(manifest.artifacts)) {
    if (!ref || typeof ref.uri !== 'string' || !/^[0-9a-f]{64}$/.test(ref.sha256)) {
      throw new Error(`writeRunManifest: artifacts.${name} is not an ArtifactRef: ${JSON.stringify(ref)}`);
    }
  }
  const file = path.join(dir, 'manifest.json');
  writeFileAtomic(file, JSON.stringify(manifest, null, 2) + '\n');
  return file;
}

/** Reads a manifest written by writeRunManifest. */
export function readRunManifest(file: string): RunManifest {
  const m = JSON.parse(fs.readFileSync(file, 'utf8')) as RunManifest;
  if (m.manifestVersion !== 1) throw new Error(`readRunManifest(${file}): unsupported manifestVersion ${JSON.stringify(m.manifestVersion)}`);
  return m;
}
