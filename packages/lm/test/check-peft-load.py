"""Checks that adapters written by our writePeftAdapter load in PEFT and give the fixture's logits.
Not a test (needs torch). First write /tmp/ours-{llama,qwen2} from TS, e.g. in a scratch jest test:
    for (const k of ['llama', 'qwen2']) writePeftAdapter(`/tmp/ours-${k}`, readPeftAdapter(`test/fixtures/${k}-adapter`));
then run: $(bash infra/pyref.sh) packages/lm/test/check-peft-load.py   (prints the max |logit diff|; 0.0 on 2026-11-28)
"""
import os
import torch, numpy as np
from transformers import AutoModelForCausalLM
from peft import PeftModel
from safetensors.numpy import load_file

FIX = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'fixtures')
d = load_file(FIX + '/parity.safetensors')
for k in ['llama', 'qwen2']:
    m = AutoModelForCausalLM.from_pretrained(os.path.join(FIX, k))
    pm = PeftModel.from_pretrained(m, f'/tmp/ours-{k}').eval()
    with torch.no_grad():
        lg = pm(input_ids=torch.tensor(d['ids']), attention_mask=torch.tensor(d['mask'])).logits.numpy()
    msk = d['mask'].astype(bool)
    print(k, np.abs(lg - d[f'{k}.logits.lora'])[msk].max())
