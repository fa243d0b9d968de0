import * as fs from 'fs';
import * as path from 'path';
import { initBackend, readPeftAdapter, detokenizeLora, type LoraAdapter } from '@dnd/core';
import { CheckpointStore } from '@dnd/dataset';
import { loraTemplateFromAdapter } from '@dnd/decoder';
(async () => {
  await initBackend();
  const [zoo, pairs, gen] = process.argv.slice(2);
  const sets = fs.readdirSync(zoo!).filter((f) => fs.existsSync(path.join(zoo!, f, 'snapshots')));
  const last = (s: string) => { const d = path.join(zoo!, s, 'snapshots'); return path.join(d, fs.readdirSync(d).sort().pop()!); };
  const store = await CheckpointStore.open(path.join(pairs!, 'checkpoints.arrow'));
  const tpl = loraTemplateFromAdapter(last(sets[0]!), store.tokenShape[2] - 2);
  const cmp = (a: LoraAdapter, b: LoraAdapter, kind: string) => {
    let dot = 0, na = 0, nb = 0, d2 = 0;
    for (const [k, t] of a.tensors) { if (!k.includes(kind)) continue; const u = b.tensors.get(k)!; for (let i = 0; i < t.data.length; i++) { dot += t.data[i]! * u.data[i]!; na += t.data[i]! ** 2; nb += u.data[i]! ** 2; d2 += (t.data[i]! - u.data[i]!) ** 2; } }
    return `cos ${(dot / Math.sqrt(na * nb)).toFixed(3)} rel ${(Math.sqrt(d2 / nb)).toFixed(3)} norm ${Math.sqrt(na).toFixed(3)}/${Math.sqrt(nb).toFixed(3)}`;
  };
  // round trip: the last row of set 0 in the store vs its snapshot
  const rows = store.rows.map((r, i) => ({ ...r, i }));
  const r0 = rows.filter((r) => r.set === sets[0]).pop()!;
  const rt = detokenizeLora((await store.read(r0.i)).tokens, tpl.layout, tpl.adapterConfig);
  console.log('roundtrip', r0.set, r0.step, 'A', cmp(rt, readPeftAdapter(last(sets[0]!)), 'lora_A'), 'B', cmp(rt, readPeftAdapter(last(sets[0]!)), 'lora_B'));
  for (const s of sets) for (const t of sets) console.log('zoo', s, 'vs', t, 'A', cmp(readPeftAdapter(last(s)), readPeftAdapter(last(t)), 'lora_A'), 'B', cmp(readPeftAdapter(last(s)), readPeftAdapter(last(t)), 'lora_B'));
  for (const g of fs.readdirSync(gen!)) for (const s of sets) {
    const a = readPeftAdapter(path.join(gen!, g)), b = readPeftAdapter(last(s));
    console.log(g, 'vs', s, 'A', cmp(a, b, 'lora_A'), 'B', cmp(a, b, 'lora_B'));
  }
  await store.close();
})();
