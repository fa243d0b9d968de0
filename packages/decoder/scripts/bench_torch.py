# PyTorch side of `pnpm bench decoder`: the reference decoder (../test/hyperconv_ref.py) trained for a few
# steps at the given chain / batch, fp32, noise on, AdamW + clip + schedule as ours. Prints one JSON line.
# Usage: python bench_torch.py '{"features": [[16,64,384],...], "kernel": 3, "batch": 4, "steps": 6, "threads": 2}'
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "test"))
from hyperconv_ref import Generator, train_step  # noqa: E402

args = json.loads(sys.argv[1])
torch.set_num_threads(args["threads"])
torch.manual_seed(0)
feats = [tuple(f) for f in args["features"]]
model = Generator(feats, args["kernel"])
opt = torch.optim.AdamW(model.parameters(), lr=3e-5, weight_decay=0.1)
cfg = {"lr": 3e-5, "warmup": 1, "total": 1000, "clip": 1.0}
x = torch.randn(args["batch"], *feats[0])
target = torch.randn(args["batch"], *feats[-1])
weights = torch.ones(feats[-1][0])
times = []
for step in range(1, args["steps"] + 1):
    t0 = time.perf_counter()
    train_step(model, opt, x, target, weights, step, cfg, noise=(1e-4, 1e-5))
    times.append(time.perf_counter() - t0)
warm = sorted(times[1:])
print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "params": sum(p.numel() for p in model.parameters()),
                  "first_s": times[0], "median_s": warm[len(warm) // 2], "min_s": warm[0]}))
