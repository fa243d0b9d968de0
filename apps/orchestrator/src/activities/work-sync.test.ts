import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { LocalArtifactStore, writeFileAtomic } from '@dnd/core';
import { restoreWork, stageWork, workDirEmpty, workEntries, workKey, WorkUploader } from './work-sync';

const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'dnd-work-sync-'));

/** Every file under `dir` with its content (`.units` left out, as the sync leaves it out). */
function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string): void => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = path.join(rel, e.name);
      if (!rel && e.name === '.units') continue;
      if (e.isDirectory()) walk(r); else out[r] = fs.readFileSync(path.join(dir, r), 'utf8');
    }
  };
  walk('');
  return out;
}

describe('work folder sync through the store', () => {
  it('restores on another host exactly what the folder held at the last staged point: later files, replaced files and removed files included, .units left out', async () => {
    const root = tmp();
    const store = new LocalArtifactStore(path.join(root, 'store'));
    const work = path.join(root, 'host-a', 'key1');
    const keyOf = (s: number): string => workKey('collectSet', '3', 'a'.repeat(64), s);
    const up = new WorkUploader(store, keyOf, 0, (m) => { throw new Error(m); });
    // A step's folder as collectSet leaves it between snapshots: manifest, snapshot folders, one trainer state.
    fs.mkdirSync(path.join(work, 'set', 'snapshots', 'step-0001'), { recursive: true });
    fs.mkdirSync(path.join(work, '.units', '0'), { recursive: true });
    fs.writeFileSync(path.join(work, '.units', '0', 'x'), 'unit');
    writeFileAtomic(path.join(work, 'set', 'manifest.json'), '{"snapshots":1}');
    fs.writeFileSync(path.join(work, 'set', 'snapshots', 'step-0001', 'adapter.safetensors'), 's1');
    fs.writeFileSync(path.join(work, 'set', 'state-0001.safetensors'), 'state1');
    stageWork(work, `${work}.staged-0`);
    up.save(`${work}.staged-0`);
    await up.idle();
    stageWork(work, `${work}.staged-1`); // nothing changed: no entry
    up.save(`${work}.staged-1`);
    await up.idle();
    expect(up.entries).toBe(1);
    // Between two staged points: a new snapshot, the manifest replaced by rename, the old state removed.
    fs.mkdirSync(path.join(work, 'set', 'snapshots', 'step-0002'));
    fs.writeFileSync(path.join(work, 'set', 'snapshots', 'step-0002', 'adapter.safetensors'), 's2');
    fs.writeFileSync(path.join(work, 'set', 'state-0002.safetensors'), 'state2');
    fs.rmSync(path.join(work, 'set', 'state-0001.safetensors'));
    writeFileAtomic(path.join(work, 'set', 'manifest.json'), '{"snapshots":2}');
    stageWork(work, `${work}.staged-2`);
    up.save(`${work}.staged-2`);
    // After the staged point the step goes on: none of this may reach the store.
    fs.writeFileSync(path.join(work, 'set', 'state-0003.safetensors'), 'not staged');
    writeFileAtomic(path.join(work, 'set', 'manifest.json'), '{"snapshots":3}');
    await up.close();
    expect(fs.existsSync(`${work}.staged-2`)).toBe(false);
    const atStaged = { ...tree(work), [path.join('set', 'manifest.json')]: '{"snapshots":2}' };
    delete atStaged[path.join('set', 'state-0003.safetensors')];

    const entries = await workEntries(store, keyOf);
    expect(entries).toHaveLength(2);
    // The second entry carries only what changed; every entry lists the whole folder.
    const second = await store.resolve(entries[1]!.ref);
    expect(JSON.parse(fs.readFileSync(path.join(second, 'index.json'), 'utf8'))).toMatchObject({
      seq: 1,
      changed: [path.join('set', 'manifest.json'), path.join('set', 'snapshots', 'step-0002', 'adapter.safetensors'), path.join('set', 'state-0002.safetensors')],
    });

    const other = path.join(root, 'host-b', 'key1');
    expect(workDirEmpty(other)).toBe(true);
    expect(await restoreWork(store, entries, other)).toBe(2);
    expect(tree(other)).toEqual(atStaged);
    expect(fs.existsSync(path.join(other, '.units'))).toBe(false);
    // The staged copies were links: the step's own files are untouched.
    expect(fs.readFileSync(path.join(work, 'set', 'manifest.json'), 'utf8')).toBe('{"snapshots":3}');
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('keeps only the newest waiting copy while one uploads, and logs a failed upload without stopping', async () => {
    const root = tmp();
    const store = new LocalArtifactStore(path.join(root, 'store'));
    const work = path.join(root, 'w');
    fs.mkdirSync(work);
    const logs: string[] = [];
    let calls = 0;
    // Fault injection: the first upload fails as an unreachable endpoint would (the S3 store's own errors are tested in @dnd/core).
    const flaky = Object.create(store) as LocalArtifactStore;
    flaky.putDir = async (...a: Parameters<LocalArtifactStore['putDir']>) => {
      calls++;
      if (calls === 1) throw new Error('endpoint unreachable');
      return store.putDir(...a);
    };
    const keyOf = (s: number): string => workKey('trainGenerator', '2', 'b'.repeat(64), s);
    const up = new WorkUploader(flaky, keyOf, 0, (m) => logs.push(m));
    for (let i = 0; i < 4; i++) {
      fs.writeFileSync(path.join(work, `ckpt-${i}`), String(i));
      stageWork(work, `${work}.staged-${i}`);
      up.save(`${work}.staged-${i}`);
    }
    await up.idle();
    await up.close();
    // The first upload failed (logged); of the three staged while it ran, only the newest was uploaded.
    expect(logs).toEqual([expect.stringMatching(/entry 0.*endpoint unreachable/)]);
    expect(calls).toBe(2);
    const entries = await workEntries(store, keyOf);
    expect(entries).toHaveLength(1);
    const restored = path.join(root, 'r');
    await restoreWork(store, entries, restored);
    expect(tree(restored)).toEqual({ 'ckpt-0': '0', 'ckpt-1': '1', 'ckpt-2': '2', 'ckpt-3': '3' });
    for (let i = 0; i < 4; i++) expect(fs.existsSync(`${work}.staged-${i}`)).toBe(false);
    fs.rmSync(root, { recursive: true, force: true });
  });
});
