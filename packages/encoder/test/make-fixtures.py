"""Parity fixtures for @dnd/encoder, dumped with transformers / sentence-transformers (PyTorch CPU).

Writes, under packages/encoder/test/fixtures/:
  tiny-bert/                 a tiny random BERT as an HF directory (config.json, model.safetensors, tokenizer.json,
                             vocab.txt, ...); other packages' tests may load it (see tinyBertFixtureDir()).
  tiny-bert-expected.safetensors + tiny-bert-prompts.json
                             input ids, masks, last_hidden_state at L=16 and at L=48 split into 16-token chunks
                             (method section 3, scaled down), and sentence-transformers pooled embeddings.
  vectors-tiny.txt / vectors-tiny.json
                             12 random 6-d word vectors in GloVe text and wink JSON format (same values), for the
                             word-vector encoder's tests.
  minilm-expected.safetensors + minilm-prompts.json   (only when the real weights are present)
                             all-MiniLM-L6-v2 on 20 prompts: ids + last_hidden_state at L=32, pooled embeddings.
                             The weights themselves are never stored here.

Rerun:  $(bash infra/pyref.sh) packages/encoder/test/make-fixtures.py    (from the repo root; after
        bash infra/assets-minilm.sh for the MiniLM part). Deterministic (fixed seeds).
"""
import json
import os
import shutil
import sys

import torch
from safetensors.torch import save_file
from sentence_transformers import SentenceTransformer, models
from transformers import BertConfig, BertModel, BertTokenizerFast

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, 'fixtures')
REPO = os.path.abspath(os.path.join(HERE, '..', '..', '..'))
CACHE = os.environ.get('DND_CACHE', os.path.expanduser('~/.cache/dnd'))
MINILM = os.path.join(CACHE, 'models', 'all-MiniLM-L6-v2')

# Same list as charVocab() in src/wordpiece.ts.
SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']
CHARS = list('abcdefghijklmnopqrstuvwxyz0123456789') + list('.,!?\'-:;()"')
VOCAB = SPECIALS + CHARS + ['##' + c for c in CHARS if c.isalnum()]


def chunked_hidden(model, ids, mask, chunk):
    """Method section 3: [N, L] -> [N*M, chunk] -> BERT -> [N, L, C] (positions restart per chunk).

    The model runs with attn_implementation='eager' (BERT's additive finfo.min mask, as transformers 4.49 of the
    official code computes it): an all-padding chunk then attends uniformly. transformers 5's SDPA path returns
    zero attention for such fully-masked rows instead; real tokens are identical either way."""
    n, length = ids.shape
    with torch.no_grad():
        h = model(input_ids=ids.view(-1, chunk), attention_mask=mask.view(-1, chunk)).last_hidden_state
    return h.reshape(n, length, -1)


def st_pooled(model_dir, prompts, max_seq):
    tr = models.Transformer(model_dir, max_seq_length=max_seq)
    st = SentenceTransformer(modules=[tr, models.Pooling(tr.get_word_embedding_dimension(), 'mean'), models.Normalize()], device='cpu')
    return torch.from_numpy(st.encode(prompts, batch_size=32, convert_to_numpy=True))


def tiny():
    torch.manual_seed(0)
    d = os.path.join(OUT, 'tiny-bert')
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    cfg = BertConfig(vocab_size=len(VOCAB), hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                     intermediate_size=64, max_position_embeddings=64, type_vocab_size=2,
                     hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    model = BertModel(cfg, add_pooling_layer=False).eval()
    with torch.no_grad():  # default init has LayerNorm = (1, 0) and zero biases: perturb so parity tests see them
        for name, p in model.named_parameters():
            if name.endswith('LayerNorm.weight'):
                p.add_(0.1 * torch.randn_like(p))
            elif name.endswith('.bias'):
                p.copy_(0.1 * torch.randn_like(p))
    model.save_pretrained(d, safe_serialization=True)
    with open(os.path.join(d, 'vocab.txt'), 'w') as f:
        f.write('\n'.join(VOCAB) + '\n')
    tok = BertTokenizerFast(vocab={t: i for i, t in enumerate(VOCAB)}, do_lower_case=True)  # transformers 5: `vocab`
    assert tok('ab')['input_ids'] == [2, 5, VOCAB.index('##b'), 3], 'tokenizer did not take the vocabulary'
    tok.save_pretrained(d)
    model = BertModel.from_pretrained(d, attn_implementation='eager').eval()

    prompts = [
        'Hello, world!',
        'Which of these is a mammal? A: shark B: dolphin',
        'Naïve café owners sell 3 crêpes; (cheap) "deals" - really?',
        'x',
        '',
        'a very long prompt that certainly goes past sixteen word pieces, so it must be truncated at L',
        'Émile Zola wrote 20 novels: ÀÉÎÕÜ ß ø 東京 emoji 🙂 end',
        'the quick brown fox jumps over the lazy dog ' * 6,
    ]
    tensors = {}
    for tag, length, chunk in (('l16', 16, 16), ('l48c16', 48, 16)):
        enc = tok(prompts, padding='max_length', truncation=True, max_length=length, return_tensors='pt')
        ids, mask = enc['input_ids'], enc['attention_mask']
        tensors[f'{tag}.input_ids'] = ids.to(torch.int32)
        tensors[f'{tag}.attention_mask'] = mask.to(torch.int32)
        tensors[f'{tag}.hidden'] = chunked_hidden(model, ids, mask, chunk).contiguous()
    tensors['pooled'] = st_pooled(d, prompts, 64)
    save_file(tensors, os.path.join(OUT, 'tiny-bert-expected.safetensors'))
    with open(os.path.join(OUT, 'tiny-bert-prompts.json'), 'w') as f:
        json.dump({'prompts': prompts, 'pooledMaxLength': 64}, f, ensure_ascii=False, indent=1)


def minilm():
    if not os.path.isfile(os.path.join(MINILM, 'model.safetensors')):
        print(f'skipping all-MiniLM-L6-v2: {MINILM} missing (run bash infra/assets-minilm.sh)', file=sys.stderr)
        return
    # The shared folder beside the checkout (or DND_SHARED_DIR), as @dnd/dataset's sharedDir() finds it.
    data = os.path.join(os.environ.get('DND_SHARED_DIR') or os.path.join(REPO, '..', 'shared'), 'data', 'commonsense')
    prompts = []
    for name in ('ARC-Easy', 'boolq', 'openbookqa', 'piqa', 'social_i_qa'):
        with open(os.path.join(data, name, 'test.json')) as f:
            prompts += [r['instruction'] for r in json.load(f)[:4]]
    tok = BertTokenizerFast.from_pretrained(MINILM)
    model = BertModel.from_pretrained(MINILM, add_pooling_layer=False, attn_implementation='eager').eval()
    length = 32
    enc = tok(prompts, padding='max_length', truncation=True, max_length=length, return_tensors='pt')
    ids, mask = enc['input_ids'], enc['attention_mask']
    tensors = {
        'l32.input_ids': ids.to(torch.int32),
        'l32.attention_mask': mask.to(torch.int32),
        'l32.hidden': chunked_hidden(model, ids, mask, length).contiguous(),
        'pooled': st_pooled(MINILM, prompts, 256),  # the sentence-transformers model's own max_seq_length
    }
    save_file(tensors, os.path.join(OUT, 'minilm-expected.safetensors'))
    with open(os.path.join(OUT, 'minilm-prompts.json'), 'w') as f:
        json.dump({'prompts': prompts, 'pooledMaxLength': 256}, f, ensure_ascii=False, indent=1)


def vectors():
    import random
    rng = random.Random(0)
    words = ['the', 'cat', 'sat', 'on', 'mat', 'dog', "don't", '?', ',', 'which', 'is', 'a']
    vecs = {w: [round(rng.uniform(-1, 1), 4) for _ in range(6)] for w in words}
    with open(os.path.join(OUT, 'vectors-tiny.txt'), 'w') as f:
        f.write(f'{len(words)} 6\n')  # word2vec-style header, which the loader skips
        for w in words:
            f.write(w + ' ' + ' '.join(str(x) for x in vecs[w]) + '\n')
    norm = lambda v: round(sum(x * x for x in v) ** 0.5, 4)
    with open(os.path.join(OUT, 'vectors-tiny.json'), 'w') as f:
        json.dump({'precision': 4, 'size': len(words), 'dimensions': 6, 'words': words,
                   'vectors': {w: vecs[w] + [norm(vecs[w])] for w in words}, 'unkVector': [0.5] * 6 + [1.2247]}, f)


if __name__ == '__main__':
    torch.set_num_threads(2)
    os.makedirs(OUT, exist_ok=True)
    vectors()
    tiny()
    minilm()
    for root, _dirs, files in os.walk(OUT):
        for f in files:
            os.chmod(os.path.join(root, f), 0o644)
    print('fixtures written to', OUT)
