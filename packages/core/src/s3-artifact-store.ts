// An ArtifactStore on an S3-compatible object store (AWS S3, SeaweedFS, Ceph RGW...), for workers on
// separate hosts: attempt-unique uploads published by one conditional PUT of record.json, sha256
// verified on every download, a local read-through cache. Not the URL parsing (artifact-store-url.ts).
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { pipeline } from 'stream/promises';
import { Writable } from 'stream';
import type { S3Client, S3ClientConfig } from '@aws-sdk/client-s3';
import type { ArtifactRecord, ArtifactRef, ArtifactStore } from './artifacts';
import { sha256File, sha256Hex } from './artifacts';
import { BadInputError } from './bad-input';

/**
 * The AWS SDK modules, loaded on first use: every `dnd` command imports @dnd/core, and a local-only one should
 * not pay the SDK's start-up (0.3-0.5 s measured on 2 busy cores). Internal to the package.
 */
export function awsSdk(): { s3: typeof import('@aws-sdk/client-s3'); storage: typeof import('@aws-sdk/lib-storage') } {
  loaded ??= { s3: require('@aws-sdk/client-s3'), storage: require('@aws-sdk/lib-storage') };
  return loaded!;
}
let loaded: ReturnType<typeof awsSdk> | undefined;

/** Options of S3ArtifactStore; everything not given comes from the standard AWS environment. */
export interface S3ArtifactStoreOptions {
  /** Bucket name (must exist: the store never creates buckets). */
  bucket: string;
  /** Key prefix under which entries live, without leading or trailing `/` (may be empty). */
  prefix?: string;
  /** Endpoint URL of an S3-compatible server, e.g. `http://127.0.0.1:8333`. Default: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, else AWS. */
  endpoint?: string;
  /** Region. Default: AWS_REGION, AWS_DEFAULT_REGION, else `us-east-1` (what S3-compatible servers accept). */
  region?: string;
  /** Explicit credentials; default: the AWS SDK's credential chain (env, shared config/profile, SSO, IMDS...). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Path-style addressing (`endpoint/bucket/key`). Default: true when `endpoint` is set (SeaweedFS, MinIO, Ceph need it). */
  forcePathStyle?: boolean;
  /** Local read-through cache directory. Default: `$DND_CACHE/s3-artifacts` (DND_CACHE defaults to `~/.cache/dnd`). */
  cacheDir?: string;
  /** Attempts per request for faults a retry can help (network, 5xx, throttling); the SDK's standard retry mode. Default 4. */
  maxAttempts?: number;
  /** Multipart part size in bytes for uploads above it. Default 8 MiB (S3's minimum is 5 MiB). */
  partSize?: number;
}

/** What record.json holds: the record, plus the file listing of a directory artifact. */
interface StoredRecord extends ArtifactRecord {
  /** Present for directories: every regular file, sorted by path, as digestPath lists them. */
  files?: Array<{ path: string; sha256: string; bytes: number }>;
}

const KEY_RE = /^[0-9a-f]{16,128}$/;
const ALIAS_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const CREDENTIAL_ERRORS = new Set(['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AccessDenied', 'InvalidToken', 'ExpiredToken', 'CredentialsProviderError']);

/**
 * An ArtifactStore in `s3://bucket/prefix`. Layout: `<prefix>/<key[0:2]>/<key>/record.json` (the publish
 * marker) and `<prefix>/<key[0:2]>/<key>/<attempt>/data[/<relpath>]` (the content of one upload attempt).
 * A put uploads under a fresh attempt id, then publishes by writing record.json with `If-None-Match: *`;
 * readers look only through record.json, so a half upload is never seen. A writer that loses the race
 * deletes its attempt and returns the winner's record. Every download is hashed and compared with the
 * ref's sha256 before it lands in the cache (written to a temporary name, renamed into place).
 * @example
 * const store = new S3ArtifactStore({ bucket: 'dnd', prefix: 'runs', endpoint: 'http://127.0.0.1:8333' });
 * const rec = await store.put(artifactKey('hello', '1', {}, []), 'hi', 'text/plain');
 * fs.readFileSync(await store.resolve(rec.ref), 'utf8'); // 'hi' (downloaded once, then from the cache)
 */
export class S3ArtifactStore implements ArtifactStore {
  readonly location: string;
  readonly bucket: string;
  readonly prefix: string;
  readonly cacheDir: string;
  readonly endpoint: string;
  /** The SDK client (exposed for tests and tools that inspect the bucket). */
  readonly client: S3Client;
  private readonly partSize: number;

  constructor(opts: S3ArtifactStoreOptions) {
    if (!opts.bucket || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(opts.bucket)) throw new BadInputError(`S3ArtifactStore: bucket must be an S3 bucket name (3-63 of a-z 0-9 . -), got ${JSON.stringify(opts.bucket)}`);
    this.bucket = opts.bucket;
    this.prefix = (opts.prefix ?? '').replace(/^\/+|\/+$/g, '');
    this.location = `s3://${this.bucket}${this.prefix ? `/${this.prefix}` : ''}`;
    const endpoint = opts.endpoint ?? process.env['AWS_ENDPOINT_URL_S3'] ?? process.env['AWS_ENDPOINT_URL'];
    this.endpoint = endpoint ?? 'AWS S3';
    const region = opts.region ?? process.env['AWS_REGION'] ?? process.env['AWS_DEFAULT_REGION'] ?? 'us-east-1';
    const config: S3ClientConfig = {
      region, maxAttempts: opts.maxAttempts ?? 4, forcePathStyle: opts.forcePathStyle ?? Boolean(endpoint),
      // Only the checksums S3-compatible servers all accept: payload integrity is checked by our own sha256.
      requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: { connectionTimeout: 5000, requestTimeout: 120_000 },
    };
    if (endpoint) config.endpoint = endpoint;
    if (opts.credentials) config.credentials = opts.credentials;
    this.client = new (awsSdk().s3.S3Client)(config);
    this.partSize = Math.max(5 * 1024 * 1024, opts.partSize ?? 8 * 1024 * 1024);
    const cacheRoot = process.env['DND_CACHE'] ?? path.join(process.env['HOME'] ?? '.', '.cache', 'dnd');
    this.cacheDir = path.resolve(opts.cacheDir ?? path.join(cacheRoot, 's3-artifacts'));
    fs.mkdirSync(path.join(this.cacheDir, '.tmp'), { recursive: true });
  }

  /**
   * Checks that the bucket exists and the credentials may use it (HEAD bucket): a worker calls it at start
   * so that a wrong URL fails there, with a clear error, instead of at its first step.
   */
  async check(): Promise<void> {
    await this.send('HEAD bucket', '', () => this.client.send(new (awsSdk().s3.HeadBucketCommand)({ Bucket: this.bucket })));
  }

  async has(key: string): Promise<boolean> {
    return (await this.get(key)) !== null;
  }

  async get(key: string): Promise<ArtifactRecord | null> {
    const stored = await this.readRecord(key);
    return stored ? { key: stored.key, ref: stored.ref, meta: stored.meta } : null;
  }

  async put(key: string, data: Buffer | string, mediaType: string, meta: Record<string, unknown> = {}): Promise<ArtifactRecord> {
    const existing = await this.get(key);
    if (existing) return existing;
    const tmp = this.makeTmp();
    try {
      const file = path.join(tmp, 'data');
      fs.writeFileSync(file, data);
      return await this.publish(key, tmp, mediaType, meta);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  }

  async putDir<M extends Record<string, unknown> | void>(key: string, mediaType: string, write: (dir: string) => Promise<M>, meta: Record<string, unknown> = {}): Promise<ArtifactRecord> {
    const existing = await this.get(key);
    if (existing) return existing;
    const tmp = this.makeTmp();
    try {
      fs.mkdirSync(path.join(tmp, 'data'));
      const extra = await write(path.join(tmp, 'data'));
      return await this.publish(key, tmp, mediaType, { ...meta, ...(extra ?? {}) });
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  }

  async resolve(ref: ArtifactRef): Promise<string> {
    const cached = path.join(this.cacheDir, ref.sha256, 'data');
    if (fs.existsSync(cached)) return cached;
    const key = this.keyOfUri(ref.uri);
    const stored = await this.readRecord(key);
    if (!stored) throw new Error(`S3ArtifactStore.resolve: ${ref.uri} is not published in ${this.location} (no record for key ${key})`);
    const base = this.objectKeyOfUri(ref.uri);
    const tmp = this.makeTmp();
    try {
      const data = path.join(tmp, 'data');
      let got: string;
      if (stored.files) {
        fs.mkdirSync(data);
        for (const f of stored.files) {
          const dest = path.join(data, f.path);
          fs.mkdirSync(path.dirname(dest), { recursive: true });
          const sha = await this.download(`${base}/${f.path}`, dest);
          if (sha !== f.sha256) throw this.corrupt(`${base}/${f.path}`, f.sha256, sha);
        }
        got = listingDigest(stored.files);
      } else {
        got = await this.download(base, data);
      }
      if (got !== ref.sha256) throw this.corrupt(base, ref.sha256, got);
      return this.intoCache(tmp, ref.sha256);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  }

  async setAlias(name: string, record: ArtifactRecord): Promise<void> {
    const body = JSON.stringify(record, null, 2);
    await this.send('PUT alias', this.aliasKey(name), () => this.client.send(new (awsSdk().s3.PutObjectCommand)({ Bucket: this.bucket, Key: this.aliasKey(name), Body: body, ContentType: 'application/json' })));
  }

  async getAlias(name: string): Promise<ArtifactRecord | null> {
    const text = await this.getText(this.aliasKey(name));
    return text === null ? null : (JSON.parse(text) as ArtifactRecord);
  }

  /**
   * Removes entry `key`: its record first (readers stop seeing it), then every object of its attempts. For
   * scratch entries only (ArtifactStore.discard); a missing entry is not an error.
   */
  async discard(key: string): Promise<void> {
    const record = this.recordKey(key);
    await this.deleteKeys([record]);
    const dir = record.slice(0, -'record.json'.length);
    await this.deleteKeys((await this.listUnder(dir, dir)).map((o) => o.key));
  }

  /** The object key of an entry's record.json. */
  recordKey(key: string): string {
    if (!KEY_RE.test(key)) throw new BadInputError(`S3ArtifactStore: key must be 16-128 lowercase hex chars, got ${JSON.stringify(key)}`);
    return this.objectKey(`${key.slice(0, 2)}/${key}/record.json`);
  }

  private objectKey(rel: string): string {
    return this.prefix ? `${this.prefix}/${rel}` : rel;
  }

  private aliasKey(name: string): string {
    if (!ALIAS_RE.test(name)) throw new BadInputError(`S3ArtifactStore: alias must match ${ALIAS_RE}, got ${JSON.stringify(name)}`);
    return this.objectKey(`aliases/${name}.json`);
  }

  private makeTmp(): string {
    return fs.mkdtempSync(path.join(this.cacheDir, '.tmp', `${process.pid}-`));
  }

  // `s3://bucket/<prefix>/<k2>/<key>/<attempt>/data` -> the object key after the bucket.
  private objectKeyOfUri(uri: string): string {
    const head = `s3://${this.bucket}/`;
    if (!uri.startsWith(head)) throw new BadInputError(`S3ArtifactStore.resolve: ${uri} is not in ${this.location}`);
    return uri.slice(head.length);
  }

  private keyOfUri(uri: string): string {
    const objectKey = this.objectKeyOfUri(uri);
    const rel = this.prefix ? (objectKey.startsWith(`${this.prefix}/`) ? objectKey.slice(this.prefix.length + 1) : null) : objectKey;
    const m = rel === null ? null : /^[0-9a-f]{2}\/([0-9a-f]{16,128})\/[A-Za-z0-9-]+\/data$/.exec(rel);
    if (!m) throw new BadInputError(`S3ArtifactStore.resolve: ${uri} is not an entry of ${this.location}`);
    return m[1]!;
  }

  private async readRecord(key: string): Promise<StoredRecord | null> {
    const text = await this.getText(this.recordKey(key));
    return text === null ? null : (JSON.parse(text) as StoredRecord);
  }

  // Uploads <tmp>/data under a fresh attempt, then publishes record.json unless another writer did first.
  private async publish(key: string, tmp: string, mediaType: string, meta: Record<string, unknown>): Promise<ArtifactRecord> {
    const attempt = `${Date.now().toString(36)}-${crypto.randomBytes(6).toString('hex')}`;
    const base = this.objectKey(`${key.slice(0, 2)}/${key}/${attempt}/data`);
    const data = path.join(tmp, 'data');
    const isDir = fs.statSync(data).isDirectory();
    const files = isDir ? listFiles(data) : undefined;
    const uploaded: string[] = [];
    let record: StoredRecord;
    try {
      if (files) {
        for (const f of files) {
          uploaded.push(`${base}/${f.path}`);
          await this.upload(`${base}/${f.path}`, path.join(data, f.path), 'application/octet-stream');
        }
      } else {
        uploaded.push(base);
        await this.upload(base, data, mediaType);
      }
      const sha256 = files ? listingDigest(files) : sha256File(data);
      const bytes = files ? files.reduce((s, f) => s + f.bytes, 0) : fs.statSync(data).size;
      record = { key, ref: { uri: `s3://${this.bucket}/${base}`, sha256, bytes, mediaType }, meta, ...(files ? { files } : {}) };
      const won = await this.putIfAbsent(this.recordKey(key), JSON.stringify(record, null, 2));
      if (!won) {
        await this.deleteKeys(uploaded);
        const winner = await this.get(key);
        if (!winner) throw new Error(`S3ArtifactStore: record of ${key} was taken by another writer but cannot be read back`);
        return winner;
      }
    } catch (e) {
      // Nothing was published: take the attempt's objects away (best effort; they are unreachable anyway).
      await this.deleteKeys(uploaded).catch(() => undefined);
      throw e;
    }
    // The writer keeps a verified copy: a later resolve on this host downloads nothing.
    if (!fs.existsSync(path.join(this.cacheDir, record.ref.sha256))) this.intoCache(tmp, record.ref.sha256);
    return { key, ref: record.ref, meta };
  }

  private async upload(objectKey: string, file: string, contentType: string): Promise<void> {
    await this.send('upload', objectKey, () => new (awsSdk().storage.Upload)({
      client: this.client, partSize: this.partSize, queueSize: 2, leavePartsOnError: false,
      params: { Bucket: this.bucket, Key: objectKey, Body: fs.createReadStream(file), ContentType: contentType },
    }).done());
  }

  // PUT with If-None-Match: * (the first writer wins). False when the object already exists.
  private async putIfAbsent(objectKey: string, body: string): Promise<boolean> {
    try {
      await this.send('publish', objectKey, () => this.client.send(new (awsSdk().s3.PutObjectCommand)({ Bucket: this.bucket, Key: objectKey, Body: body, ContentType: 'application/json', IfNoneMatch: '*' })));
      return true;
    } catch (e) {
      const cause = (e as { cause?: { name?: string; $metadata?: { httpStatusCode?: number } } }).cause;
      if (cause?.name === 'PreconditionFailed' || cause?.$metadata?.httpStatusCode === 412 || cause?.name === 'ConditionalRequestConflict') return false;
      throw e;
    }
  }

  private async deleteKeys(keys: string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const chunk = keys.slice(i, i + 1000);
      if (chunk.length) await this.send('delete', chunk[0]!, () => this.client.send(new (awsSdk().s3.DeleteObjectsCommand)({ Bucket: this.bucket, Delete: { Objects: chunk.map((Key) => ({ Key })), Quiet: true } })));
    }
  }

  /** Keys of every object under `<prefix>/` (for audits and tests; pages through the listing). */
  async listObjectKeys(): Promise<string[]> {
    return (await this.listObjects()).map((o) => o.key);
  }

  /** Every object under `<prefix>/` with its size in bytes (what a run occupies: records, data, orphans). */
  async listObjects(): Promise<Array<{ key: string; bytes: number }>> {
    return this.listUnder(this.prefix ? `${this.prefix}/` : undefined, this.prefix);
  }

  // Every object whose key starts with `prefix` (the whole bucket when undefined), page by page; `label` names it in errors.
  private async listUnder(prefix: string | undefined, label: string): Promise<Array<{ key: string; bytes: number }>> {
    const keys: Array<{ key: string; bytes: number }> = [];
    let token: string | undefined;
    do {
      const r = await this.send('list', label, () => this.client.send(new (awsSdk().s3.ListObjectsV2Command)({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token })));
      for (const o of r.Contents ?? []) if (o.Key) keys.push({ key: o.Key, bytes: o.Size ?? 0 });
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
    return keys;
  }

  private async getText(objectKey: string): Promise<string | null> {
    try {
      const r = await this.send('GET', objectKey, () => this.client.send(new (awsSdk().s3.GetObjectCommand)({ Bucket: this.bucket, Key: objectKey })));
      return await r.Body!.transformToString('utf8');
    } catch (e) {
      if ((e as { cause?: { name?: string } }).cause?.name === 'NoSuchKey') return null;
      throw e;
    }
  }

  // Streams an object to `dest`, hashing on the way; returns the hex sha256 of what arrived.
  private async download(objectKey: string, dest: string): Promise<string> {
    const r = await this.send('GET', objectKey, () => this.client.send(new (awsSdk().s3.GetObjectCommand)({ Bucket: this.bucket, Key: objectKey })));
    const hash = crypto.createHash('sha256');
    const out = fs.createWriteStream(dest);
    const tee = new Writable({
      write(chunk: Buffer, _enc, cb): void { hash.update(chunk); out.write(chunk, cb); },
      final(cb): void { out.end(cb); },
    });
    await pipeline(r.Body as NodeJS.ReadableStream, tee);
    return hash.digest('hex');
  }

  private corrupt(objectKey: string, expected: string, got: string): BadInputError {
    return new BadInputError(`S3ArtifactStore: s3://${this.bucket}/${objectKey} is corrupt: sha256 ${got}, expected ${expected} `
      + '(the stored object differs from what was published; a retry cannot fix it: delete the entry\'s record.json so the step recomputes it)');
  }

  // Renames <tmp>/data into <cacheDir>/<sha256>/data (a concurrent reader may have won: keep theirs).
  private intoCache(tmp: string, sha256: string): string {
    const final = path.join(this.cacheDir, sha256);
    const staged = `${tmp}.cache`;
    fs.mkdirSync(staged);
    fs.renameSync(path.join(tmp, 'data'), path.join(staged, 'data'));
    try {
      fs.renameSync(staged, final);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      fs.rmSync(staged, { recursive: true, force: true });
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e;
    }
    return path.join(final, 'data');
  }

  // Runs one SDK call and turns its failure into an error that names the store, the operation and the key.
  // Credentials and a missing bucket can never succeed: BadInputError (not retried). Anything else stays a
  // plain Error (Temporal may retry) after the SDK's own retries.
  private async send<T>(op: string, objectKey: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (e) {
      const err = e as Error & { code?: string; $metadata?: { httpStatusCode?: number; attempts?: number } };
      const status = err.$metadata?.httpStatusCode;
      const attempts = err.$metadata?.attempts ?? 1;
      const where = `${op} s3://${this.bucket}/${objectKey} at ${this.endpoint}`;
      const tail = `(${err.name}${status ? ` ${status}` : ''}, ${attempts} attempt${attempts === 1 ? '' : 's'}): ${err.message}`;
      if (err.name === 'NoSuchBucket' || (op === 'HEAD bucket' && status === 404)) {
        throw new BadInputError(`S3ArtifactStore: bucket "${this.bucket}" does not exist at ${this.endpoint} [${where}] ${tail}`, { cause: err });
      }
      if (CREDENTIAL_ERRORS.has(err.name) || status === 403 || status === 401) {
        throw new BadInputError(`S3ArtifactStore: the credentials were refused [${where}] ${tail} (set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE)`, { cause: err });
      }
      if (err.name === 'NoSuchKey' || err.name === 'PreconditionFailed' || status === 412) {
        throw Object.assign(new Error(`S3ArtifactStore: ${where} ${tail}`, { cause: err }));
      }
      const unreachable = /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNRESET|EHOSTUNREACH|TimeoutError|socket hang up/.test(`${err.name} ${err.code ?? ''} ${err.message}`);
      throw new Error(`S3ArtifactStore: ${unreachable ? `cannot reach the S3 endpoint ${this.endpoint}` : 'request failed'} [${where}] ${tail}`, { cause: err });
    }
  }
}

/** Every regular file under `dir`, sorted by relative path, with its sha256 and size (digestPath's listing). */
function listFiles(dir: string): Array<{ path: string; sha256: string; bytes: number }> {
  const out: Array<{ path: string; sha256: string; bytes: number }> = [];
  const walk = (abs: string, rel: string): void => {
    for (const name of fs.readdirSync(abs).sort()) {
      const a = path.join(abs, name);
      const r = rel ? `${rel}/${name}` : name;
      const s = fs.statSync(a);
      if (s.isDirectory()) walk(a, r);
      else if (s.isFile()) out.push({ path: r, sha256: sha256File(a), bytes: s.size });
    }
  };
  walk(dir, '');
  return out;
}

/** The digest of a directory from its listing: equal to digestPath's for the same files. */
function listingDigest(files: Array<{ path: string; sha256: string; bytes: number }>): string {
  return sha256Hex(files.map((f) => `${f.path}\0${f.sha256}\0${f.bytes}\n`).join(''));
}
