"""Greedy generation the PyTorch references of the eval benchmarks share (eval_ref.py, gen_split_ref.py): transformers'
model.generate over left-padded batches, as HF pads for generation. Not a benchmark itself."""
import torch


def generate_batches(model, tok, prompts, batch, pad, max_new, min_new=None):
    """Generates for `prompts` in left-padded batches of `batch`; returns each prompt's new ids (EOS and after kept)."""
    out = []
    with torch.no_grad():
        for s in range(0, len(prompts), batch):
            enc = [tok.encode(p, add_special_tokens=False) for p in prompts[s:s + batch]]
            T = max(len(e) for e in enc)
            ids = torch.full((len(enc), T), pad, dtype=torch.long)
            mask = torch.zeros((len(enc), T), dtype=torch.long)
            for b, e in enumerate(enc):
                ids[b, T - len(e):] = torch.tensor(e)
                mask[b, T - len(e):] = 1
            extra = {} if min_new is None else {"min_new_tokens": min_new}
            g = model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=max_new, do_sample=False, pad_token_id=pad, **extra)
            out.extend(g[:, T:].tolist())
    return out
