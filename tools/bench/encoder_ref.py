"""Reference side of `pnpm bench encoder`: sentence-transformers all-MiniLM-L6-v2 on PyTorch CPU, 2 threads.

Also writes the benchmark prompt list (first run only) so both sides encode the same text: commonsense prompts,
each made at least 128 word pieces long, so that sentence-transformers (which pads to the longest prompt in a
batch) and @dnd/encoder (fixed L) both process exactly batch x 128 tokens.
Usage: python encoder_ref.py MODEL_DIR PROMPTS_JSON OUT_JSON [REPS]
"""
import json
import os
import sys
import time

import torch
from sentence_transformers import SentenceTransformer

model_dir, prompts_file, out_file = sys.argv[1:4]
reps = int(sys.argv[4]) if len(sys.argv) > 4 else 3
torch.set_num_threads(2)
L, BATCH = 128, 64

st = SentenceTransformer(model_dir, device='cpu')
st.max_seq_length = L
if not os.path.exists(prompts_file):
    # The shared folder beside the checkout (or DND_SHARED_DIR), as @dnd/dataset's sharedDir() finds it.
    root = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..'))
    data = os.path.join(os.environ.get('DND_SHARED_DIR') or os.path.join(root, '..', 'shared'), 'data', 'commonsense')
    pool = []
    for name in ('ARC-Easy', 'openbookqa', 'boolq', 'piqa', 'social_i_qa'):
        with open(os.path.join(data, name, 'test.json')) as f:
            pool += [r['instruction'] for r in json.load(f)]
    prompts, i = [], 0
    while len(prompts) < BATCH * 4:
        p = pool[i % len(pool)]
        while len(st.tokenizer(p)['input_ids']) < L + 2:
            i += 1
            p = p + '\n' + pool[i % len(pool)]
        prompts.append(p)
        i += 1
    with open(prompts_file, 'w') as f:
        json.dump(prompts, f)
with open(prompts_file) as f:
    prompts = json.load(f)

lens = {len(x) for x in st.tokenizer(prompts, truncation=True, max_length=L)['input_ids']}
assert lens == {L}, f'every benchmark prompt must fill L={L} tokens, got lengths {sorted(lens)}'
st.encode(prompts[:BATCH], batch_size=BATCH)  # warm-up
times = []
for _ in range(reps):
    t0 = time.perf_counter()
    st.encode(prompts, batch_size=BATCH)
    times.append(time.perf_counter() - t0)
best = min(times)
with open(out_file, 'w') as f:
    json.dump({'impl': 'sentence-transformers', 'torch': torch.__version__, 'threads': torch.get_num_threads(),
               'prompts': len(prompts), 'seconds': times, 'promptsPerSecond': len(prompts) / best}, f)
print(f'sentence-transformers (torch {torch.__version__}, 2 threads): {len(prompts) / best:.1f} prompts/s')
