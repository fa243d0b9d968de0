#!/usr/bin/env bash
# `pnpm bench encoder`: prompts/s of the all-MiniLM-L6-v2 condition encoder at L=128, batch 64 (256 prompts that
# each fill 128 tokens), @dnd/encoder (TF.js, tfjs-node) vs sentence-transformers (PyTorch CPU, 2 threads), in the
# same run, alternating rounds. Writes the `## encoder` section of docs/benchmarks.md. Run with `nice` on shared machines.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
MODEL=$(bash infra/assets-minilm.sh)
PY=$(bash infra/pyref.sh)
REPS=${REPS:-3}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
for round in 1 2; do
  "$PY" tools/bench/encoder_ref.py "$MODEL" "$tmp/prompts.json" "$tmp/py-$round.json" "$REPS" 2>/dev/null
  node tools/bench/run-ts.cjs tools/bench/encoder-ts.ts "$MODEL" "$tmp/prompts.json" "$tmp/ts-$round.json" "$REPS" 2> >(grep -v -i onednn >&2)
done
python3 - "$tmp" "$ROOT/docs/benchmarks.md" <<'PY'
import glob, json, os, platform, subprocess, sys, datetime
tmp, doc = sys.argv[1], sys.argv[2]
best = lambda pat: max((json.load(open(f)) for f in glob.glob(os.path.join(tmp, pat))), key=lambda r: r['promptsPerSecond'])
ts, py = best('ts-*.json'), best('py-*.json')
ratio = ts['promptsPerSecond'] / py['promptsPerSecond']
cpu = next((l.split(':', 1)[1].strip() for l in open('/proc/cpuinfo') if l.startswith('model name')), platform.machine())
section = f"""## encoder

all-MiniLM-L6-v2 token-level condition, L=128, batch 64, {ts['prompts']} prompts that each fill 128 tokens; best of
2 alternating rounds x {len(ts['seconds'])} reps. Command: `pnpm bench encoder` ({datetime.date.today()}, {cpu}, {os.cpu_count()} cores, shared).

| implementation | prompts/s | ratio |
|---|---|---|
| @dnd/encoder (TF.js, {ts['backend']} backend; tokenization {ts['tokenizeSeconds'] * 1000:.0f} ms per {ts['prompts']} prompts) | {ts['promptsPerSecond']:.1f} | {ratio:.2f}x |
| sentence-transformers (PyTorch {py['torch']} CPU, {py['threads']} threads) | {py['promptsPerSecond']:.1f} | 1.00x |

Target: >= 0.7x. {'Met.' if ratio >= 0.7 else 'NOT met.'}
"""
sys.path.insert(0, 'tools/bench')
from benchdoc import write_section
write_section('encoder', section, doc)
PY
