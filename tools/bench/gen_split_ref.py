"""PyTorch twin of tools/bench/gen-split-ts.ts (and of gen-layout-ts.ts's timings): transformers + PEFT (adapter-0 of an `eval-ts.ts prepare` folder,
unmerged), 2 threads, greedy generation of its 16 instruction prompts in left-padded batches of 8, with 10 new tokens
and with 1 (the prefill alone; min_new_tokens forces the count), two rounds. Tells prefill from decode. Not a test.
Usage: HF_HUB_OFFLINE=1 $(bash infra/pyref.sh) tools/bench/gen_split_ref.py MODEL_DIR WORK_DIR"""
import json
import os
import sys
import time

import torch
from peft import PeftModel
from transformers import AutoModelForCausalLM, PreTrainedTokenizerFast

from hf_generate import generate_batches

torch.set_num_threads(2)
model_dir, work = sys.argv[1], sys.argv[2]
inp = json.load(open(os.path.join(work, "inputs.json")))
tok = PreTrainedTokenizerFast(tokenizer_file=os.path.join(model_dir, "tokenizer.json"))
cfg = json.load(open(os.path.join(model_dir, "config.json")))
model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32), inp["adapters"][0]).eval()
pad = cfg.get("pad_token_id") or 0


def generate(prompts, n):
    generate_batches(model, tok, prompts, 8, pad, n, min_new=n)


generate(inp["gen"][:8], 2)  # warm-up
for r in range(2):
    for n in (10, 1):
        t0 = time.perf_counter()
        generate(inp["gen"], n)
        print(f"round {r + 1}: {len(inp['gen'])} prompts x {n} new tokens {time.perf_counter() - t0:.2f} s", flush=True)
