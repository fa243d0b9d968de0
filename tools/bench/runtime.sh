#!/usr/bin/env bash
# `pnpm bench runtime`: matmul 1024^3 and 2048^3, a LoRA linear forward+backward at SmolLM2-135M shapes and a
# conv2d forward+backward at decoder shapes, on every tfjs backend that starts here (tensorflow, wasm, cpu) and
# on PyTorch CPU with the same thread count, in the same run. Writes the `## runtime` section of docs/benchmarks.md.
# Needs infra/pyref.sh (PyTorch); a benchmark, never run by tests or CI. Runs everything under `nice`.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=$(bash infra/pyref.sh)
THREADS=${BENCH_THREADS:-2}
# LoRA: x [1024 tokens, 576] through the frozen up/gate projection W [576, 1536] plus A [8, 576], B [1536, 8].
# conv: the decoder's first conv1w (features (16, 64, 384), k 3): channels W 384 -> 192 over spatial (H 64, N 16), batch 4.
SHAPES='{"matmul":[1024,2048],"lora":{"T":1024,"IN":576,"OUT":1536,"R":8},"conv":{"B":4,"H":64,"W":16,"CIN":384,"COUT":192,"K":3}}'
with() { python3 -c "import json,sys; a=json.loads(sys.argv[1]); a.update(json.loads(sys.argv[2])); print(json.dumps(a))" "$SHAPES" "$1"; }
OUT=$(mktemp -d)
ROUNDS=${BENCH_ROUNDS:-3}
# These machines are shared and noisy: PyTorch, tensorflow and wasm run in alternation, ROUNDS times, and each
# side keeps its best median per op, so that load from other jobs hits both sides alike.
tfjs() { # tfjs BACKEND SPEC OUTFILE
  if ! nice node tools/bench/run-ts.cjs packages/core/scripts/bench-runtime.ts "$1" "$(with "$2")" 2>"$OUT/$1.err" | tail -1 > "$3"; then
    echo "[bench runtime] $1 did not run: $(tail -1 "$OUT/$1.err")" >&2; rm -f "$3"
  fi
  [ -s "$3" ] || rm -f "$3"
}
for r in $(seq 1 "$ROUNDS"); do
  echo "[bench runtime] round $r/$ROUNDS: PyTorch CPU ($THREADS threads)..." >&2
  nice "$PY" packages/core/scripts/bench_runtime_torch.py "$(with "{\"threads\":$THREADS,\"reps\":5,\"warmup\":2}")" > "$OUT/torch.$r.json"
  for be in tensorflow wasm; do
    echo "[bench runtime] round $r/$ROUNDS: tfjs backend $be..." >&2
    tfjs "$be" '{"reps":5,"warmup":2,"skip":[]}' "$OUT/$be.$r.json"
  done
done
# The pure-JS cpu backend runs at ~1 GFLOP/s: one round, one timed run, no warm-up (about two minutes).
echo "[bench runtime] tfjs backend cpu (once)..." >&2
tfjs cpu '{"reps":1,"warmup":0,"skip":[]}' "$OUT/cpu.1.json"
python3 - "$OUT" "$THREADS" <<'PY'
import json, sys, pathlib, datetime, re
out, threads = pathlib.Path(sys.argv[1]), int(sys.argv[2])
def best(name):  # merge the rounds of one side: per op, the fastest median
    runs = [json.loads(f.read_text()) for f in sorted(out.glob(name + ".*.json"))]
    if not runs:
        return None
    merged = dict(runs[0], rounds=len(runs))
    merged["rows"] = [min((r for run in runs for r in run["rows"] if r["name"] == row["name"] and r["seconds"] is not None),
                          key=lambda r: r["seconds"], default=row) for row in runs[0]["rows"]]
    return merged
torch = best("torch")
backends = [b for b in (best(n) for n in ("tensorflow", "wasm", "cpu")) if b]
tref = {r["name"]: r for r in torch["rows"]}
gf = lambda r: r["flop"] / r["seconds"] / 1e9
head = "| op | PyTorch CPU %s (%d threads) | %s |" % (torch["torch"], torch["threads"], " | ".join("tfjs `%s`" % b["backend"] for b in backends))
lines = ["## runtime", "",
         "Command: `pnpm bench runtime` (tools/bench/runtime.sh). %s UTC, fp32, everything under `nice`, median of 5 timed runs after 2 warm-ups, "
         "best of %d rounds in which PyTorch, `tensorflow` and `wasm` alternate (the pure-JS `cpu` backend: one run, no warm-up). "
         "Each cell: time, GFLOP/s, speed vs PyTorch (>1 is faster). Load average at the end: %s on %d cores; under load, "
         "thread-parallel libraries slow down unevenly, so treat ratios from a busy machine as indicative and rerun on an idle one." % (
             datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M"), torch["rounds"], open("/proc/loadavg").read().split()[0], __import__("os").cpu_count()),
         "", head, "|---|---|" + "---|" * len(backends)]
for name, t in tref.items():
    cells = []
    for b in backends:
        r = next((x for x in b["rows"] if x["name"] == name), None)
        if r is None or r["seconds"] is None:
            cells.append("skipped" + (" (%s)" % r["note"] if r and r.get("note") else ""))
        else:
            cells.append("%.1f ms, %.1f GFLOP/s, **%.2fx**" % (r["seconds"] * 1e3, gf(r), t["seconds"] / r["seconds"]))
    lines.append("| %s (%.2f GFLOP) | %.1f ms, %.1f GFLOP/s | %s |" % (name, t["flop"] / 1e9, t["seconds"] * 1e3, gf(t), " | ".join(cells)))
lines.append("")
if backends:
    d = backends[0]
    def ratio(prefix):
        rs = [tref[r["name"]]["seconds"] / r["seconds"] for r in d["rows"] if r["name"].startswith(prefix) and r["seconds"]]
        return min(rs) if rs else float("nan")
    m, l, c = ratio("matmul"), ratio("LoRA"), ratio("conv2d")
    ok = lambda v, t: "met" if v >= t else "NOT met"
    lines.append("Targets for the default backend (`%s`): matmul >= 0.7x PyTorch: worst %.2fx, %s; LoRA step >= 0.5x: %.2fx, %s; conv step >= 0.5x: %.2fx, %s." % (
        d["backend"], m, ok(m, 0.7), l, ok(l, 0.5), c, ok(c, 0.5)))
    lines.append("")
for b in backends:
    lines.append("- `%s`: tfjs-core %s, libtensorflow %s, kernels replaced by packages/core/src/wasm-kernels.ts: %s." % (
        b["backend"], b["versions"]["tfjsCore"], b["versions"]["libtensorflow"] or "—", ", ".join(b["patchedKernels"]) or "none"))
lines += ["", "FLOP counts: matmul 2n^3; LoRA 4·T·in·out + 6·T·r·(in+out) (forward, input gradient, A and B gradients; W frozen); "
          "conv 3 x 2·B·H·W·k²·Cin·Cout (forward, input gradient, filter gradient). PyTorch runs the conv in its NCHW layout, tfjs in NHWC. "
          "Sources: packages/core/scripts/bench-runtime.ts and bench_runtime_torch.py.", ""]
section = "\n".join(lines)
sys.path.insert(0, "tools/bench")
from benchdoc import write_section
write_section("runtime", section)
PY
rm -rf "$OUT"
