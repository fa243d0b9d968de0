// What a finished local run occupies (infra/README.md, "What scales with what"): artifact bytes by kind from its
// manifests (a leave-one-out run writes one per fold, under <run>/heldout-<set>/; an entry that folds share, like
// the zoo, counts once), the run directory's own bytes (Temporal's database, logs), and each workflow's history,
// from a dev server started on a copy of the run's temporal.db (temporal-history.ts's withRunHistory).
// Prints one JSON object and writes it to OUT_JSON when given. footprint.ts measures a run against S3 instead.
// Usage: node tools/bench/run-ts.cjs tools/experiments/run-footprint.ts RUN_DIR [OUT_JSON]   (DND_TEMPORAL_BIN set)
import * as fs from 'fs';
import * as path from 'path';
import { readRunManifest } from '@dnd/core';
import { describeHistories, historyTotals, listWorkflows, withRunHistory } from './temporal-history';

function dirBytes(dir: string): number {
  let n = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    n += e.isDirectory() ? dirBytes(p) : e.isFile() ? fs.statSync(p).size : 0;
  }
  return n;
}

async function main(): Promise<void> {
  const [runDir, outJson] = process.argv.slice(2);
  const temporal = process.env['DND_TEMPORAL_BIN'];
  if (!runDir || !temporal) throw new Error('usage: DND_TEMPORAL_BIN=... run-footprint.ts RUN_DIR [OUT_JSON]');
  const folds = fs.readdirSync(runDir).filter((d) => d.startsWith('heldout-')).map((d) => path.join(runDir, d));
  const manifestPaths = [runDir, ...folds].map((d) => path.join(d, 'manifest.json')).filter((p) => fs.existsSync(p));
  if (manifestPaths.length === 0) throw new Error(`${runDir}: no manifest.json (has the run finished?)`);
  const entries = new Map<string, { kind: string; bytes: number }>();
  for (const p of manifestPaths) {
    for (const [key, ref] of Object.entries(readRunManifest(p).artifacts)) {
      if (typeof ref.bytes !== 'number') throw new Error(`${p}: artifact ${key} has no byte count`);
      entries.set(ref.uri, { kind: key.split('/')[0]!, bytes: ref.bytes });
    }
  }
  const byKind: Record<string, { entries: number; bytes: number }> = {};
  for (const e of entries.values()) {
    const k = byKind[e.kind] ?? (byKind[e.kind] = { entries: 0, bytes: 0 });
    k.entries++; k.bytes += e.bytes;
  }
  const result = await withRunHistory(temporal, runDir, (address) => ({
    runDir: path.resolve(runDir), manifests: manifestPaths.length,
    artifacts: { entries: entries.size, bytes: [...entries.values()].reduce((a, e) => a + e.bytes, 0), byKind },
    runDirBytes: dirBytes(runDir),
    history: historyTotals(describeHistories(temporal, address, [...new Set(listWorkflows(temporal, address).map((w) => w.id))].sort())),
  }));
  const text = JSON.stringify(result, null, 2);
  if (outJson) fs.writeFileSync(outJson, `${text}\n`);
  console.log(text);
}

main().catch((e) => { console.error(e); process.exit(1); });
