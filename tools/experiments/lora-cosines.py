#!/usr/bin/env python3
"""Diagnostics for docs/results.md: how close each generated LoRA is to each zoo LoRA (last snapshot), as the
cosine of the flattened lora_A and lora_B weights, per fold of a finished leave-one-out run. A reporting helper,
not a test. Needs numpy and safetensors (the reference venv: `$(bash infra/pyref.sh)`).

Usage: $(bash infra/pyref.sh) tools/experiments/lora-cosines.py runs/cs-loo-1
"""
import json
import sys
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
from safetensors.numpy import load_file


def flat(adapter_dir, part):
    t = load_file(str(Path(adapter_dir) / "adapter_model.safetensors"))
    return np.concatenate([t[k].ravel() for k in sorted(t) if ".lora_%s." % part in k]).astype(np.float64)


def cos(a, b):
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-30))


def main(run_dir):
    for m in sorted(Path(run_dir).glob("heldout-*/manifest.json")):
        man = json.loads(m.read_text())
        held = man["config"]["heldOut"][0]
        report = Path(urlparse(man["artifacts"]["report"]["uri"]).path)
        zoo = {}
        for key, ref in man["artifacts"].items():
            if key.startswith("zoo/"):
                d = Path(urlparse(ref["uri"]).path)
                zm = json.loads((d / "manifest.json").read_text())
                zoo[key[4:]] = d / zm["snapshots"][-1]["path"]
        gens = sorted((report / "generated").iterdir())
        print("## held out %s: generated LoRA vs zoo LoRA (last snapshot), cosine of lora_B [lora_A]" % held)
        print("| generated | " + " | ".join(sorted(zoo)) + " |")
        print("|---|" + "---|" * len(zoo))
        for g in gens:
            gb, ga = flat(g, "B"), flat(g, "A")
            cells = ["%.2f [%.2f]" % (cos(gb, flat(zoo[s], "B")), cos(ga, flat(zoo[s], "A"))) for s in sorted(zoo)]
            print("| %s | %s |" % (g.name, " | ".join(cells)))
        print()


if __name__ == "__main__":
    main(sys.argv[1])
