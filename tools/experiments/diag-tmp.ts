import * as fs from 'fs';
import * as path from 'path';
import { initBackend, readPeftAdapter } from '@dnd/core';
import { loadCausalLM } from '@dnd/lm';
(async () => {
  await initBackend();
  const [zoo, gen, set, split] = process.argv.slice(2);
  const model = await loadCausalLM('/root/.cache/dnd/models/smollm2-135m-instruct');
  const recs = JSON.parse(fs.readFileSync(`/work/shared/data/commonsense/${set}/${split}.json`, 'utf8')).slice(0, 4);
  const prompts = recs.map((r: any) => `${r.instruction}\n`);
  const dirs: [string, string | null][] = [['base', null]];
  for (const s of fs.readdirSync(zoo).filter((f) => fs.existsSync(path.join(zoo, f, 'snapshots')))) {
    const d = path.join(zoo, s, 'snapshots'); dirs.push([s, path.join(d, fs.readdirSync(d).sort().pop()!)]);
  }
  for (const g of fs.readdirSync(gen)) dirs.push([g, path.join(gen, g)]);
  for (const [name, d] of dirs) {
    if (d) {
      const a = readPeftAdapter(d);
      let nA = 0, nB = 0;
      for (const [k, t] of a.tensors) { let s2 = 0; for (const v of t.data) s2 += v * v; if (k.includes('lora_A')) nA += s2; else nB += s2; }
      model.setLoraWeights(a);
      console.log(name, 'normA', Math.sqrt(nA).toFixed(3), 'normB', Math.sqrt(nB).toFixed(4));
    } else model.detachLora();
    const out = await model.generate(prompts, { maxNewTokens: 12, greedy: true });
    console.log('  ', JSON.stringify(out), 'gold', recs.map((r: any) => r.answer).join(','));
  }
})();
