"""Writes the `## eval` section of docs/benchmarks.md from the two sides' JSON (tools/bench/eval.sh). Not a benchmark itself."""
import datetime
import json
import os
import platform
import sys

sys.path.insert(0, os.path.dirname(__file__))
from benchdoc import write_section  # noqa: E402

tmp, doc, args, batch, gen_batch, nice, load0 = sys.argv[1:8]
ts, py = json.load(open(os.path.join(tmp, "ts.json"))), json.load(open(os.path.join(tmp, "py.json")))
n, ng, nm, K = ts["items"], ts["genItems"], ts["multiItems"], ts["adapters"]
ips = lambda items, s: items / s
ll_ours, ll_plain = ips(n, ts["llShared"]), ips(n, ts["llPlain"])
ll_peft, ll_hflm = ips(n, py["peftLoglik"]), ips(n, py["hflmLoglik"])
gen_ours, gen_peft = ips(ng, ts["gen"]), ips(ng, py["gen"])
batched, seq = ips(nm * K, ts["batched"]), ips(nm * K, ts["sequential"])
GK = ts["genAdapters"]
gen_batched, gen_seq = ips(nm * GK, ts["genBatched"]), ips(nm * GK, ts["genSequential"])
d_peft = max(abs(a - b) for a, b in zip(ts["lls"], py["lls"]))
d_hflm = max(abs(a - b) for a, b in zip(ts["lls"], py["hflmLls"]))
same_out = sum(a == b for a, b in zip(ts["outputs"], py["outputs"]))
met = lambda x, t: "met" if x >= t else "NOT met"
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.machine())
load = open("/proc/loadavg").read().split()[:3]
section = f"""## eval

Command: `pnpm bench eval {args}` (tools/bench/eval.sh), {datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC, {cpu}, {os.cpu_count()} cores.
Load average (1 / 5 / 15 min) before the benchmark started {load0.replace(' ', ' / ')}, at its end {' / '.join(load)} (the benchmark
itself keeps about 2 busy; a 1-minute figure above 0.5 at the start means that something else ran in the minute before it);
both sides ran under `nice -n {nice}`, one after the other, once each (no alternating rounds), so read the ratios as same-run and rough.
SmolLM2-135M-Instruct fp32 with one LoRA (r 8, alpha 16, all 7 modules, seeded, unmerged on every side); the first {n}
ARC-Easy test items with 4 choices, lm-eval's `multiple_choice` requests (context "Question: ...\\nAnswer:", continuation
" " + choice), {batch} requests per forward pass; generation: the first {ng} instruction prompts, greedy, 10 new tokens,
{gen_batch} prompts per batch, KV cache on both sides. PyTorch {py['torch']} CPU on {py['threads']} threads, lm-eval {py['lmEval']}; ours TF.js, {ts['backend']} backend.

| measure | @dnd/lm | transformers + PEFT | lm-eval HFLM | ours vs PEFT | ours vs HFLM | target |
|---|---|---|---|---|---|---|
| log-likelihood, items/s (shared prefixes) | {ll_ours:.2f} | {ll_peft:.2f} | {ll_hflm:.2f} | **{ll_ours / ll_peft:.2f}x** | **{ll_ours / ll_hflm:.2f}x** | >= 2x both: {met(min(ll_ours / ll_peft, ll_ours / ll_hflm), 2)} |
| log-likelihood, items/s (plain path: context run per choice) | {ll_plain:.2f} | | | {ll_plain / ll_peft:.2f}x | {ll_plain / ll_hflm:.2f}x | (for reference) |
| greedy generation, 10 new tokens, items/s | {gen_ours:.2f} | {gen_peft:.2f} | | **{gen_ours / gen_peft:.2f}x** | | >= 1.0x: {met(gen_ours / gen_peft, 1)} |

Same numbers: max |log-likelihood ours - PEFT| {d_peft:.1e}, ours - HFLM {d_hflm:.1e} (per request, summed over its tokens); shared
prefixes vs our plain path {ts['sharedVsPlain']:.1e}. Generated text identical to PEFT's for {same_out} of {ng} prompts.

{K} adapters on the same {nm} items ({nm * K} item-adapter pairs), @dnd/lm, shared prefixes on both rows:

| measure | pairs/s | ratio |
|---|---|---|
| {K} adapters in one forward pass per batch (per-row LoRA, `scoreContinuationsMulti`) | {batched:.2f} | **{batched / seq:.2f}x** (target >= 1.5x: {met(batched / seq, 1.5)}) |
| adapter by adapter (`setLoraWeights` + `scoreContinuations`) | {seq:.2f} | 1.00x |

Greedy generation (10 new tokens) of the first {nm} instruction prompts under {GK} of those adapters (the quickstart scores 9 per held-out set):

| measure | generations/s | ratio |
|---|---|---|
| {GK} adapters in one batch per step (per-row LoRA, `generateMulti`) | {gen_batched:.2f} | **{gen_batched / gen_seq:.2f}x** |
| adapter by adapter (`setLoraWeights` + `generate`) | {gen_seq:.2f} | 1.00x |

Batched vs one-at-a-time: {ts['genMultiSame']} of {ts['genMultiTotal']} generated texts identical. Batched vs one-at-a-time log-likelihoods: max |diff| {ts['multiDiff']:.1e}. Peak RSS: ours {ts['maxRssMB']:.0f} MB, PyTorch {py['maxRssMB']:.0f} MB.
Ours computes logits only at continuation positions; the PEFT loop and HFLM compute HF's full-sequence logits, as they do in practice.
"""
write_section("eval", section, doc)
