"""Reference side of `pnpm bench eval`: SmolLM2-135M-Instruct + adapter 0 (PEFT, unmerged) on PyTorch CPU, 2 threads,
on the inputs eval-ts.ts prepared, same batch sizes:
  transformers + PEFT log-likelihood: lm-eval's request split (trailing context spaces move to the continuation;
    continuation tokens = encode(context + continuation) minus encode(context)), requests sorted longest first,
    right-padded batches, HF's full-sequence logits, log_softmax, sum over the continuation;
  lm-eval HFLM.loglikelihood on the same requests (peft=adapter 0, batch_size=BATCH);
  greedy generation: model.generate(max_new_tokens=10, do_sample=False), left-padded batches of GEN_BATCH.
Usage: python eval_ref.py MODEL_DIR WORK_DIR OUT_JSON BATCH GEN_BATCH
"""
import json
import os
import resource
import sys
import time

import torch
from peft import PeftModel
from transformers import AutoModelForCausalLM, PreTrainedTokenizerFast

from hf_generate import generate_batches

model_dir, work, out_file, batch, gen_batch = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
torch.set_num_threads(2)
inp = json.load(open(os.path.join(work, "inputs.json")))
adapter = inp["adapters"][0]
reqs = [(it["context"], " " + c) for it in inp["ll"] for c in it["choices"]]
tok = PreTrainedTokenizerFast(tokenizer_file=os.path.join(model_dir, "tokenizer.json"))
cfg = json.load(open(os.path.join(model_dir, "config.json")))
pad = cfg.get("pad_token_id") or 0


def encode_pair(context, continuation):  # lm-eval's TemplateLM._encode_pair
    n = len(context) - len(context.rstrip())
    if n > 0:
        continuation = context[-n:] + continuation
        context = context[:-n]
    whole = tok.encode(context + continuation, add_special_tokens=False)
    ctx = tok.encode(context, add_special_tokens=False)
    return ctx, whole[len(ctx):]


base = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
model = PeftModel.from_pretrained(base, adapter).eval()


def peft_loglik(rs):
    enc = [encode_pair(c, x) for c, x in rs]
    order = sorted(range(len(enc)), key=lambda i: -(len(enc[i][0]) + len(enc[i][1])))
    out = [0.0] * len(enc)
    with torch.no_grad():
        for s in range(0, len(order), batch):
            idx = order[s:s + batch]
            seqs = [(enc[i][0] + enc[i][1])[:-1] for i in idx]
            T = max(len(q) for q in seqs)
            ids = torch.full((len(seqs), T), pad, dtype=torch.long)
            mask = torch.zeros((len(seqs), T), dtype=torch.long)
            for b, q in enumerate(seqs):
                ids[b, :len(q)] = torch.tensor(q)
                mask[b, :len(q)] = 1
            logp = torch.log_softmax(model(input_ids=ids, attention_mask=mask).logits, -1)
            for b, i in enumerate(idx):
                cont = enc[i][1]
                n = len(seqs[b])
                lp = logp[b, n - len(cont):n].gather(-1, torch.tensor(cont)[:, None])
                out[i] = float(lp.sum())
    return out


def generate(prompts):
    outs = []
    for row in generate_batches(model, tok, prompts, gen_batch, pad, 10):
        kept = []
        for t in row:
            if t == cfg["eos_token_id"]:
                break
            kept.append(t)
        outs.append(tok.decode(kept))
    return outs


def timed(fn, *a):
    t0 = time.perf_counter()
    r = fn(*a)
    return time.perf_counter() - t0, r


peft_loglik(reqs[:batch])  # warm-up
t_peft, lls = timed(peft_loglik, reqs)
generate(inp["gen"][:gen_batch])  # warm-up
t_gen, outputs = timed(generate, inp["gen"])

del model, base
from lm_eval.api.instance import Instance  # noqa: E402
from lm_eval.models.huggingface import HFLM  # noqa: E402

hflm = HFLM(pretrained=model_dir, peft=adapter, device="cpu", dtype="float32", batch_size=batch)
torch.set_num_threads(2)
insts = [Instance(request_type="loglikelihood", doc={}, arguments=r, idx=i) for i, r in enumerate(reqs)]
hflm.loglikelihood(insts[:batch], disable_tqdm=True)  # warm-up
t_hflm, res = timed(lambda: hflm.loglikelihood(insts, disable_tqdm=True))
json.dump({
    "torch": torch.__version__, "threads": torch.get_num_threads(), "lmEval": __import__("lm_eval").__version__,
    "peftLoglik": t_peft, "hflmLoglik": t_hflm, "gen": t_gen, "lls": lls, "hflmLls": [r[0] for r in res], "outputs": outputs,
    "maxRssMB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}, open(out_file, "w"))
