# Makes packages/decoder/test/fixtures/parity.safetensors: a small decoder chain's weights (PyTorch
# layouts and names), an input, its output, the weighted-MSE loss and grad norm, and the parameters after
# 1 and 3 AdamW steps with the first step's (clipped) gradients (clip 0.5 so that clipping acts, 1-step warm-up then cosine over 3 steps, noise off).
# Rerun: $(bash infra/pyref.sh) packages/decoder/test/make-fixtures.py   (from the repo root)
import json
import os
import sys

import torch
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(__file__))
from hyperconv_ref import Generator, train_step, weighted_mse  # noqa: E402

torch.manual_seed(1234)
torch.set_num_threads(1)
FEATURES = [(4, 6, 8), (4, 6, 8), (6, 5, 6), (5, 4, 6)]  # layer 0 is residual (same shape)
K = 3
B = 2
CFG = {"lr": 1e-3, "weight_decay": 0.1, "betas": (0.9, 0.999), "eps": 1e-8, "clip": 0.5, "warmup": 1, "total": 3}

model = Generator(FEATURES, K)
with torch.no_grad():  # move LayerNorm affine off (1, 0) so the test sees it
    for n, p in model.named_parameters():
        if ".norm." in n:
            p.add_(torch.randn_like(p) * 0.1)
x = torch.randn(B, *FEATURES[0])
target = torch.randn(B, *FEATURES[-1]) * 3
weights = torch.rand(FEATURES[-1][0]) * 2
weights = weights / weights.mean()

out = {f"init.{n}": p.detach().clone() for n, p in model.named_parameters()}
with torch.no_grad():
    y = model(x)
    loss0 = weighted_mse(y, target, weights)
out.update({"x": x, "target": target, "weights": weights, "y": y})

opt = torch.optim.AdamW(model.parameters(), lr=CFG["lr"], betas=CFG["betas"], eps=CFG["eps"], weight_decay=CFG["weight_decay"])
stats = []
for step in (1, 2, 3):
    loss, norm = train_step(model, opt, x, target, weights, step, CFG)
    stats.append({"step": step, "loss": loss, "grad_norm": norm})
    if step == 1:  # clipped gradients: elements that are ~0 exactly (a bias before a LayerNorm) have noise signs
        out.update({f"grad1.{n}": p.grad.detach().clone() for n, p in model.named_parameters()})
    if step in (1, 3):
        out.update({f"step{step}.{n}": p.detach().clone() for n, p in model.named_parameters()})
assert stats[0]["grad_norm"] > CFG["clip"], "the fixture should exercise clipping"

meta = {"features": json.dumps(FEATURES), "kernel_size": str(K), "train": json.dumps(CFG), "loss0": repr(loss0.item()),
        "stats": json.dumps(stats), "torch": torch.__version__}
dst = os.path.join(os.path.dirname(__file__), "fixtures", "parity.safetensors")
os.makedirs(os.path.dirname(dst), exist_ok=True)
save_file({k: v.contiguous().float() for k, v in out.items()}, dst, metadata=meta)
print(dst, os.path.getsize(dst), "bytes;", json.dumps(stats))
