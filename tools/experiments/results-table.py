#!/usr/bin/env python3
"""The tables of docs/results.md from a finished leave-one-out run: per held-out set, base / training-LoRA mean /
best single LoRA / averaged LoRA / generated (and the set's own LoRA), read from each fold's report; the wall time
of each step from the `dnd run` progress log; the generation-vs-tuning ratio from a tuning curve
(tools/experiments/tuning-curve.ts). A reporting helper, not a test. Standard library only.

Usage: python3 tools/experiments/results-table.py RUN_DIR [--log RUN_LOG | --history] [--curve CURVE_JSON]
  e.g. python3 tools/experiments/results-table.py runs/cs-loo-1 --log cs-loo-1.log --curve runs/tuning-curve/curve.json
--log reads step times from a `dnd run` log with timestamped progress blocks (the line view of runs before
2026-12-01; `--no-ui` logs have none); --history reads them from the run's own temporal.db (a copy, on a dev server
of DND_TEMPORAL_BIN, through tools/experiments/step-times.ts), which every run has.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse

CHANCE = {"ARC-Easy": 25, "openbookqa": 25, "social_i_qa": 100 / 3, "piqa": 50, "boolq": 50}
# Paper Table 1 / 10 (Qwen2.5-0.5B, 7 sets, each held out): training-LoRA mean, DnD, base (method doc section 6.3).
PAPER = {"ARC-Easy": (37.5, 68.6, 54.8), "openbookqa": (30.2, 40.8, 16.6), "piqa": (40.5, 87.9, 16.6), "boolq": (13.5, 44.9, 37.0)}


def pct(a):
    return 100.0 * a["value"]


def ci(a):
    return "[%.1f, %.1f]" % (100 * a["lo"], 100 * a["hi"])


def folds(run_dir):
    for m in sorted(Path(run_dir).glob("heldout-*/manifest.json")):
        man = json.loads(m.read_text())
        report = Path(urlparse(man["artifacts"]["report"]["uri"]).path)
        res = json.loads((report / "results.json").read_text())
        gen = json.loads((report / "generation.json").read_text())
        yield man, res, gen


def accuracy_table(run_dir):
    rows = ["| held-out set | n | chance | base | training-LoRA mean (±sd over LoRAs) [pooled 95%] | best single LoRA | averaged LoRA | **generated** (±sd over K) [pooled 95%] | own LoRA (oracle, trained on the set) |",
            "|---|---|---|---|---|---|---|---|---|"]
    summary = {}
    for man, res, gen in folds(run_dir):
        for h in res["heldOut"]:
            s = h["set"]
            own = next((c for c in res["cells"] if c["role"] == "training" and c["set"] == s and c["adapter"].startswith(s + "@")), None)
            mean, best, avg, g = h["loraMean"], h["bestLora"], h["averagedLora"], h["generated"]
            rows.append("| %s | %d | %.0f | %.1f %s | %.1f ± %.1f %s | %.1f (%s) | %.1f | **%.1f ± %.1f** %s | %s |" % (
                s, h["n"], CHANCE.get(s, float("nan")), pct(h["base"]), ci(h["base"]),
                100 * mean["value"], 100 * mean["std"], ci(mean["pooled"]),
                pct(best["acc"]), best["adapter"].split("@")[0], pct(avg["acc"]),
                100 * g["value"], 100 * g["std"], ci(g["pooled"]),
                "%.1f %s" % (pct(own["acc"]), ci(own["acc"])) if own else "—"))
            summary[s] = {"base": pct(h["base"]), "mean": 100 * mean["value"], "best": pct(best["acc"]), "averaged": pct(avg["acc"]),
                          "generated": 100 * g["value"], "generatedSamples": [pct(x["acc"]) for x in g["samples"]],
                          "own": pct(own["acc"]) if own else None, "genSeconds": gen["secondsPerLora"],
                          "meanCI": [100 * mean["pooled"]["lo"], 100 * mean["pooled"]["hi"]], "genCI": [100 * g["pooled"]["lo"], 100 * g["pooled"]["hi"]]}
    return "\n".join(rows), summary


def paper_table(summary):
    rows = ["| held-out set | paper: training LoRAs | paper: DnD | paper: base | here: training-LoRA mean | here: generated | here: base |", "|---|---|---|---|---|---|---|"]
    for s, v in summary.items():
        p = PAPER.get(s)
        cells = ["%.1f" % x for x in p] if p else ["— (not in the paper)"] * 3
        rows.append("| %s | %s | %s | %s | %.1f | %.1f | %.1f |" % (s, *cells, v["mean"], v["generated"], v["base"]))
    return "\n".join(rows)


def log_timings(log_file):
    """Per step workflow: compute seconds (from its first heartbeat that is not 'waiting for another model
    step' to the first progress block where it is gone) parsed from the `dnd run` output."""
    blocks, t, day = [], None, 0
    for line in Path(log_file).read_text(errors="replace").splitlines():
        m = re.match(r"^--- (\d\d):(\d\d):(\d\d)$", line)
        if m:
            nt = timedelta(hours=int(m[1]), minutes=int(m[2]), seconds=int(m[3])) + timedelta(days=day)
            if t is not None and nt < t:
                day += 1
                nt += timedelta(days=1)
            t = nt
            blocks.append((t, {}))
            continue
        m = re.match(r"^(\S+)  (\S.*?)(?:  \[(.*)\])?$", line)
        if m and blocks and m[3] is not None:
            blocks[-1][1][m[1]] = m[3]
    start, end = {}, {}
    for i, (t, seen) in enumerate(blocks):
        for wid, act in seen.items():
            busy = act.split(" ", 1)[1] if " " in act else ""
            if wid not in start and busy and "waiting for another model step" not in busy:
                start[wid] = t
        for wid in list(start):
            if wid not in end and wid not in seen:
                end[wid] = t
    wall = (blocks[-1][0] - blocks[0][0]).total_seconds() if blocks else 0
    return {w: (end.get(w, blocks[-1][0]) - s).total_seconds() for w, s in start.items()}, wall


def history_timings(run_dir):
    """Per step workflow: compute seconds from the start and close times Temporal recorded (step-times.ts: a dev
    server on a copy of the run's temporal.db; the steps of one worker run one at a time)."""
    root = Path(__file__).resolve().parents[2]
    r = subprocess.run(["node", str(root / "tools" / "bench" / "run-ts.cjs"), str(Path(__file__).with_name("step-times.ts")), run_dir],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit("step-times.ts %s failed: %s" % (run_dir, r.stderr.strip()))
    out = json.loads(r.stdout)
    return out["times"], out["wall"]


def timing_table(times, wall):
    rows = ["| step | workflow | seconds |", "|---|---|---|"]
    kinds = {}
    for wid, sec in sorted(times.items()):
        kind = "collect " + wid.split("/")[-1] if "/zoo/" in wid else wid.split("/")[-1]  # a zoo set, else pairs / train / evaluate
        rows.append("| %s | `%s` | %.0f |" % (kind, wid, sec))
        k = "collect" if kind.startswith("collect") else kind
        kinds[k] = kinds.get(k, 0) + sec
    rows.append("| **sum of steps** | | **%.0f** |" % sum(times.values()))
    rows.append("| **wall** (first to last progress line, or first workflow start to last close) | | **%.0f** (%.1f min) |" % (wall, wall / 60))
    return "\n".join(rows), kinds


def tuning_ratio(summary, curve_file, collect_step_seconds=None):
    curve = json.loads(Path(curve_file).read_text())
    rows = ["| held-out set | generated (mean of K) | own-set LoRA tuning: accuracy after s steps | steps to reach generated (within 1 item) | tuning s/step | tuning seconds | generation seconds / LoRA (encoder incl.) | ratio |",
            "|---|---|---|---|---|---|---|---|"]
    for c in curve["sets"]:
        s = c["set"]
        if s not in summary:
            continue
        g = summary[s]["generated"]
        pts = [(p["step"], 100 * p["acc"]["value"]) for p in c["curve"]]
        # Reached: within one item (1 point at n 100, a single LoRA's resolution) of the generated mean.
        reach = next((st for st, a in pts if a >= g - 100.0 / c["n"]), None)
        sec_step = c["stepSecondsMedian"]
        gen_s = statistics.mean(summary[s]["genSeconds"])
        tune_s = reach * sec_step if reach else None
        rows.append("| %s | %.1f | %s | %s | %.2f | %s | %.3f | %s |" % (
            s, g, ", ".join("%d: %.0f" % p for p in pts), reach if reach else "> %d" % pts[-1][0], sec_step,
            "%.1f" % tune_s if tune_s else "—", gen_s, "**%.0fx**" % (tune_s / gen_s) if tune_s else "—"))
    return "\n".join(rows)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("run_dir")
    timing = ap.add_mutually_exclusive_group()
    timing.add_argument("--log", help="step times from a `dnd run` log with timestamped progress blocks")
    timing.add_argument("--history", action="store_true", help="step times from the run's temporal.db (needs DND_TEMPORAL_BIN)")
    ap.add_argument("--curve")
    ap.add_argument("--json", help="write the summary numbers here")
    a = ap.parse_args()
    table, summary = accuracy_table(a.run_dir)
    print(table + "\n")
    print(paper_table(summary) + "\n")
    if a.log or a.history:
        if a.history and not os.environ.get("DND_TEMPORAL_BIN"):
            raise SystemExit("--history needs DND_TEMPORAL_BIN (export DND_TEMPORAL_BIN=$(bash infra/temporal.sh))")
        t, wall = history_timings(a.run_dir) if a.history else log_timings(a.log)
        if not t:
            raise SystemExit("%s: no step times found" % (a.run_dir + "/temporal.db: no step workflow closed" if a.history else a.log + ": no timestamped progress blocks (use --history)"))
        tt, kinds = timing_table(t, wall)
        print(tt + "\n")
        print("by kind: " + ", ".join("%s %.0f s" % kv for kv in sorted(kinds.items())) + "\n")
    if a.curve:
        print(tuning_ratio(summary, a.curve) + "\n")
    if a.json:
        Path(a.json).write_text(json.dumps(summary, indent=1) + "\n")
