// Tests of S3ArtifactStore and openArtifactStore against a real SeaweedFS server (infra/seaweedfs.sh) on
// loopback: put/get/resolve across two "hosts" (own caches), multipart, half uploads, publish races,
// corruption, and the clear errors of a missing bucket, wrong credentials and an unreachable endpoint.
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { artifactKey, digestPath, LocalArtifactStore } from './artifacts';
import { openArtifactStore, parseS3Url } from './artifact-store-url';
import { isBadInput } from './bad-input';
import { S3ArtifactStore } from './s3-artifact-store';
import { startSeaweedFs, type SeaweedFsServer } from './seaweedfs-server';

jest.setTimeout(180_000);
const BUCKET = 'dnd-test';
const tmp = (name: string): string => fs.mkdtempSync(path.join(os.tmpdir(), `dnd-s3-${name}-`));
let s3: SeaweedFsServer;
let prefixN = 0;

beforeAll(async () => {
  s3 = await startSeaweedFs({ dir: tmp('server'), buckets: [BUCKET] });
});
afterAll(async () => {
  await s3?.stop();
});

/** A store as one host sees it: its own cache directory, a fresh prefix per test unless given. */
function host(prefix: string, extra: Partial<ConstructorParameters<typeof S3ArtifactStore>[0]> = {}): S3ArtifactStore {
  return new S3ArtifactStore({ bucket: BUCKET, prefix, endpoint: s3.endpoint, credentials: s3.credentials, cacheDir: tmp('cache'), ...extra });
}
const freshPrefix = (): string => `t${++prefixN}-${process.pid}`;

/** Counts GetObject requests a store sends (an SDK middleware on the real client, not a mock). */
function countGets(store: S3ArtifactStore): { n: number } {
  const c = { n: 0 };
  store.client.middlewareStack.add((next, ctx) => async (args) => {
    if (ctx.commandName === 'GetObjectCommand') c.n++;
    return next(args);
  }, { step: 'initialize', name: `count-gets-${Math.random()}` });
  return c;
}

describe('S3ArtifactStore on SeaweedFS', () => {
  it('puts bytes once, a second host resolves them by downloading once, then from its cache', async () => {
    const prefix = freshPrefix();
    const a = host(prefix);
    const key = artifactKey('t', '1', {}, []);
    expect(await a.has(key)).toBe(false);
    const rec = await a.put(key, 'hello', 'text/plain', { n: 1 });
    expect(rec.ref).toEqual({ uri: expect.stringMatching(new RegExp(`^s3://${BUCKET}/${prefix}/${key.slice(0, 2)}/${key}/[a-z0-9-]+/data$`)), sha256: '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824', bytes: 5, mediaType: 'text/plain' });
    expect(await a.put(key, 'other bytes', 'text/plain')).toEqual(rec);
    expect(await a.get(key)).toEqual(rec);

    const b = host(prefix);
    const gets = countGets(b);
    expect(await b.get(key)).toEqual(rec);
    const p = await b.resolve(rec.ref);
    expect(fs.readFileSync(p, 'utf8')).toBe('hello');
    expect(p.startsWith(b.cacheDir)).toBe(true);
    const afterFirst = gets.n;
    expect(afterFirst).toBe(3); // get's record.json, resolve's record.json, the data
    expect(await b.resolve(rec.ref)).toBe(p);
    expect(gets.n).toBe(afterFirst);
  });

  it('stores a directory (multipart for a file above the part size); another host gets the same digest', async () => {
    const prefix = freshPrefix();
    const a = host(prefix, { partSize: 5 * 1024 * 1024 });
    const big = Buffer.alloc(12 * 1024 * 1024 + 17);
    for (let i = 0; i < big.length; i += 4096) big.writeUInt32LE(i, i);
    const key = artifactKey('dir', '1', {}, []);
    const rec = await a.putDir(key, 'application/vnd.dnd.zoo+dir', async (dir) => {
      fs.mkdirSync(path.join(dir, 'sub'));
      fs.writeFileSync(path.join(dir, 'sub', 'big.bin'), big);
      fs.writeFileSync(path.join(dir, 'a.json'), '{"x":1}');
      return { files: 2 };
    });
    expect(rec.meta).toEqual({ files: 2 });
    expect(rec.ref.bytes).toBe(big.length + 7);
    const keys = await a.listObjectKeys();
    expect(keys.filter((k) => k.includes(key)).map((k) => k.replace(/\/[a-z0-9]+-[0-9a-f]{12}\//, '/ATTEMPT/')).sort())
      .toEqual([`${prefix}/${key.slice(0, 2)}/${key}/ATTEMPT/data/a.json`, `${prefix}/${key.slice(0, 2)}/${key}/ATTEMPT/data/sub/big.bin`, `${prefix}/${key.slice(0, 2)}/${key}/record.json`]);
    const b = host(prefix);
    const dir = await b.resolve(rec.ref);
    expect(digestPath(dir)).toEqual({ sha256: rec.ref.sha256, bytes: rec.ref.bytes });
    expect(fs.readFileSync(path.join(dir, 'sub', 'big.bin')).equals(big)).toBe(true);
  });

  it('never shows a half upload: attempt objects without record.json are invisible, and a later put publishes its own', async () => {
    const prefix = freshPrefix();
    const a = host(prefix);
    const key = artifactKey('half', '1', {}, []);
    // What a writer killed between its upload and its publish leaves behind: attempt objects, no record.
    const orphan = `${prefix}/${key.slice(0, 2)}/${key}/killed-000000000000/data`;
    await a.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: orphan, Body: 'half of it' }));
    expect(await a.has(key)).toBe(false);
    expect(await a.get(key)).toBeNull();
    await expect(a.resolve({ uri: `s3://${BUCKET}/${orphan}`, sha256: 'a'.repeat(64), bytes: 10, mediaType: 'text/plain' })).rejects.toThrow(/is not published/);
    // A putDir whose writer fails uploads nothing and publishes nothing.
    await expect(a.putDir(key, 'inode/directory', async (dir) => { fs.writeFileSync(path.join(dir, 'x'), 'x'); throw new Error('step crashed'); })).rejects.toThrow('step crashed');
    expect((await a.listObjectKeys()).filter((k) => k.includes(key))).toEqual([orphan]);
    const rec = await a.put(key, 'whole', 'text/plain');
    expect(fs.readFileSync(await host(prefix).resolve(rec.ref), 'utf8')).toBe('whole');
  });

  it('two hosts racing on one key: the first publish wins, both return it, the loser removes its upload', async () => {
    const prefix = freshPrefix();
    const key = artifactKey('race', '1', {}, []);
    const [r1, r2] = await Promise.all([host(prefix).put(key, 'from host 1', 'text/plain'), host(prefix).put(key, 'from host 2', 'text/plain')]);
    expect(r1).toEqual(r2);
    const data = (await host(prefix).listObjectKeys()).filter((k) => k.endsWith('/data'));
    expect(data).toEqual([r1.ref.uri.slice(`s3://${BUCKET}/`.length)]);
  });

  it('a corrupted object fails the read with a BadInputError naming the key, and nothing lands in the cache', async () => {
    const prefix = freshPrefix();
    const key = artifactKey('corrupt', '1', {}, []);
    const rec = await host(prefix).put(key, 'the real bytes', 'text/plain');
    const objectKey = rec.ref.uri.slice(`s3://${BUCKET}/`.length);
    const b = host(prefix);
    await b.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: objectKey, Body: 'the r3al bytes' }));
    const err = await b.resolve(rec.ref).then(() => null, (e: Error) => e);
    expect(err).not.toBeNull();
    expect(isBadInput(err)).toBe(true);
    expect(err!.message).toContain(`s3://${BUCKET}/${objectKey} is corrupt`);
    expect(err!.message).toContain(rec.ref.sha256);
    expect(fs.readdirSync(b.cacheDir).filter((f) => f !== '.tmp')).toEqual([]);
    expect(fs.readdirSync(path.join(b.cacheDir, '.tmp'))).toEqual([]);
  });

  it('aliases point at records and can be moved', async () => {
    const a = host(freshPrefix());
    const r1 = await a.put(artifactKey('al', '1', {}, []), 'one', 'text/plain');
    const r2 = await a.put(artifactKey('al', '2', {}, []), 'two', 'text/plain');
    expect(await a.getAlias('latest-generator')).toBeNull();
    await a.setAlias('latest-generator', r1);
    await a.setAlias('latest-generator', r2);
    expect(await a.getAlias('latest-generator')).toEqual(r2);
    await expect(a.setAlias('../x', r1)).rejects.toThrow(/alias must match/);
  });
  it('discards a scratch entry with every object of its attempts; other entries stay; a missing one is no error', async () => {
    const prefix = freshPrefix();
    const a = host(prefix);
    const keep = await a.put(artifactKey('keep', '1', {}, []), 'kept', 'text/plain');
    const key = artifactKey('scratch', '1', {}, []);
    await a.putDir(key, 'application/vnd.dnd.work+dir', async (dir) => {
      fs.mkdirSync(path.join(dir, 'files', 'set'), { recursive: true });
      fs.writeFileSync(path.join(dir, 'files', 'set', 'manifest.json'), '{}');
      fs.writeFileSync(path.join(dir, 'index.json'), '{}');
    });
    expect((await a.listObjectKeys()).filter((k) => k.includes(key)).length).toBe(3); // record + 2 files
    await a.discard(key);
    expect(await a.get(key)).toBeNull();
    expect((await a.listObjectKeys()).filter((k) => k.includes(key))).toEqual([]);
    expect(await a.get(keep.key)).toEqual(keep);
    await a.discard(key);
  });
});

describe('S3ArtifactStore failures', () => {
  it('a missing bucket: BadInputError naming the bucket, one attempt, nothing retried', async () => {
    const store = host('p', { bucket: 'no-such-bucket' });
    const err = await store.check().then(() => null, (e: Error) => e);
    expect(isBadInput(err)).toBe(true);
    expect(err!.message).toMatch(/bucket "no-such-bucket" does not exist at http:\/\/127\.0\.0\.1:\d+/);
    const put = await store.put(artifactKey('nb', '1', {}, []), 'x', 'text/plain').then(() => null, (e: Error) => e);
    expect(isBadInput(put)).toBe(true);
    expect(put!.message).toMatch(/bucket "no-such-bucket" does not exist.*1 attempt\)/);
  });

  it('wrong credentials: BadInputError saying so, after one attempt', async () => {
    const store = host('p', { credentials: { accessKeyId: s3.credentials.accessKeyId, secretAccessKey: 'wrong-secret-0000000000' } });
    const err = await store.get(artifactKey('wc', '1', {}, [])).then(() => null, (e: Error) => e);
    expect(isBadInput(err)).toBe(true);
    expect(err!.message).toMatch(/credentials were refused \[GET s3:\/\/dnd-test\/p\/.*record\.json at http:\/\/127\.0\.0\.1:\d+\] \(SignatureDoesNotMatch 403, 1 attempt\)/);
    const unknown = await host('p', { credentials: { accessKeyId: 'nobody', secretAccessKey: 'x' } }).check().then(() => null, (e: Error) => e);
    expect(isBadInput(unknown)).toBe(true);
    expect(unknown!.message).toMatch(/credentials were refused/);
  });

  it('an unreachable endpoint: a plain (retryable) Error naming the endpoint, after the SDK\'s retries', async () => {
    const port = await new Promise<number>((resolve) => { const s = net.createServer().listen(0, '127.0.0.1', () => { const p = (s.address() as net.AddressInfo).port; s.close(() => resolve(p)); }); });
    const store = host('p', { endpoint: `http://127.0.0.1:${port}`, maxAttempts: 3 });
    const err = await store.put(artifactKey('ur', '1', {}, []), 'x', 'text/plain').then(() => null, (e: Error) => e);
    expect(err).not.toBeNull();
    expect(isBadInput(err)).toBe(false);
    expect(err!.message).toMatch(new RegExp(`cannot reach the S3 endpoint http://127\\.0\\.0\\.1:${port} .*3 attempts\\)`));
    expect(fs.readdirSync(path.join(store.cacheDir, '.tmp'))).toEqual([]);
  });
});

describe('openArtifactStore', () => {
  it('opens s3:// URLs (endpoint in the query, credentials from the AWS environment) and checks them', async () => {
    const saved = { ...process.env };
    try {
      process.env['AWS_ACCESS_KEY_ID'] = s3.credentials.accessKeyId;
      process.env['AWS_SECRET_ACCESS_KEY'] = s3.credentials.secretAccessKey;
      process.env['DND_CACHE'] = tmp('dndcache');
      const store = await openArtifactStore(`s3://${BUCKET}/via-url/?endpoint=${s3.endpoint}`);
      expect(store).toBeInstanceOf(S3ArtifactStore);
      expect(store.location).toBe(`s3://${BUCKET}/via-url`);
      expect((store as S3ArtifactStore).cacheDir).toBe(path.join(process.env['DND_CACHE'], 's3-artifacts'));
      const rec = await store.put(artifactKey('url', '1', {}, []), 'via url', 'text/plain');
      expect(fs.readFileSync(await store.resolve(rec.ref), 'utf8')).toBe('via url');
      await expect(openArtifactStore(`s3://no-such-bucket/x?endpoint=${s3.endpoint}`)).rejects.toThrow(/bucket "no-such-bucket" does not exist/);
    } finally {
      process.env = saved;
    }
  });

  it('opens paths and file:// URLs as LocalArtifactStore; rejects what it cannot open, naming it', async () => {
    const dir = tmp('local');
    expect(await openArtifactStore(dir)).toBeInstanceOf(LocalArtifactStore);
    expect(((await openArtifactStore(`file://${dir}`)) as LocalArtifactStore).root).toBe(dir);
    await expect(openArtifactStore('gs://bucket/x')).rejects.toThrow(/unsupported scheme/);
    expect(() => parseS3Url('s3://AK:SK@bucket/x')).toThrow(/credentials do not belong in the URL/);
    expect(() => parseS3Url('s3://bucket/x?endpoint=ftp://h')).toThrow(/endpoint must be an http/);
    expect(() => parseS3Url('s3://bucket/x?colour=red')).toThrow(/unknown parameter "colour"/);
    expect(parseS3Url('s3://bucket/a/b/?region=eu-west-1&pathStyle=false')).toEqual({ bucket: 'bucket', prefix: 'a/b', region: 'eu-west-1', forcePathStyle: false });
  });
});
