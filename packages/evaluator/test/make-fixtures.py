"""Parity fixture for @dnd/evaluator's log-likelihood scorer: lm-evaluation-harness itself (lm-eval 0.4.13,
HFLM on CPU) scores 50 commonsense items with the tiny random Llama of @dnd/lm's fixtures, as a
`multiple_choice` task (context, " " + choice, acc and acc_norm by the harness's own process_results).

Not a test: it writes packages/evaluator/test/fixtures/harness-parity.json, which src/parity.test.ts reads.
Rerun from the repo root (lm-eval must be in the pyref venv; it is installed with the venv's versions pinned):
    PY=$(bash infra/pyref.sh)
    $PY -m pip freeze | grep -E '^(torch|transformers|peft|safetensors|numpy|tokenizers)==' > /tmp/c.txt
    $PY -m pip install -c /tmp/c.txt lm-eval==0.4.13
    $PY packages/evaluator/test/make-fixtures.py
The item choice (10 per set, a fixed seed) and the choice parsing here are written independently of the
TypeScript converter, so the test also checks itemFromInstruction against this second reading.
"""
import hashlib
import json
import os
import re

import numpy as np
import torch
import transformers
from datasets import Dataset, DatasetDict

import lm_eval
from lm_eval.api.task import ConfigurableTask
from lm_eval.evaluator import evaluate
from lm_eval.models.huggingface import HFLM

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
MODEL = os.path.join(ROOT, "packages", "lm", "test", "fixtures", "llama")
# The shared folder beside the checkout (or DND_SHARED_DIR), as @dnd/dataset's sharedDir() finds it; DND_COMMONSENSE overrides.
DATA = os.environ.get("DND_COMMONSENSE") or os.path.join(os.environ.get("DND_SHARED_DIR") or os.path.join(ROOT, "..", "shared"), "data", "commonsense")
OUT = os.path.join(HERE, "fixtures", "harness-parity.json")
SETS = ["ARC-Easy", "boolq", "openbookqa", "piqa", "social_i_qa"]
PER_SET = 10
SEED = 20261128
MAX_CHARS = 170  # context + longest choice; keeps every request inside the tiny model's 256 positions

LABEL = {"answer": "Answer", "option": "Option", "solution": "Solution"}


def parse(instruction):
    """Second, independent reading of the instruction format: (context, choices, tokens)."""
    body, fmt = re.split(r"\n\s*Answer format:\s*", instruction)
    tokens = fmt.strip().lower().split("/")
    if tokens == ["true", "false"]:
        q = body.split("question:", 1)[1].strip()
        return f"Question: {q}\nAnswer:", ["true", "false"], tokens
    word = LABEL[re.match(r"[a-z]+", tokens[0]).group(0)]
    parts = re.split(rf"\s*\b{word}(\d+):\s*", body)
    q = re.sub(r"^Please choose the correct [a-z]+ to the question:\s*", "", parts[0]).strip()
    choices = [parts[i + 1].strip() for i in range(1, len(parts) - 1, 2)]
    assert [parts[i] for i in range(1, len(parts) - 1, 2)] == [str(i + 1) for i in range(len(choices))], parts
    return f"Question: {q}\nAnswer:", choices, tokens


def pick_items():
    rng = np.random.RandomState(SEED)
    docs = []
    for s in SETS:
        recs = json.load(open(os.path.join(DATA, s, "test.json")))
        taken = 0
        for i in rng.permutation(len(recs)):
            ctx, choices, tokens = parse(recs[i]["instruction"])
            if len(ctx) + max(len(c) for c in choices) > MAX_CHARS or len(set(choices)) != len(choices):
                continue
            docs.append({"set": s, "index": int(i), "record": recs[i], "context": ctx, "choices": choices,
                         "gold": tokens.index(recs[i]["answer"].strip().lower())})
            taken += 1
            if taken == PER_SET:
                break
    return docs


def main():
    torch.manual_seed(0)
    docs = pick_items()
    table = [{"context": d["context"], "choices": d["choices"], "gold": d["gold"]} for d in docs]
    task = ConfigurableTask(config={
        "task": "dnd_parity",
        "custom_dataset": lambda **_: DatasetDict({"test": Dataset.from_list(table)}),
        "test_split": "test",
        "output_type": "multiple_choice",
        "doc_to_text": lambda d: d["context"],
        "doc_to_choice": lambda d: d["choices"],
        "doc_to_target": lambda d: d["gold"],
        "target_delimiter": " ",
        "metric_list": [{"metric": "acc"}, {"metric": "acc_norm"}],
    })
    lm = HFLM(pretrained=MODEL, device="cpu", batch_size=8, dtype="float32")
    res = evaluate(lm=lm, task_dict={"dnd_parity": task}, log_samples=True)
    samples = sorted(res["samples"]["dnd_parity"], key=lambda x: x["doc_id"])
    assert len(samples) == len(docs)
    items = []
    for d, s in zip(docs, samples):
        lls = [float(r[0]) for r in s["filtered_resps"]]
        greedy = [bool(r[1]) for r in s["filtered_resps"]]
        lens = np.array([float(len(c)) for c in d["choices"]])
        lls_sorted = sorted(lls, reverse=True)
        items.append({
            "set": d["set"], "index": d["index"], "record": d["record"], "context": d["context"], "choices": d["choices"],
            "gold": d["gold"], "lls": lls, "isGreedy": greedy,
            "pred": int(np.argmax(lls)), "predNorm": int(np.argmax(np.array(lls) / lens)),
            "acc": float(s["acc"]), "accNorm": float(s["acc_norm"]),
            # How close the top two choices are: a parity failure on a tiny margin means float noise.
            "margin": lls_sorted[0] - lls_sorted[1],
        })
    model_sha = hashlib.sha256(open(os.path.join(MODEL, "model.safetensors"), "rb").read()).hexdigest()
    out = {
        "what": "lm-evaluation-harness multiple_choice on 50 commonsense items, tiny random Llama (packages/lm/test/fixtures/llama)",
        "versions": {"lm_eval": lm_eval.__version__, "torch": torch.__version__, "transformers": transformers.__version__},
        "modelSha256": model_sha,
        "maxLength": lm.max_length,
        "seed": SEED,
        "acc": float(res["results"]["dnd_parity"]["acc,none"]),
        "accNorm": float(res["results"]["dnd_parity"]["acc_norm,none"]),
        "items": items,
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(out, f, indent=1)
    print(f"wrote {OUT}: {len(items)} items, acc {out['acc']:.3f}, acc_norm {out['accNorm']:.3f}, "
          f"min margin {min(i['margin'] for i in items):.2e}")


if __name__ == "__main__":
    main()
