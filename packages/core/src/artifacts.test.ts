// Tests of the artifact store and run manifests: key stability, idempotent puts, atomic directory
// commits under concurrent writers, aliases, and manifest validation.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { artifactKey, digestPath, LocalArtifactStore } from './artifacts';
import { readRunManifest, writeRunManifest, type RunManifest } from './run-manifest';

const tmpRoot = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'dnd-artifacts-'));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('artifactKey', () => {
  it('ignores config key order and changes with every component', () => {
    const k = artifactKey('collect-set', '1', { a: 1, b: { c: [1, 2] } }, ['d1']);
    expect(k).toMatch(/^[0-9a-f]{64}$/);
    expect(artifactKey('collect-set', '1', { b: { c: [1, 2] }, a: 1 }, ['d1'])).toBe(k);
    expect(artifactKey('collect-set', '2', { a: 1, b: { c: [1, 2] } }, ['d1'])).not.toBe(k);
    expect(artifactKey('build-pairs', '1', { a: 1, b: { c: [1, 2] } }, ['d1'])).not.toBe(k);
    expect(artifactKey('collect-set', '1', { a: 1, b: { c: [2, 1] } }, ['d1'])).not.toBe(k);
    expect(artifactKey('collect-set', '1', { a: 1, b: { c: [1, 2] } }, ['d2'])).not.toBe(k);
  });
  it('rejects an empty step or version', () => {
    expect(() => artifactKey('', '1', {}, [])).toThrow(/step/);
    expect(() => artifactKey('s', '', {}, [])).toThrow(/stepVersion/);
  });
});

describe('LocalArtifactStore', () => {
  it('puts bytes once, returns the first record for a second put, resolves to the content', async () => {
    const store = new LocalArtifactStore(tmpRoot());
    const key = artifactKey('t', '1', {}, []);
    expect(await store.has(key)).toBe(false);
    const rec = await store.put(key, 'hello', 'text/plain', { n: 1 });
    expect(rec.ref).toEqual({ uri: expect.stringMatching(/^file:\/\//), sha256: '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824', bytes: 5, mediaType: 'text/plain' });
    const again = await store.put(key, 'other bytes', 'text/plain');
    expect(again).toEqual(rec);
    expect(fs.readFileSync(await store.resolve(rec.ref), 'utf8')).toBe('hello');
    expect(await store.get(key)).toEqual(rec);
    expect(fs.readdirSync(path.join(store.root, '.tmp'))).toEqual([]);
  });

  it('digests a directory by names and contents only', async () => {
    const a = tmpRoot();
    const b = tmpRoot();
    for (const d of [a, b]) {
      fs.mkdirSync(path.join(d, 'sub'));
      fs.writeFileSync(path.join(d, 'x.bin'), Buffer.from([1, 2, 3]));
      fs.writeFileSync(path.join(d, 'sub', 'y.json'), '{}');
    }
    expect(digestPath(a)).toEqual(digestPath(b));
    expect(digestPath(a).bytes).toBe(5);
    fs.writeFileSync(path.join(b, 'sub', 'y.json'), '[]');
    expect(digestPath(a).sha256).not.toBe(digestPath(b).sha256);
  });

  it('concurrent putDir of one key: one entry, one journal line, every caller gets the same record, write skipped once it exists', async () => {
    const store = new LocalArtifactStore(tmpRoot());
    const key = artifactKey('snap', '1', { i: 0 }, []);
    let calls = 0;
    const write = async (dir: string): Promise<{ writer: number }> => {
      const me = ++calls;
      fs.writeFileSync(path.join(dir, 'w.txt'), 'same content');
      await sleep(20); // all writers are inside write() at once: the rename race is real
      fs.writeFileSync(path.join(dir, 'v.txt'), 'same too');
      return { writer: me };
    };
    const recs = await Promise.all([0, 1, 2, 3].map(() => store.putDir(key, 'inode/directory', write)));
    expect(calls).toBe(4);
    for (const r of recs) expect(r).toEqual(recs[0]);
    const journal = fs.readFileSync(path.join(store.root, 'journal.jsonl'), 'utf8').trim().split('\n');
    expect(journal).toHaveLength(1);
    expect(JSON.parse(journal[0]!).key).toBe(key);
    const dir = await store.resolve(recs[0]!.ref);
    expect(fs.readdirSync(dir).sort()).toEqual(['v.txt', 'w.txt']);
    await store.putDir(key, 'inode/directory', write);
    expect(calls).toBe(4);
    expect(fs.readdirSync(path.join(store.root, '.tmp'))).toEqual([]);
  });

  it('a writer that throws leaves no entry and no temporary files', async () => {
    const store = new LocalArtifactStore(tmpRoot());
    const key = artifactKey('boom', '1', {}, []);
    await expect(store.putDir(key, 'inode/directory', async (dir) => {
      fs.writeFileSync(path.join(dir, 'half'), 'x');
      throw new Error('crashed mid-write');
    })).rejects.toThrow('crashed mid-write');
    expect(await store.has(key)).toBe(false);
    expect(fs.readdirSync(path.join(store.root, '.tmp'))).toEqual([]);
  });

  it('aliases point at records and can move', async () => {
    const store = new LocalArtifactStore(tmpRoot());
    const r1 = await store.put(artifactKey('g', '1', { v: 1 }, []), 'g1', 'text/plain');
    const r2 = await store.put(artifactKey('g', '1', { v: 2 }, []), 'g2', 'text/plain');
    expect(await store.getAlias('latest-generator')).toBeNull();
    await store.setAlias('latest-generator', r1);
    await store.setAlias('latest-generator', r2);
    expect(await store.getAlias('latest-generator')).toEqual(r2);
    await expect(store.setAlias('../escape', r1)).rejects.toThrow(/alias/);
  });

  it('rejects keys that are not hex (no path tricks)', async () => {
    const store = new LocalArtifactStore(tmpRoot());
    await expect(store.has('../../etc')).rejects.toThrow(/key/);
  });
});

describe('run manifest', () => {
  const base = (): RunManifest => ({
    manifestVersion: 1, runId: 'r1', createdAt: '2026-11-28T00:00:00Z', packages: { '@dnd/core': '0.1.0' }, preset: 'quickstart',
    config: { seed: 1 }, seeds: { zoo: 1 }, backend: { cpu: 'tensorflow' }, artifacts: {},
    temporal: { address: 'localhost:7233', namespace: 'default', workflowIds: ['r1'] },
  });
  it('round-trips and validates artifact refs', () => {
    const dir = tmpRoot();
    const m = base();
    m.artifacts['report'] = { uri: 'file:///x', sha256: 'a'.repeat(64), bytes: 3, mediaType: 'application/json' };
    expect(readRunManifest(writeRunManifest(dir, m))).toEqual(m);
    const bad = base();
    bad.artifacts['report'] = { uri: 'file:///x', sha256: 'nothex', bytes: 3, mediaType: 'x' };
    expect(() => writeRunManifest(dir, bad)).toThrow(/artifacts\.report/);
  });
});
