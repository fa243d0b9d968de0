"""Parity fixtures for @dnd/lm: tiny random Llama and Qwen2 models (transformers), PEFT LoRA adapters,
a tiny byte-level BPE tokenizer (SmolLM2-style pre-tokenizer), and the reference logits and token ids.

Not a test: it writes packages/lm/test/fixtures/, which the jest tests read. Rerun (from the repo root) with
    $(bash infra/pyref.sh) packages/lm/test/make-fixtures.py
Deterministic for a given torch / transformers / peft / tokenizers version (recorded in fixtures/versions.json).
"""
import json
import os
import shutil

import numpy as np
import peft
import tokenizers
import torch
import transformers
from peft import LoraConfig, get_peft_model
from safetensors.numpy import save_file
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
VOCAB = 320  # 256 byte symbols + merges + 3 specials: small embeddings, still real BPE merges
CHATML = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\\n' }}{% endif %}"
    "{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)

TRAIN_TEXT = [
    "The quick brown fox jumps over the lazy dog. Question: which is heavier, a feather or a stone? Answer: a stone.",
    "Science tells us that water boils at 100 degrees Celsius at sea level, and that plants need sunlight to grow.",
    "In the morning the students read their books; in the evening they answered the questions of the teacher.",
    "Is the sky blue? Yes. Does ice melt when it is heated? Yes, it does. Can a fish climb a tree? No.",
] * 20

# Tokenization parity sample: unicode, whitespace and special-token edge cases.
TEXTS = [
    "Hello world",
    "The answer is: a stone.",
    "  leading spaces",
    "trailing spaces   ",
    "tabs\tand\nnewlines\n\n\nend",
    "multiple     spaces between",
    "emoji 🤗 and café, naïve, Zürich",
    "日本語のテキスト and 中文",
    "e\u0301 (combining accent) vs é",
    "numbers 12345 and 3.14159, 1,000,000",
    "don't can't it's we'll",
    "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n",
    "\u00a0non-breaking\u00a0space and zero\u200bwidth",
    "",
    " ",
    "\n",
    "Question: Which is heavier?\nAnswer:",
]


def make_tokenizer(path):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)]
    )
    tok.decoder = decoders.ByteLevel()
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False
    )
    tok.train_from_iterator(TRAIN_TEXT, trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<|im_start|>", eos_token="<|im_end|>", pad_token="<|endoftext|>", unk_token=None
    )
    fast.chat_template = CHATML
    fast.save_pretrained(path)
    return fast


def scale_weights(model, seed):
    """HF's init (std 0.02) gives near-uniform logits; larger weights make the parity test able to fail."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name:
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=g))
            elif name.endswith("bias"):
                p.copy_(0.5 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(torch.randn(p.shape, generator=g) / p.shape[-1] ** 0.5 * (3.0 if "embed" in name or "lm_head" in name else 1.0))


def lora_scale_up(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_" in name:
                p.copy_(0.1 * torch.randn(p.shape, generator=g))


def batch_inputs(tok, texts):
    ids = [tok(t, add_special_tokens=False)["input_ids"] for t in texts]
    T = max(len(x) for x in ids)
    pad = tok.pad_token_id
    arr = np.full((len(ids), T), pad, dtype=np.int64)
    mask = np.zeros((len(ids), T), dtype=np.int64)
    for i, x in enumerate(ids):
        arr[i, : len(x)] = x
        mask[i, : len(x)] = 1
    return arr, mask


def build(kind, tok, seed):
    torch.manual_seed(seed)
    common = dict(
        vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=256, rms_norm_eps=1e-5,
        bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id,
    )
    if kind == "llama":
        # llama3 rope scaling exercises the frequency rewrite; tied head as in SmolLM2.
        cfg = LlamaConfig(**common, tie_word_embeddings=True, rope_theta=10000.0,
                          rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                        "high_freq_factor": 4.0, "original_max_position_embeddings": 32})
        model = LlamaForCausalLM(cfg)
        lcfg = LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, task_type="CAUSAL_LM", init_lora_weights=False,
                          target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"])
    else:
        # Qwen2: q/k/v bias, untied head, plain RoPE with a large theta; rsLoRA on a subset of modules.
        cfg = Qwen2Config(**common, tie_word_embeddings=False, rope_theta=1000000.0, use_sliding_window=False)
        model = Qwen2ForCausalLM(cfg)
        lcfg = LoraConfig(r=2, lora_alpha=4, lora_dropout=0.0, task_type="CAUSAL_LM", init_lora_weights=False,
                          use_rslora=True, target_modules=["q_proj", "v_proj", "down_proj"])
    scale_weights(model, seed)
    model.eval()
    mdir = os.path.join(OUT, kind)
    model.save_pretrained(mdir, safe_serialization=True)
    tok.save_pretrained(mdir)
    adir = os.path.join(OUT, f"{kind}-adapter")
    pm = get_peft_model(model, lcfg)
    lora_scale_up(pm, seed + 1)
    pm.eval()
    pm.save_pretrained(adir, safe_serialization=True)
    return model, pm


TRAIN = {"prompts": ["Question: which is heavier?\nAnswer:", "Is the sky blue?"], "answers": [" a stone", " Yes."]}
TRAIN_CFG = {"lr": 0.01, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.1, "max_grad_norm": 0.5, "steps": 2}


def train_steps(pm, tok):
    """Two AdamW steps on LoRA only, loss on answer tokens + EOS (our trainer's encoding), grads clipped."""
    rows = []
    for p, a in zip(TRAIN["prompts"], TRAIN["answers"]):
        pi = tok(p, add_special_tokens=False)["input_ids"]
        ai = tok(a, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
        rows.append((pi + ai, [-100] * len(pi) + ai))
    T = max(len(r[0]) for r in rows)
    ids = torch.tensor([r[0] + [tok.pad_token_id] * (T - len(r[0])) for r in rows])
    mask = torch.tensor([[1] * len(r[0]) + [0] * (T - len(r[0])) for r in rows])
    labels = torch.tensor([r[1] + [-100] * (T - len(r[1])) for r in rows])
    params = [p for n, p in pm.named_parameters() if "lora_" in n]
    assert all(p.requires_grad for p in params) and sum(p.requires_grad for p in pm.parameters()) == len(params)
    opt = torch.optim.AdamW(params, lr=TRAIN_CFG["lr"], betas=TRAIN_CFG["betas"], eps=TRAIN_CFG["eps"], weight_decay=TRAIN_CFG["weight_decay"])
    pm.train()
    losses = []
    for _ in range(TRAIN_CFG["steps"]):
        opt.zero_grad()
        loss = pm(input_ids=ids, attention_mask=mask, labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, TRAIN_CFG["max_grad_norm"])
        opt.step()
        losses.append(loss.item())
    pm.eval()
    out = {"train.losses": np.array(losses, dtype=np.float32)}
    for n, p in pm.named_parameters():
        if "lora_" in n:
            out["train.after." + n.replace(".default", "")] = p.detach().numpy().astype(np.float32)
    return out


def main():
    if os.path.exists(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    torch.set_num_threads(1)
    tokdir = os.path.join(OUT, "tokenizer")
    tok = make_tokenizer(tokdir)
    tokenization = [
        {"text": t, "ids": tok(t, add_special_tokens=False)["input_ids"],
         "decoded": tok.decode(tok(t, add_special_tokens=False)["input_ids"], skip_special_tokens=False)}
        for t in TEXTS
    ]
    with open(os.path.join(OUT, "tokenization.json"), "w", encoding="utf-8") as f:
        json.dump(tokenization, f, ensure_ascii=False, indent=1)

    texts = ["The answer is: a stone.", "Is the sky blue? Yes.", "emoji 🤗 café"]
    ids, mask = batch_inputs(tok, texts)
    dump = {"ids": ids, "mask": mask}
    prompts = ["Question: which is heavier?", "The sky"]
    for kind, seed in (("llama", 1), ("qwen2", 2)):
        model, pm = build(kind, tok, seed)
        with torch.no_grad():
            with pm.disable_adapter():
                base = pm(input_ids=torch.tensor(ids), attention_mask=torch.tensor(mask)).logits.float().numpy()
            lora = pm(input_ids=torch.tensor(ids), attention_mask=torch.tensor(mask)).logits.float().numpy()
            # Greedy generation with left padding and the adapter on (positions from the mask, as HF generate does).
            tok.padding_side = "left"
            enc = tok(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
            gen = pm.generate(**enc, max_new_tokens=8, do_sample=False, eos_token_id=None, pad_token_id=tok.pad_token_id)
            tok.padding_side = "right"
        dump[f"{kind}.logits.base"] = base.astype(np.float32)
        dump[f"{kind}.logits.lora"] = lora.astype(np.float32)
        dump[f"{kind}.generate.lora"] = gen[:, enc["input_ids"].shape[1]:].numpy().astype(np.int64)
        print(kind, "logit std base", base.std(), "lora-base max", np.abs(lora - base).max())
        if kind == "llama":
            dump.update(train_steps(pm, tok))
    save_file(dump, os.path.join(OUT, "parity.safetensors"))
    with open(os.path.join(OUT, "versions.json"), "w") as f:
        json.dump({"torch": torch.__version__, "transformers": transformers.__version__, "peft": peft.__version__,
                   "tokenizers": tokenizers.__version__, "texts": texts, "prompts": prompts,
                   "train": TRAIN, "train_config": TRAIN_CFG}, f, indent=1)


if __name__ == "__main__":
    main()
