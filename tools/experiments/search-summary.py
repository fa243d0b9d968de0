#!/usr/bin/env python3
"""The settings search of issue 16 (item 5) from its finished inner folds: per reported fold X and candidate, the
knowledge-protocol accuracy of the generated LoRAs on <V>-val (V = the set after X; 400 items of V's train split),
with the base model, the training-LoRA mean and the averaged LoRA beside it and the paired 95% interval of generated
minus base; then the candidate each fold chooses by the rule that settings-search.ts fixes (highest generated
accuracy; within 0.1 point the earlier candidate). Reads the runs that
settings-search.ts left under OUT_DIR/runs, or kept copies (OUT_DIR/<run-id>/results.json beside OUT_DIR/search.json,
as docs/results/search/ keeps them); a reporting helper, not a test. Standard library only.

Usage: python3 tools/experiments/search-summary.py OUT_DIR [--json FILE]
"""
import argparse
import importlib.util
import json
from pathlib import Path

_spec = importlib.util.spec_from_file_location("knowledge_tables", Path(__file__).with_name("knowledge-tables.py"))
kt = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(kt)

TIE = 0.1  # points


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out_dir")
    ap.add_argument("--json", help="write the numbers here")
    a = ap.parse_args()
    out = Path(a.out_dir)
    search = json.loads((out / "search.json").read_text())
    cands, order = list(search["candidates"]), search["order"]
    rows = []
    for i, x in enumerate(order):
        v = order[(i + 1) % len(order)]
        for c in cands:
            rid = "search-%s-%s" % (c, x)
            run, status = out / "runs" / rid, out / "runs" / rid / "status.json"
            if (out / rid / "results.json").exists():  # a kept copy (docs/results/search/<run-id>/)
                run = out / rid
            elif not status.exists() or json.loads(status.read_text()).get("status") != "completed":
                continue
            held = kt.tables([run], "knowledge")[0]
            h = held[0]
            rows.append({"fold": x, "val": h["set"], "candidate": c, "n": h["n"], "metric": h["metric"], "base": h["base"], "mean": h["mean"],
                         "averaged": h["averaged"], "generated": h["generated"], "generatedSd": h["generatedSd"], "k": h["k"],
                         "genMinusBase": h["paired"]["base"], "genMinusAveraged": h["paired"]["averagedLora"]})
    lines = ["| reported fold (held out) | validation set | n | metric | candidate | base | LoRA mean | averaged | generated (±sd, K) | gen − base [95%] | gen − averaged [95%] |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append("| %s | %s | %d | %s | %s | %.1f | %.1f | %.1f | %.1f ± %.1f (%d) | %s | %s |" % (
            r["fold"], r["val"], r["n"], r["metric"], r["candidate"], r["base"], r["mean"], r["averaged"], r["generated"], r["generatedSd"], r["k"],
            kt.iv(r["genMinusBase"]), kt.iv(r["genMinusAveraged"])))
    choice = {}
    for x in order:
        mine = [r for r in rows if r["fold"] == x]
        if len(mine) < len(cands):
            choice[x] = None  # not every candidate finished: no choice
            continue
        best = max(r["generated"] for r in mine)
        choice[x] = next(r["candidate"] for r in sorted(mine, key=lambda r: cands.index(r["candidate"])) if r["generated"] >= best - TIE)
    lines += ["", "| reported fold | chosen (highest generated on its validation set; ties within %.1f point: the earlier of %s) |" % (TIE, ", ".join(cands)), "|---|---|"]
    lines += ["| %s | %s |" % (x, choice[x] or "— (not every candidate finished)") for x in order]
    print("\n".join(lines))
    if a.json:
        Path(a.json).write_text(json.dumps({"search": search, "rows": rows, "choice": choice}, indent=1) + "\n")


if __name__ == "__main__":
    main()
