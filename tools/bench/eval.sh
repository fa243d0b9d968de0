#!/usr/bin/env bash
# `pnpm bench eval [N_LL] [N_GEN] [N_MULTI]`: evaluation speed on SmolLM2-135M-Instruct with a LoRA (r 8, all 7 modules),
# first ARC-Easy test items: log-likelihood scoring of 4-choice items (lm-eval conventions, batch 32 requests) and
# greedy generation of 10 new tokens (batch 8), @dnd/lm (TF.js, tfjs-node) vs transformers + PEFT (PyTorch CPU,
# 2 threads) and lm-eval's HFLM, same items, same batch sizes, same run, both sides under the same `nice`; then
# 14 adapters batched (per-row LoRA) vs adapter by adapter on @dnd/lm. Writes the `## eval` section of docs/benchmarks.md.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
MODEL="${DND_CACHE:-$HOME/.cache/dnd}/models/smollm2-135m-instruct"
[ -f "$MODEL/model.safetensors" ] || { echo "bench eval: $MODEL/model.safetensors missing (bash infra/assets-smollm2.sh)" >&2; exit 1; }
PY=$(bash infra/pyref.sh)
N_LL=${1:-64}; N_GEN=${2:-32}; N_MULTI=${3:-16}; BATCH=32; GEN_BATCH=8; NICE=${NICE:-10}
LOAD0=$(cut -d" " -f1-3 /proc/loadavg)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
quiet() { grep -v -i -E 'onednn|cpu_feature_guard|absl|rebuild TensorFlow|tensor backend' >&2; }
node tools/bench/run-ts.cjs tools/bench/eval-ts.ts prepare "$MODEL" "$tmp" "$N_LL" "$N_GEN" "$N_MULTI" 2> >(quiet)
HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false nice -n "$NICE" "$PY" tools/bench/eval_ref.py "$MODEL" "$tmp" "$tmp/py.json" "$BATCH" "$GEN_BATCH" 2>"$tmp/py.log" || { cat "$tmp/py.log" >&2; exit 1; }
nice -n "$NICE" node tools/bench/run-ts.cjs tools/bench/eval-ts.ts run "$MODEL" "$tmp" "$tmp/ts.json" "$BATCH" "$GEN_BATCH" 2> >(quiet)
python3 tools/bench/eval_doc.py "$tmp" "$ROOT/docs/benchmarks.md" "$N_LL $N_GEN $N_MULTI" "$BATCH" "$GEN_BATCH" "$NICE" "$LOAD0"
