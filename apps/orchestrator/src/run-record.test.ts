// Run directories read without Temporal: status.json (a dead driver reads as interrupted), the report files
// copied beside the run, and `dnd runs`' listing and table.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { LocalArtifactStore } from '@dnd/core';
import { formatRunList, listRuns, placeManifest, placeReports, readRunStatus, writeRunStatus, type RunStatus } from './run-record';

const base = (runId: string, extra: Partial<RunStatus> = {}): RunStatus => ({
  runId, status: 'completed', preset: 'quickstart', workflow: 'dndPipeline', startedAt: '2026-12-01T09:00:00.000Z', updatedAt: '2026-12-01T09:10:00.000Z', reports: [], ...extra,
});

describe('run records', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'dnd-runs-'));
  const mk = (id: string): string => { const d = path.join(root, id); fs.mkdirSync(d, { recursive: true }); fs.writeFileSync(path.join(d, 'config.json'), JSON.stringify({ runId: id, preset: 'p' })); return d; };

  it('a running status whose dnd process is gone reads as interrupted', () => {
    const d = mk('a');
    writeRunStatus(d, base('a', { status: 'running', pid: process.pid }));
    expect(readRunStatus(d)!.status).toBe('running');
    writeRunStatus(d, base('a', { status: 'running', pid: 2 ** 22 + 12345 })); // above Linux's pid_max: no such process
    expect(readRunStatus(d)!.status).toBe('interrupted');
  });

  it('places report.md, report.html and results.json beside the run, byte for byte, and nothing else', () => {
    const store = fs.mkdtempSync(path.join(os.tmpdir(), 'dnd-store-'));
    fs.writeFileSync(path.join(store, 'report.md'), '# r\n');
    fs.writeFileSync(path.join(store, 'results.json'), '{"x":1}');
    fs.writeFileSync(path.join(store, 'predictions.arrow'), 'x');
    const d = mk('b');
    expect(placeReports(store, d)).toEqual([path.join(d, 'report.md'), path.join(d, 'results.json')]);
    expect(fs.readFileSync(path.join(d, 'results.json'), 'utf8')).toBe('{"x":1}');
    expect(fs.existsSync(path.join(d, 'predictions.arrow'))).toBe(false);
  });

  it('lists runs newest first with status, preset, date and report; a run without status.json is unknown', () => {
    const c = mk('c');
    writeRunStatus(c, base('c', { startedAt: '2026-12-01T11:00:00.000Z', reports: [path.join(c, 'report.md')] }));
    mk('d');
    fs.mkdirSync(path.join(root, 'artifacts')); // not a run
    const runs = listRuns(root);
    expect(Object.fromEntries(runs.map((r) => [r.runId, r.status]))).toEqual({ a: 'interrupted', b: 'unknown', c: 'completed', d: 'unknown' });
    const dates = runs.map((r) => r.date);
    expect(dates).toEqual([...dates].sort().reverse()); // newest first
    expect(runs.find((r) => r.runId === 'd')!.preset).toBe('p');
    expect(formatRunList(runs.filter((r) => r.runId === 'c'))).toBe(`RUN  STATUS     PRESET      STARTED (UTC)     REPORT\nc    completed  quickstart  2026-12-01 11:00  ${path.join(c, 'report.md')}`);
    expect(listRuns(path.join(root, 'none'))).toEqual([]);
  });

  it('places the store copy of the manifest beside the run when the worker wrote its file on another host', async () => {
    const store = new LocalArtifactStore(path.join(root, 'store'));
    const text = '{\n  "manifestVersion": 1,\n  "runId": "m"\n}\n';
    const rec = await store.put('c'.repeat(64), text, 'application/vnd.dnd.run-manifest+json');
    const here = mk('m');
    // The worker's path names a folder this host does not have: the store copy is placed here.
    const placed = await placeManifest(store, { manifestPath: '/nonexistent/worker-host/runs/m/manifest.json', manifestRef: rec.ref }, here);
    expect(placed).toBe(path.join(here, 'manifest.json'));
    expect(fs.readFileSync(placed, 'utf8')).toBe(text);
    // The worker wrote this very file (same host): nothing to copy. No store copy (an older worker): its path as it is.
    expect(await placeManifest(store, { manifestPath: placed, manifestRef: rec.ref }, here)).toBe(placed);
    expect(await placeManifest(store, { manifestPath: '/elsewhere/manifest.json' }, mk('old'))).toBe('/elsewhere/manifest.json');
  });
});
