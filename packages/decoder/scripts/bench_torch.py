# PyTorch side of `pnpm bench decoder`: the reference decoder (../test/hyperconv_ref.py) trained for a few
# steps at the given chain / batch, fp32, noise on, AdamW + clip + schedule as ours; with "checkpoint", also the
# seconds to write a checkpoint at that chain (weights + AdamW exp_avg / exp_avg_sq + loss weights to one
# safetensors file fsynced to disk, a state JSON, written to a temporary directory and renamed into place, as ours).
# Prints one JSON line.
# Usage: python bench_torch.py '{"features": [[16,64,384],...], "kernel": 3, "batch": 4, "steps": 6, "threads": 2,
#                               "checkpoint": {"features": [[32,64,384],...], "kernel": 3, "runs": 3}}'
import json
import os
import shutil
import sys
import tempfile
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
out = {"torch": torch.__version__, "threads": torch.get_num_threads(), "params": sum(p.numel() for p in model.parameters()),
       "first_s": times[0], "median_s": warm[len(warm) // 2], "min_s": warm[0]}


def bench_checkpoint(c):
    from safetensors.torch import save_file
    cf = [tuple(f) for f in c["features"]]
    m = Generator(cf, c["kernel"])
    o = torch.optim.AdamW(m.parameters(), lr=3e-5, weight_decay=0.1)
    w = torch.ones(cf[-1][0])
    train_step(m, o, torch.randn(1, *cf[0]), torch.randn(1, *cf[-1]), w, 1, cfg, noise=(1e-4, 1e-5))
    root = tempfile.mkdtemp(prefix="dnd-bench-ckpt-torch-")
    ts = []
    try:
        for i in range(c["runs"]):
            t0 = time.perf_counter()
            tmp, final = os.path.join(root, "step.tmp"), os.path.join(root, "step-%06d" % i)
            os.makedirs(tmp)
            tensors = {k: v.detach().contiguous() for k, v in m.state_dict().items()}
            for name, p in m.named_parameters():
                st = o.state[p]
                tensors["optimizer.exp_avg." + name] = st["exp_avg"].contiguous()
                tensors["optimizer.exp_avg_sq." + name] = st["exp_avg_sq"].contiguous()
            tensors["criterion_weight"] = w
            save_file(tensors, os.path.join(tmp, "generator.safetensors"), metadata={"format": "pt", "step": str(i)})
            fd = os.open(os.path.join(tmp, "generator.safetensors"), os.O_RDONLY)
            os.fsync(fd)  # ours fsyncs the weights before the rename (crash safety)
            os.close(fd)
            with open(os.path.join(tmp, "state.json"), "w") as f:
                json.dump({"step": i, "features": c["features"]}, f, indent=2)
            os.rename(tmp, final)
            ts.append(time.perf_counter() - t0)
            shutil.rmtree(final)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    ts.sort()
    return {"params": sum(p.numel() for p in m.parameters()), "median_s": ts[len(ts) // 2], "min_s": ts[0]}


if "checkpoint" in args:
    out["checkpoint"] = bench_checkpoint(args["checkpoint"])
print(json.dumps(out))
