"""Reference side of `pnpm bench lm`: transformers + PEFT (PyTorch CPU, 2 threads) on SmolLM2-135M-Instruct, batch 8 x
sequence 128. Writes the shared inputs (token ids for the forward; prompt/answer strings that tokenize to exactly 128
tokens with EOS for the LoRA step) on its first call, then times:
  forward: logits for every position + log-softmax gather of the next token (what scoring needs), no grad;
  LoRA step: r 8 / alpha 16 on all 7 projections, forward + backward + AdamW, loss on the 16 answer tokens.
Usage: python lm_ref.py MODEL_DIR INPUTS_JSON OUT_JSON REPS
"""
import json
import os
import random
import resource
import sys
import time

import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM, PreTrainedTokenizerFast

model_dir, inputs_file, out_file, reps = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
torch.set_num_threads(2)
B, T, A = 8, 128, 16
tok = PreTrainedTokenizerFast(tokenizer_file=os.path.join(model_dir, "tokenizer.json"))
eos = json.load(open(os.path.join(model_dir, "config.json")))["eos_token_id"]

if not os.path.exists(inputs_file):
    rng = random.Random(0)
    words = "the a water sun cloud river sea rain snow land air heat cold question answer science book tree stone light".split()
    def text(n):  # words until exactly n tokens (single-space ASCII words round-trip)
        s = ""
        while len(tok.encode(s, add_special_tokens=False)) < n:
            s += " " + rng.choice(words)
        ids = tok.encode(s, add_special_tokens=False)[:n]
        return tok.decode(ids)
    prompts = [text(T - A) for _ in range(B)]
    answers = [text(A - 1) for _ in range(B)]  # + EOS = A
    ids = [[rng.randrange(17, 49152) for _ in range(T)] for _ in range(B)]
    json.dump({"ids": ids, "prompts": prompts, "answers": answers}, open(inputs_file, "w"))
inp = json.load(open(inputs_file))
for p, a in zip(inp["prompts"], inp["answers"]):
    assert len(tok.encode(p, add_special_tokens=False)) == T - A and len(tok.encode(a, add_special_tokens=False)) == A - 1

model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
ids = torch.tensor(inp["ids"])


def forward():
    with torch.no_grad():
        logits = model(ids).logits[:, :-1]
        torch.log_softmax(logits, -1).gather(-1, ids[:, 1:, None])


pm = get_peft_model(model, LoraConfig(r=8, lora_alpha=16, lora_dropout=0.0, task_type="CAUSAL_LM",
                                      target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]))
opt = torch.optim.AdamW([p for p in pm.parameters() if p.requires_grad], lr=1e-4)
rows = [(tok.encode(p, add_special_tokens=False), tok.encode(a, add_special_tokens=False) + [eos]) for p, a in zip(inp["prompts"], inp["answers"])]
x = torch.tensor([(p + a)[:-1] for p, a in rows])
labels = torch.tensor([[-100] * (len(p) - 1) + a for p, a in rows])


def lora_step():
    pm.train()
    opt.zero_grad()
    loss = pm(input_ids=x, labels=labels).loss
    loss.backward()
    opt.step()


out = {"torch": torch.__version__, "threads": torch.get_num_threads()}
times = {}
with pm.disable_adapter():
    pm.eval()
    forward()
    times["forward"] = []
    for _ in range(reps):
        t0 = time.perf_counter(); forward(); times["forward"].append(time.perf_counter() - t0)
lora_step()
times["loraStep"] = []
for _ in range(reps):
    t0 = time.perf_counter(); lora_step(); times["loraStep"].append(time.perf_counter() - t0)
out.update(times)
out["maxRssMB"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
json.dump(out, open(out_file, "w"))
