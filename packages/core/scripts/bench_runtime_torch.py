# The PyTorch CPU side of `pnpm bench runtime`: the same matmul, LoRA linear forward+backward and conv2d
# forward+backward as bench-runtime.ts, same shapes, fp32, torch.set_num_threads(THREADS); prints one JSON line.
# Run by tools/bench/runtime.sh with the infra/pyref.sh venv; never by tests or CI.
import json, sys, time
import torch

spec = json.loads(sys.argv[1])
torch.set_num_threads(spec["threads"])
torch.manual_seed(0)


def timed(fn, reps, warmup):
    for _ in range(warmup):
        fn()
    s = []
    for _ in range(reps):
        t0 = time.perf_counter(); fn(); s.append(time.perf_counter() - t0)
    s.sort()
    return s[len(s) // 2]


rows = []
for n in spec["matmul"]:
    a, b = torch.randn(n, n), torch.randn(n, n)
    rows.append({"name": f"matmul {n}^3", "flop": 2 * n ** 3, "seconds": timed(lambda: a @ b, spec["reps"], spec["warmup"])})

L = spec["lora"]; T, IN, OUT, R = L["T"], L["IN"], L["OUT"], L["R"]
x = torch.randn(T, IN, requires_grad=True)
w = torch.randn(IN, OUT) * 0.04                          # frozen
A = (torch.randn(R, IN) * 0.04).requires_grad_()         # PEFT lora_A [r, in]
B = (torch.randn(OUT, R) * 0.04).requires_grad_()        # PEFT lora_B [out, r]
g = torch.randn(T, OUT)


def lora_step():
    x.grad = A.grad = B.grad = None
    y = x @ w + (x @ A.t()) @ B.t() * 2.0
    y.backward(g)


rows.append({"name": f"LoRA linear fwd+bwd [{T},{IN}]x[{IN},{OUT}] r={R}", "flop": 4 * T * IN * OUT + 6 * T * R * (IN + OUT),
             "seconds": timed(lora_step, spec["reps"], spec["warmup"])})

C = spec["conv"]; Bn, H, W, CIN, COUT, K = C["B"], C["H"], C["W"], C["CIN"], C["COUT"], C["K"]
xc = torch.randn(Bn, CIN, H, W, requires_grad=True)       # NCHW, PyTorch's layout
kc = (torch.randn(COUT, CIN, K, K) * 0.05).requires_grad_()
gc = torch.randn(Bn, COUT, H, W)


def conv_step():
    xc.grad = kc.grad = None
    torch.nn.functional.conv2d(xc, kc, padding="same").backward(gc)


rows.append({"name": f"conv2d fwd+bwd [{Bn},{H},{W},{CIN}] k{K} -> {COUT} same", "flop": 3 * 2 * Bn * H * W * K * K * CIN * COUT,
             "seconds": timed(conv_step, spec["reps"], spec["warmup"])})
print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "rows": rows}))
