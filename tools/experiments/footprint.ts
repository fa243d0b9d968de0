// What a real run occupies on a worker fleet's shared services (infra/README.md, "What scales with what"): runs
// `./dnd run <preset>` against a Temporal dev server and a SeaweedFS S3 store started here (as a fleet would use
// a cluster and a bucket), then lists the bucket (objects and bytes, by what the record says it holds) and asks
// Temporal for each workflow's history size. Prints one JSON object and writes it to OUT_JSON when given.
// Usage: node tools/bench/run-ts.cjs tools/experiments/footprint.ts [PRESET] [RUN_ID] [OUT_JSON] [-- DND_RUN_ARGS...]
// (e.g. `commonsense-smollm2 cs-fp out.json -- --leave-one-out`). While the run goes, the bucket is listed every
// minute and the largest total is kept (`s3.peakBytes`): what the store must hold at once, work-folder copies included.
// Needs DND_SEAWEEDFS_BIN and DND_TEMPORAL_BIN (tools/test-all.sh provisions both) and a built repository.
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { freePort, readRunManifest, S3ArtifactStore, startSeaweedFs } from '@dnd/core';
import { describeHistories, historyTotals } from './temporal-history';

const ROOT = path.resolve(__dirname, '..', '..');

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const dash = argv.indexOf('--');
  const extra = dash >= 0 ? argv.slice(dash + 1) : [];
  const [preset = 'quickstart', runId = `footprint-${Date.now()}`, outJson] = dash >= 0 ? argv.slice(0, dash) : argv;
  const temporal = process.env['DND_TEMPORAL_BIN'];
  if (!temporal || !process.env['DND_SEAWEEDFS_BIN']) throw new Error('set DND_TEMPORAL_BIN and DND_SEAWEEDFS_BIN (bash infra/temporal.sh, bash infra/seaweedfs.sh)');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'dnd-footprint-'));
  const s3 = await startSeaweedFs({ dir: path.join(work, 'seaweedfs'), buckets: ['dnd'] });
  const port = await freePort();
  const server = spawn(temporal, ['server', 'start-dev', '--headless', '--ip', '127.0.0.1', '--port', String(port), '--db-filename', path.join(work, 'temporal.db'), '--log-level', 'error'], { stdio: 'ignore' });
  const address = `127.0.0.1:${port}`;
  try {
    const t0 = Date.now();
    const peak = { bytes: 0, objects: 0, at: 0 };
    const watcher = new S3ArtifactStore({ bucket: 'dnd', prefix: 'runs', endpoint: s3.endpoint, credentials: s3.credentials, cacheDir: path.join(work, 'watcher') });
    const poll = setInterval(() => {
      watcher.listObjects().then((objs) => {
        const bytes = objs.reduce((a, o) => a + o.bytes, 0);
        if (bytes > peak.bytes) Object.assign(peak, { bytes, objects: objs.length, at: Math.round((Date.now() - t0) / 1000) });
      }, () => undefined);
    }, 60_000);
    const env = { ...process.env, DND_ARTIFACTS: `s3://dnd/runs?endpoint=${s3.endpoint}`, AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey, AWS_REGION: 'us-east-1' };
    const code = await new Promise<number | null>((resolve) => {
      const run = spawn(path.join(ROOT, 'dnd'), ['run', preset, '--run-id', runId, '--no-ui', '--address', address, ...extra], { cwd: ROOT, env, stdio: ['ignore', 'inherit', 'inherit'] });
      run.once('exit', (c) => resolve(c));
    });
    clearInterval(poll);
    if (code !== 0) throw new Error(`dnd run ${preset} exited with ${code}`);
    const wallSec = Math.round((Date.now() - t0) / 1000);
    const manifest = readRunManifest(path.join(ROOT, 'runs', runId, 'manifest.json'));
    const store = new S3ArtifactStore({ bucket: 'dnd', prefix: 'runs', endpoint: s3.endpoint, credentials: s3.credentials, cacheDir: path.join(work, 'reader') });
    const objects = await store.listObjects();
    // Bytes by what each entry is: its record names the step (and `kind: "work"` for work-folder copies).
    const byEntry = new Map<string, number>();
    for (const o of objects) {
      const m = /^runs\/[0-9a-f]{2}\/([0-9a-f]+)\//.exec(o.key);
      if (m) byEntry.set(m[1]!, (byEntry.get(m[1]!) ?? 0) + o.bytes);
    }
    const byKind: Record<string, { entries: number; bytes: number }> = {};
    for (const [key, bytes] of byEntry) {
      const rec = await store.get(key);
      const meta = rec?.meta ?? {};
      const kind = rec === null ? 'unpublished'
        : meta['kind'] === 'work' ? `${String(meta['step'])} work copies`
        : typeof meta['index'] === 'number' ? `${String(meta['step'])} checkpoint units`
        : typeof meta['step'] === 'string' ? meta['step']
        : rec.ref.mediaType;
      const k = byKind[kind] ?? (byKind[kind] = { entries: 0, bytes: 0 });
      k.entries++; k.bytes += bytes;
    }
    const histories = describeHistories(temporal, address, manifest.temporal.workflowIds);
    const result = {
      preset, args: extra, runId, wallSec, date: new Date().toISOString(),
      s3: { objects: objects.length, bytes: objects.reduce((a, o) => a + o.bytes, 0), byKind, peakBytes: peak.bytes, peakObjects: peak.objects, peakAtSec: peak.at },
      manifestArtifacts: Object.keys(manifest.artifacts).length,
      history: historyTotals(histories),
    };
    const text = JSON.stringify(result, null, 2);
    if (outJson) fs.writeFileSync(outJson, `${text}\n`);
    console.log(text);
  } finally {
    server.kill('SIGTERM');
    await s3.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
