# Makes test/fixtures/paired-stats.json: paired differences computed independently of our code, with
# SciPy: the percentile bootstrap of the mean per-item difference (scipy.stats.bootstrap, paired by
# bootstrapping the differences) and McNemar's exact p (scipy.stats.binomtest on the discordant pairs).
# Not our implementation: src/stats.test.ts compares against these numbers.
#
# Rerun (any Python 3.10+):
#   python3 -m venv /tmp/stats-venv && /tmp/stats-venv/bin/pip install numpy==2.4.6 scipy==1.17.1
#   /tmp/stats-venv/bin/python packages/evaluator/test/make-stats-fixtures.py
import json
import os

import numpy as np
from scipy import stats

rng = np.random.default_rng(20261201)


def binary_pair(n, pa, pb, rho):
    """Correlated 0/1 outcomes: with probability rho b copies a, else an independent draw."""
    a = (rng.random(n) < pa).astype(int)
    b = np.where(rng.random(n) < rho, a, (rng.random(n) < pb).astype(int))
    return a, b


cases = []


def add(name, a, b):
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    d = a - b
    res = stats.bootstrap((d,), np.mean, n_resamples=200_000, method='percentile', confidence_level=0.95, random_state=rng)
    case = {'name': name, 'a': a.tolist(), 'b': b.tolist(), 'mean': float(d.mean()),
            'lo': float(res.confidence_interval.low), 'hi': float(res.confidence_interval.high)}
    if set(np.unique(a)) <= {0.0, 1.0} and set(np.unique(b)) <= {0.0, 1.0}:
        nb = int(((a == 1) & (b == 0)).sum())
        nc = int(((a == 0) & (b == 1)).sum())
        case['mcnemar'] = {'b': nb, 'c': nc, 'p': float(stats.binomtest(min(nb, nc), nb + nc, 0.5).pvalue) if nb + nc > 0 else 1.0}
    cases.append(case)


add('binary n=200, a better', *binary_pair(200, 0.62, 0.50, 0.5))
add('binary n=1000, near equal', *binary_pair(1000, 0.55, 0.54, 0.7))
add('binary n=60, b better', *binary_pair(60, 0.35, 0.55, 0.3))
k_means = rng.binomial(5, 0.6, 300) / 5  # a generated side: share of K=5 LoRAs right per item
add('fractions (K=5 mean) n=300 vs binary', k_means, (rng.random(300) < 0.55).astype(int))

mcnemar_only = []
for nb, nc in [(480, 520), (3, 17), (0, 9), (1000, 1100)]:
    mcnemar_only.append({'b': nb, 'c': nc, 'p': float(stats.binomtest(min(nb, nc), nb + nc, 0.5).pvalue)})

out = {'generator': 'test/make-stats-fixtures.py', 'scipy': __import__("scipy").__version__, 'numpy': np.__version__,
       'bootstrapResamples': 200_000, 'cases': cases, 'mcnemar': mcnemar_only}
path = os.path.join(os.path.dirname(__file__), 'fixtures', 'paired-stats.json')
with open(path, 'w') as f:
    json.dump(out, f)
    f.write('\n')
print(f'wrote {path}: {len(cases)} bootstrap cases, {len(mcnemar_only)} McNemar cases')
