// A short check of the knowledge protocol on a base model (not a benchmark, not a test): acc / acc_norm of
// the lm-eval log-likelihood scorer on a fixed-seed subsample of shipped test sets, and items per second.
// Needs the built packages (pnpm nx run evaluator:build). Usage:
//   node packages/evaluator/test/knowledge-check.cjs <model dir> [ARC-Easy items] [piqa items]
// e.g. node packages/evaluator/test/knowledge-check.cjs ~/.cache/dnd/models/smollm2-135m-instruct 100 0
const path = require('path');
const root = path.resolve(__dirname, '..', '..', '..');
const shared = process.env.DND_SHARED_DIR ? path.resolve(process.env.DND_SHARED_DIR) : path.resolve(root, '..', 'shared');
const core = require(path.join(root, 'packages/core/dist/index.js'));
const { loadCausalLM } = require(path.join(root, 'packages/lm/dist/index.js'));
const ev = require(path.join(root, 'packages/evaluator/dist/index.js'));

(async () => {
  if (!process.argv[2]) { console.error('usage: node knowledge-check.cjs <model dir> [ARC-Easy items] [piqa items]'); process.exit(2); }
  await core.initBackend();
  const lm = await loadCausalLM(process.argv[2]);
  const model = ev.hostCausalLM(lm, path.basename(process.argv[2]));
  for (const [set, n] of [['ARC-Easy', Number(process.argv[3] || 100)], ['piqa', Number(process.argv[4] || 0)]]) {
    if (!n) continue;
    const items = ev.subsample(ev.readInstructionSet(path.join(shared, 'data', 'commonsense', set, 'test.json'), set), n, 1234);
    const t0 = Date.now();
    const r = await new ev.LoglikScorer(32).score(model, items);
    const sec = (Date.now() - t0) / 1000;
    const pctI = (a) => [a.value, a.lo, a.hi].map((v) => +(100 * v).toFixed(1));
    console.log(JSON.stringify({
      set, n: r.length, chance: +(100 * ev.chanceLevel(items)).toFixed(1),
      acc: pctI(ev.wilson(r.filter((x) => x.correct).length, r.length)), acc_norm: pctI(ev.wilson(r.filter((x) => x.correctNorm).length, r.length)),
      seconds: sec, itemsPerSec: +(r.length / sec).toFixed(2),
    }));
  }
  lm.dispose();
})();
