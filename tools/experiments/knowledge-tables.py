#!/usr/bin/env python3
"""The knowledge-protocol tables of docs/results.md (issue 16's targets) from a finished run: one fold (a run
directory with manifest.json) or a leave-one-out run (one fold per heldout-<set>/). Per held-out set: base,
training-LoRA mean, best single, averaged and generated accuracy with the paired 95% bootstrap intervals of
generated minus each, and whether the knowledge target holds there (generated beats base and the LoRA mean,
both intervals above 0); the prompt-swap matrix (whose prompts give the best generated LoRA on each held-out
set); in-distribution recovery per training set and fold; the spread of generated LoRAs; each fold's scoring time per
protocol (reports that record it), with the time the protocol would take on every test item of each set, scaled from
its own seconds per set (the same adapters; scoring time grows with the items). Each set's numbers are
in its headline metric (the metric column: results.json's metricBySet, or the protocol's one metric in reports made
before per-set metrics). Reads each fold's report (results.json); a reporting helper, not a test. Standard library only.

Usage: python3 tools/experiments/knowledge-tables.py RUN_DIR [RUN_DIR ...] [--protocol knowledge] [--json OUT]
(a RUN_DIR may also be a folder with a kept results.json, e.g. docs/results/kfold-siqa)
"""
import argparse
import json
import statistics
from pathlib import Path
from urllib.parse import urlparse


def fold_results(run_dirs):
    for run_dir in run_dirs:
        run = Path(run_dir)
        if (run / "results.json").exists() and not (run / "manifest.json").exists():  # a kept copy (docs/results/<run>/)
            yield json.loads((run / "results.json").read_text())
            continue
        yield from run_results(run)


def run_results(run):
    mans = sorted(run.glob("heldout-*/manifest.json")) or [run / "manifest.json"]
    for m in mans:
        if not m.exists():
            raise SystemExit("%s: no manifest (has the run finished?)" % m)
        man = json.loads(m.read_text())
        report = Path(urlparse(man["artifacts"]["report"]["uri"]).path)
        yield json.loads((report / "results.json").read_text())


def protocol_of(res, name):
    for p in res.get("protocols", []):
        if p["protocol"] == name:
            return p
    raise SystemExit("run %s has no %s protocol (has %s)" % (res.get("runInfo", {}).get("runId"), name, [p["protocol"] for p in res.get("protocols", [])]))


def pt(x):
    return 100.0 * x


def iv(d):
    return "%+.1f [%+.1f, %+.1f]" % (pt(d["mean"]), pt(d["lo"]), pt(d["hi"]))


def timing_rows(res):
    """Per protocol of one fold's results: pairs, seconds, and seconds at every test item (each set scaled by total / n)."""
    rows = []
    for p in res.get("protocols", []):
        t = p.get("timing")
        if not t:
            continue
        size = {x["name"]: x for x in p["sets"]}
        full = sum(x["seconds"] * size[x["name"]]["total"] / max(1, size[x["name"]]["n"]) for x in t["sets"])
        rows.append({"fold": p["heldOut"][0]["set"], "protocol": p["protocol"], "pairs": t["pairs"], "seconds": t["seconds"], "fullSeconds": full,
                     "sets": {x["name"]: {"pairs": x["pairs"], "seconds": x["seconds"], "n": size[x["name"]]["n"], "total": size[x["name"]]["total"]} for x in t["sets"]}})
    return rows


def tables(run_dirs, protocol):
    held, swap, indist, spreads, own = [], [], [], [], {}
    timing = []
    for res in fold_results(run_dirs):
        timing += timing_rows(res)
        p = protocol_of(res, protocol)
        # Each set's headline metric (reports before per-set metrics have one for the protocol).
        metric_of = lambda s, p=p: p.get("metricBySet", {}).get(s, p.get("metric", "acc"))
        for h in p["heldOut"]:
            paired = {x["against"]: x["diff"] for x in h["paired"]}
            g = h["generated"]
            held.append({
                "set": h["set"], "n": h["n"], "metric": h.get("metric", metric_of(h["set"])), "base": pt(h["base"]["value"]), "mean": pt(h["loraMean"]["value"]),
                "best": pt(h["bestLora"]["acc"]["value"]), "bestAdapter": h["bestLora"]["adapter"].split("@")[0],
                "averaged": pt(h["averagedLora"]["acc"]["value"]), "generated": pt(g["value"]), "generatedSd": pt(g["std"]), "k": g["k"],
                "paired": paired,
                "target": paired["base"]["lo"] > 0 and paired["loraMean"]["lo"] > 0,
            })
        for s in p.get("promptSwap", []):
            swap.append({"set": s["set"], "ownBest": s["ownBest"], "rows": {r["promptsFrom"]: pt(r["value"]) for r in s["rows"]}})
        own_gain = {o["set"]: o["diff"] for o in p.get("ownSet", [])}
        for o in p.get("ownSet", []):
            # The same cells in every fold whose zoo is the same: one row per distinct result (folds read from runs
            # with different zoos, e.g. two training forms, give one row per zoo), naming the folds it came from.
            key = (o["set"], o["lora"]["value"], o["base"]["value"])
            row = own.setdefault(key, {"set": o["set"], "metric": metric_of(o["set"]), "adapter": o["adapter"], "lora": pt(o["lora"]["value"]), "base": pt(o["base"]["value"]),
                                       "diff": o["diff"], "mcnemarP": o["mcnemar"]["p"], "folds": []})
            row["folds"].append(p["heldOut"][0]["set"])
        for d in p.get("inDistribution", []):
            gain = own_gain.get(d["set"])
            indist.append({"fold": p["heldOut"][0]["set"], "set": d["set"], "metric": metric_of(d["set"]), "base": pt(d["base"]["value"]), "own": pt(d["own"]["value"]),
                           "generated": pt(d["generated"]["value"]), "recovered": d["recovered"], "cosine": d["cosine"],
                           "ownGain": gain, "ownGainSignificant": bool(gain and gain["lo"] > 0)})
        sp = res.get("spread")
        if sp:
            spreads.append({"fold": p["heldOut"][0]["set"], "between": sp["between"], "ratio": sp["ratio"],
                            "within": {w["group"]: w["meanDistance"] for w in sp["within"] if w["count"] > 1}})
    return held, swap, indist, spreads, list(own.values()), timing


def render(held, swap, indist, spreads, own=(), timing=()):
    out = ["| held-out set | n | metric | base | LoRA mean | best single | averaged | generated (±sd over K) | gen − base | gen − mean | gen − averaged | gen − best | target |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for h in held:
        p = h["paired"]
        out.append("| %s | %d | %s | %.1f | %.1f | %.1f (%s) | %.1f | %.1f ± %.1f | %s | %s | %s | %s | %s |" % (
            h["set"], h["n"], h["metric"], h["base"], h["mean"], h["best"], h["bestAdapter"], h["averaged"], h["generated"], h["generatedSd"],
            iv(p["base"]), iv(p["loraMean"]), iv(p["averagedLora"]), iv(p["bestLora"]), "met" if h["target"] else "missed"))
    out.append("")
    out.append("Knowledge target (generated above base and LoRA mean, both paired intervals above 0): %d of %d held-out sets." % (
        sum(h["target"] for h in held), len(held)))
    if own:
        out += ["", "| set | metric | its own LoRA | base | own − base (paired 95%) | McNemar p | own LoRA beats base | in folds (held out) |", "|---|---|---|---|---|---|---|---|"]
        for o in sorted(own, key=lambda o: (o["set"], o["folds"][0])):
            out.append("| %s | %s | %.1f | %.1f | %s | %.2g | %s | %s |" % (o["set"], o["metric"], o["lora"], o["base"], iv(o["diff"]), o["mcnemarP"], "yes" if o["diff"]["lo"] > 0 else "no", ", ".join(o["folds"])))
    if swap:
        cols = sorted({c for s in swap for c in s["rows"]})
        out += ["", "| scored on \\ prompts from | " + " | ".join(cols) + " | own best |", "|---|" + "---|" * (len(cols) + 1)]
        for s in swap:
            best = max(s["rows"].values())
            cells = [("**%.1f**" if s["rows"].get(c) == best else "%.1f") % s["rows"][c] if c in s["rows"] else "—" for c in cols]
            out.append("| %s | %s | %s |" % (s["set"], " | ".join(cells), "yes" if s["ownBest"] else "no"))
        out += ["", "Prompt-swap target (own prompts best): %d of %d held-out sets." % (sum(s["ownBest"] for s in swap), len(swap))]
    if indist:
        out += ["", "| training set | metric | fold (held out) | base | own LoRA (own − base, paired 95%) | generated from own prompts | recovered | cosine |", "|---|---|---|---|---|---|---|---|"]
        for d in sorted(indist, key=lambda d: (d["set"], d["fold"])):
            # Recovery is a share of the own LoRA's gain: only meaningful where that gain is above 0 (paired interval).
            rec = "%.0f%%" % (100 * d["recovered"]) if d["recovered"] is not None and d["ownGainSignificant"] else "n/a (own LoRA not above base)"
            gain = iv(d["ownGain"]) if d["ownGain"] else "—"
            out.append("| %s | %s | %s | %.1f | %.1f (%s) | %.1f | %s | %.2f |" % (d["set"], d["metric"], d["fold"], d["base"], d["own"], gain, d["generated"], rec, d["cosine"]))
        by = {}
        for d in indist:
            if d["recovered"] is not None and d["ownGainSignificant"]:
                by.setdefault(d["set"], []).append(d["recovered"])
        med = {s: statistics.median(v) for s, v in by.items()}
        out += ["", "In-distribution target (median recovery over folds >= 80%%, sets whose own LoRA beats the base): %s." % ", ".join(
            "%s %.0f%% (%d folds)" % (s, 100 * m, len(by[s])) for s, m in sorted(med.items()))]
    if spreads:
        out += ["", "| fold (held out) | within-set distance (K draws) | between sets | ratio |", "|---|---|---|---|"]
        for s in spreads:
            out.append("| %s | %s | %.2f | %.1f |" % (s["fold"], ", ".join("%s %.2f" % kv for kv in sorted(s["within"].items())), s["between"], s["ratio"]))
    if timing:
        out += ["", "| fold (held out) | protocol | item-adapter pairs | scoring time | ms per pair | per set: items scored of all, minutes | at every test item (scaled) |", "|---|---|---|---|---|---|---|"]
        for t in timing:
            per = "; ".join("%s %d/%d %.1f" % (k, v["n"], v["total"], v["seconds"] / 60) for k, v in t["sets"].items())
            out.append("| %s | %s | %d | %.1f min | %.0f | %s | %.1f min |" % (t["fold"], t["protocol"], t["pairs"], t["seconds"] / 60, 1000 * t["seconds"] / max(1, t["pairs"]), per, t["fullSeconds"] / 60))
    return "\n".join(out)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help="a run directory (one fold or a leave-one-out run), or a folder holding a kept results.json; several combine their folds")
    ap.add_argument("--protocol", default="knowledge", choices=["knowledge", "paper"])
    ap.add_argument("--json", help="write the numbers here")
    a = ap.parse_args()
    held, swap, indist, spreads, own, timing = tables(a.run_dirs, a.protocol)
    print(render(held, swap, indist, spreads, own, timing))
    if a.json:
        Path(a.json).write_text(json.dumps({"heldOut": held, "ownSet": own, "promptSwap": swap, "inDistribution": indist, "spread": spreads, "timing": timing}, indent=1) + "\n")
