"""transformers' side of `dnd model check`: parameter count, greedy answer to the fixed prompt and mean NLL of
the fixed text for an HF directory, to record beside ours in docs/lm.md. Not a test (needs torch).
Usage: $(bash infra/pyref.sh) packages/lm/test/model-check-ref.py ~/.cache/dnd/models/smollm2-135m-instruct
The prompt and text must equal MODEL_CHECK_PROMPT / MODEL_CHECK_TEXT in packages/lm/src/model-check.ts.
"""
import json
import sys

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

PROMPT = "What is the capital of France?"
TEXT = (
    "The water cycle describes how water moves between the oceans, the air and the land. Heat from the sun "
    "evaporates water from the surface of the sea. The vapour rises, cools and condenses into clouds, and the "
    "water falls back to the ground as rain or snow. Rivers carry much of it back to the sea, where the cycle begins again."
)

torch.set_num_threads(2)
d = sys.argv[1]
tok = AutoTokenizer.from_pretrained(d)
model = AutoModelForCausalLM.from_pretrained(d, dtype=torch.float32).eval()
prompt = tok.apply_chat_template([{"role": "user", "content": PROMPT}], tokenize=False, add_generation_prompt=True)
enc = tok(prompt, return_tensors="pt", add_special_tokens=False)
with torch.no_grad():
    out = model.generate(**enc, max_new_tokens=24, do_sample=False)
    ids = tok(TEXT, return_tensors="pt", add_special_tokens=False)["input_ids"]
    nll = model(ids, labels=ids).loss.item()
print(json.dumps({
    "parameters": sum(p.numel() for p in model.parameters()),
    "answer": tok.decode(out[0, enc["input_ids"].shape[1]:], skip_special_tokens=True),
    "meanNll": nll, "nllTokens": ids.shape[1] - 1,
}, indent=1))
