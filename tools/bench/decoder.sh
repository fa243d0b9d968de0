#!/usr/bin/env bash
# `pnpm bench decoder`: the decoder's training-step time against the PyTorch reference (same chain, batch,
# fp32, 2 threads, noise on, AdamW + clip), measured in the same run, and prompt-to-LoRA generation latency
# for a SmolLM2-135M-shaped LoRA (r 8, w 64 -> 4770 x 10 x 66 tokens), encoder included; and seconds per
# training checkpoint at the commonsense-smollm2 preset's chain (r 8 on q, v -> 600 x 10 x 98 tokens, 3 layers)
# against PyTorch writing the same tensors with safetensors.
# Writes the `## decoder` section of docs/benchmarks.md. Needs infra/pyref.sh (PyTorch) and, for the
# real encoder, infra/assets-minilm.sh (else a random BERT of MiniLM's width stands in, and says so).
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=$(bash infra/pyref.sh)
MINILM=$(bash infra/assets-minilm.sh 2>/dev/null || true)
TRAIN='{"features":[[16,64,384],[32,32,192],[64,16,96],[128,10,66]],"kernel":3,"batch":4,"steps":6}'
GEN='{"features":[[16,64,384],[64,32,192],[256,16,96],[4770,10,66]],"kernel":3,"runs":5,"width":64,"rank":8}'
CKPT='{"features":[[32,64,384],[85,34,244],[226,19,154],[600,10,98]],"kernel":3,"runs":3}'
TORCH_ARGS=$(python3 -c "import json,sys; a=json.loads(sys.argv[1]); a['threads']=2; a['checkpoint']=json.loads(sys.argv[2]); print(json.dumps(a))" "$TRAIN" "$CKPT")
ARGS=$(python3 -c "import json,sys; print(json.dumps({'train': json.loads(sys.argv[1]), 'gen': json.loads(sys.argv[2]), 'checkpoint': json.loads(sys.argv[4]), 'minilm': sys.argv[3] or None}))" "$TRAIN" "$GEN" "$MINILM" "$CKPT")
# ROUNDS alternating rounds (PyTorch, ours, PyTorch, ours, ...): a drift of the machine's speed during the run then
# falls on both sides instead of on whichever ran second. The training step is the mean of the rounds' medians.
ROUNDS=${ROUNDS:-2}
TORCH="[" OURS="["
for r in $(seq "$ROUNDS"); do
  echo "[bench decoder] round $r/$ROUNDS: PyTorch reference (2 threads)..." >&2
  TORCH="$TORCH$( [ "$r" = 1 ] || echo ,)$(nice "$PY" packages/decoder/scripts/bench_torch.py "$TORCH_ARGS")"
  echo "[bench decoder] round $r/$ROUNDS: tfjs..." >&2
  OURS="$OURS$( [ "$r" = 1 ] || echo ,)$(nice node tools/bench/run-ts.cjs packages/decoder/scripts/bench.ts "$ARGS" 2>/dev/null | tail -1)"
done
TORCH="$TORCH]" OURS="$OURS]"
python3 - "$TORCH" "$OURS" "$TRAIN" "$GEN" "$CKPT" <<'PY'
import json, os, re, sys, datetime, pathlib
torch_rounds, ours_rounds, train, gen, ckpt = (json.loads(a) for a in sys.argv[1:6])
torch, ours = torch_rounds[-1], ours_rounds[-1]  # generation and checkpoint: the last round
t, g, c, tc = dict(ours["train"]), ours["gen"], ours["checkpoint"], torch["checkpoint"]
t["median_s"] = sum(o["train"]["median_s"] for o in ours_rounds) / len(ours_rounds)
torch_step = sum(r["median_s"] for r in torch_rounds) / len(torch_rounds)
ratio = torch_step / t["median_s"]
per_round = ", ".join("%.2fx" % (tr["median_s"] / o["train"]["median_s"]) for tr, o in zip(torch_rounds, ours_rounds))
feat = lambda fs: " -> ".join("(%s)" % ",".join(map(str, f)) for f in fs)
lines = [
    "## decoder", "",
    "Command: `pnpm bench decoder` (tools/bench/decoder.sh). %s UTC, backend `%s`, PyTorch %s on %d threads, both under `nice`; 1-min load average at the end %.1f (other jobs share the 2 cores)." % (
        datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M"), ours["backend"], torch["torch"], torch["threads"], os.getloadavg()[0]),
    "",
    "| measure | config | ours (tfjs) | PyTorch | speed vs PyTorch |", "|---|---|---|---|---|",
    "| training step (fwd + bwd + clip + AdamW), mean over %d alternating rounds of the median of %d steps | chain %s, k %d, batch %d, %.2fM params, fp32, noise on | %.3f s | %.3f s | **%.2fx** (rounds: %s; target >= 1.0x) |" % (
        len(ours_rounds), train["steps"] - 1, feat(train["features"]), train["kernel"], train["batch"], t["params"] / 1e6, t["median_s"], torch_step, ratio, per_round),
    "| generation latency, median of %d warm runs (first run: %.2f s) | SmolLM2-135M-shaped LoRA, r 8, w 64 -> tokens %s; chain %s, k %d, %.1fM params; encoder: %s | %.3f s (encode %.3f, decode %.3f, rest = de-tokenise + write) | — | target <= 1 s |" % (
        gen["runs"], g["first_s"], "x".join(map(str, g["tokenShape"])), feat(gen["features"]), gen["kernel"], g["params"] / 1e6, g["encoder"], g["median_s"], g["encode_median_s"], g["decode_median_s"]),
    "| training checkpoint (weights + AdamW moments + loss weights: one safetensors file, fsynced, + state JSON), median of %d | commonsense-smollm2's chain %s, k %d, %.2fM params, %.1f MB file | %.3f s | %.3f s | **%.2fx** |" % (
        ckpt["runs"], feat(ckpt["features"]), ckpt["kernel"], c["params"] / 1e6, c["bytes"] / 1e6, c["median_s"], tc["median_s"], tc["median_s"] / c["median_s"]),
    "",
    "The PyTorch side is the same decoder written from the method doc (packages/decoder/test/hyperconv_ref.py, the one the parity fixtures come from). Machine noise from other jobs moves both columns; rerun to refresh.",
    "",
]
section = "\n".join(lines)
sys.path.insert(0, "tools/bench")
from benchdoc import write_section
write_section("decoder", section)
PY
