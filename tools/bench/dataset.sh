#!/usr/bin/env bash
# `pnpm bench dataset [SNAPSHOTS]`: seconds per zoo snapshot on SmolLM2-135M-Instruct (LoRA r 8, all 7 modules,
# sequence 128, batch 8): @dnd/dataset's collectSet (TF.js, tfjs-node) vs PyTorch+PEFT replaying the same batches
# (2 threads), in the same run. A snapshot = one AdamW step + trainer state + PEFT adapter written.
# Writes the `## dataset` section of docs/benchmarks.md. Run with `nice` on shared machines.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
MODEL="${DND_CACHE:-$HOME/.cache/dnd}/models/smollm2-135m-instruct"
[ -f "$MODEL/model.safetensors" ] || { echo "bench dataset: $MODEL/model.safetensors missing (provision SmolLM2 first)" >&2; exit 1; }
PY=$(bash infra/pyref.sh)
S=${1:-3}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
node tools/bench/run-ts.cjs tools/bench/dataset-collect.ts "$MODEL" "$tmp/ts.json" "$tmp/batches.json" "$S" 2> >(grep -v -i -E 'onednn|cpu_feature_guard|absl|rebuild TensorFlow' >&2)
"$PY" tools/bench/dataset_ref.py "$MODEL" "$tmp/batches.json" "$tmp/py.json" 2>/dev/null
python3 - "$tmp" "$ROOT/docs/benchmarks.md" "$S" <<'PY'
import json, os, platform, statistics, sys, datetime
tmp, doc, S = sys.argv[1], sys.argv[2], int(sys.argv[3])
ts, py = json.load(open(os.path.join(tmp, 'ts.json'))), json.load(open(os.path.join(tmp, 'py.json')))
med = statistics.median
ts_s, ts_step = med(ts['perSnapshot']), med(ts['stepSeconds'][1:])
pa, pf = py['answer'], py['full']
row = lambda name, r: f"| {name} | {med(r['perSnapshot']):.2f} | {med(r['stepSeconds'][1:]):.2f} | {med(r['perSnapshot']) / ts_s:.2f}x |"
cpu = next((l.split(':', 1)[1].strip() for l in open('/proc/cpuinfo') if l.startswith('model name')), platform.machine())
load = open('/proc/loadavg').read().split()[0]
section = f"""## dataset

Seconds per zoo snapshot, SmolLM2-135M-Instruct (fp32), LoRA r 8 / alpha 16 on all 7 modules, batch 8, sequence <= 128,
AdamW, loss on answer tokens; the same ARC-Easy train batches on both sides (answer tokens per step: {ts['tokens'][1:]}
ours, {pa['tokens'][1:]} PyTorch). One snapshot = one optimizer step + trainer state + PEFT adapter on disk; median of
{S} snapshots after 1 warm-up step. Command: `pnpm bench dataset {S}` ({datetime.date.today()}, {cpu}, {os.cpu_count()} cores,
shared with other jobs: load average {load} at the end, so treat the ratios as rough).

| implementation | s / snapshot | s / train step | ratio (PyTorch s / ours) |
|---|---|---|---|
| @dnd/dataset collectSet (@dnd/lm on TF.js, {ts['backend']} backend) | {ts_s:.2f} | {ts_step:.2f} | 1.00x |
{row(f"PyTorch {py['torch']} + PEFT, {py['threads']} threads, lm_head on answer positions only (as @dnd/lm)", pa)}
{row(f"PyTorch {py['torch']} + PEFT, {py['threads']} threads, HF default full-sequence logits", pf)}

A 5-set zoo of (75 warm-up + 50 snapshot) steps at our pace: about {5 * 125 * ts_s / 3600:.1f} h. Peak RSS of our side:
{ts["peakRssGiB"]:.1f} GiB (process peak, dominated by the @dnd/lm trainer step).
Caveat: PyTorch's 2 OpenMP threads slow down far more than TF's under this shared load (docs/toolchain-notes measured a naive
PyTorch LoRA step at ~7.9 s per 1024 tokens on an idle machine); rerun on an idle machine before quoting the ratio.
"""
sys.path.insert(0, 'tools/bench')
from benchdoc import write_section
write_section('dataset', section, doc)
PY
