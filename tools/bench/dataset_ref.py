"""Reference side of `pnpm bench dataset`: PyTorch + PEFT replay the exact batches @dnd/dataset trained on
(SmolLM2-135M-Instruct fp32, LoRA r 8 / alpha 16 on all 7 modules, AdamW, loss on answer tokens + EOS only,
examples encoded as @dnd/lm does: prompt ids + answer ids + EOS, cut to 128 from the prompt's left), saving a
PEFT snapshot (save_pretrained, safetensors) + optimizer state after every step but the first (the warm-up).
Two variants, each from a fresh model: logits on the answer positions only (as @dnd/lm computes them) and HF's
default full-sequence logits. 2 CPU threads.
Usage: python dataset_ref.py MODEL_DIR BATCHES_JSON OUT_JSON
"""
import json
import os
import sys
import tempfile
import time

import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM, PreTrainedTokenizerFast

model_dir, batches_file, out_file = sys.argv[1:4]
torch.set_num_threads(2)
MAX_LEN = 128

tok = PreTrainedTokenizerFast(tokenizer_file=os.path.join(model_dir, 'tokenizer.json'))
gen = json.load(open(os.path.join(model_dir, 'generation_config.json'))) if os.path.exists(os.path.join(model_dir, 'generation_config.json')) else {}
cfg = json.load(open(os.path.join(model_dir, 'config.json')))
eos = gen.get('eos_token_id', cfg.get('eos_token_id'))
eos = eos[0] if isinstance(eos, list) else eos
pad = cfg.get('pad_token_id') or eos

TARGETS = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj']


def fresh_model():
    torch.manual_seed(42)
    m = AutoModelForCausalLM.from_pretrained(model_dir, torch_dtype=torch.float32)
    return get_peft_model(m, LoraConfig(r=8, lora_alpha=16, lora_dropout=0.0, task_type='CAUSAL_LM', target_modules=TARGETS))


batches = json.load(open(batches_file))


def encode(prompt, answer):
    p = tok.encode(prompt, add_special_tokens=False)
    a = tok.encode(answer, add_special_tokens=False) + [eos]
    a = a[:MAX_LEN - 1]
    if len(p) + len(a) > MAX_LEN:
        p = p[len(p) - (MAX_LEN - len(a)):]
    full = p + a
    return full[:-1], [-100] * (len(p) - 1) + a


def make(batch):
    rows = [encode(p, a) for p, a in zip(batch['prompts'], batch['answers'])]
    T = max(len(x) for x, _ in rows)
    ids = torch.full((len(rows), T), pad, dtype=torch.long)
    labels = torch.full((len(rows), T), -100, dtype=torch.long)
    mask = torch.zeros((len(rows), T), dtype=torch.long)
    for i, (x, y) in enumerate(rows):
        ids[i, :len(x)] = torch.tensor(x)
        labels[i, :len(y)] = torch.tensor(y)
        mask[i, :len(x)] = 1
    return ids, labels, mask, sum(1 for _, y in rows for t in y if t != -100)


def run(mode):
    """mode 'answer': lm_head on answer positions only (what @dnd/lm does); 'full': HF's default, logits everywhere."""
    model = fresh_model()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-4, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    inner = model.base_model.model  # LlamaForCausalLM with LoRA layers
    per_snapshot, step_seconds, tokens = [], [], []
    with tempfile.TemporaryDirectory() as out:
        for i, b in enumerate(batches):
            if i == 1:
                for g in opt.param_groups:
                    g['lr'] = 1e-5
            t0 = time.perf_counter()
            ids, labels, mask, n = make(b)
            if mode == 'full':
                logits = model(input_ids=ids, attention_mask=mask).logits
                loss = torch.nn.functional.cross_entropy(logits.view(-1, logits.size(-1)), labels.view(-1), ignore_index=-100)
            else:
                h = inner.model(input_ids=ids, attention_mask=mask).last_hidden_state
                sel = labels != -100
                logits = inner.lm_head(h[sel])
                loss = torch.nn.functional.cross_entropy(logits, labels[sel])
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            opt.zero_grad(set_to_none=True)
            t1 = time.perf_counter()
            if i > 0:
                model.save_pretrained(os.path.join(out, f'{mode}-step-{i:04d}'))
                torch.save(opt.state_dict(), os.path.join(out, f'{mode}-state-{i:04d}.pt'))
                per_snapshot.append(time.perf_counter() - t0)
            step_seconds.append(t1 - t0)
            tokens.append(n)
    del model, opt
    return {'perSnapshot': per_snapshot, 'stepSeconds': step_seconds, 'tokens': tokens}


res = {'impl': 'PyTorch+PEFT', 'torch': torch.__version__, 'threads': torch.get_num_threads()}
for mode in ('answer', 'full'):
    res[mode] = run(mode)
    print(f"PyTorch+PEFT ({mode} logits): seconds per snapshot {', '.join(f'{s:.2f}' for s in res[mode]['perSnapshot'])}")
json.dump(res, open(out_file, 'w'))
