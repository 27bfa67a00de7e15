#!/usr/bin/env python3
"""multvae_numpy: Mult-VAE evaluation and recommendation in numpy, from the paper.

An independent re-implementation (written from Liang et al., "Variational
Autoencoders for Collaborative Filtering", WWW 2018, not from vaesearch's C code),
so that a trained model and a dataset file can be checked from Python:

* a user's input x is their 0/1 item row, L2-normalised;
* the encoder applies its layers with tanh between all but the last; the first
  latent_dim outputs are the posterior mean mu (the rest, the log-variance, are not
  needed at prediction time: the paper predicts from mu, without sampling);
* the decoder maps mu through its layers, tanh between all but the last, to logits;
  the softmax is monotone, so logits rank the items as the probabilities do;
* held-out users are ranked over all items except their fold-in items; with T their
  target items and the top 100 ranked best first (ties to the lower item index),
    NDCG@100  = sum_{r<100} [top_r in T] / log2(r+2)  /  sum_{r<min(|T|,100)} 1/log2(r+2)
    Recall@k  = |top_k ∩ T| / min(k, |T|)
  averaged over the users with at least one target.

Usage:  python3 scripts/multvae_numpy.py DATASET MODEL [--split test|validation]
prints {"ndcg@100": ..., "recall@20": ..., "recall@50": ..., "users": N}.
"""

import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vaesearch_io  # noqa: E402

TOPK = 100
CHUNK_ROWS = 1000   # users scored at once: bounds memory to CHUNK_ROWS x n_items doubles


def _mlp(x, layers):
    """Dense layers y = x W + b, tanh between all but the last; float64 throughout."""
    for i, (W, b) in enumerate(layers):
        x = x @ W.astype(np.float64) + b.astype(np.float64)
        if i < len(layers) - 1:
            x = np.tanh(x)
    return x


def scores(model, X):
    """Logits of every item for the users whose 0/1 rows are X (users x n_items)."""
    X = np.asarray(X, dtype=np.float64)
    norms = np.sqrt((X * X).sum(axis=1, keepdims=True))
    X = X / np.where(norms > 0, norms, 1.0)        # a user with no items stays all-zero
    mu = _mlp(X, model["encoder"])[:, :model["latent_dim"]]
    return _mlp(mu, model["decoder"])


def _rank(logits, k):
    """Per row, the column indices of the k highest scores, best first, ties to the
    lower index (a stable sort of the negated scores); -inf entries (excluded items)
    and the places beyond the last item are -1."""
    order = np.argsort(-logits, axis=1, kind="stable")[:, :k]
    order[~np.isfinite(np.take_along_axis(logits, order, axis=1))] = -1
    if order.shape[1] < k:                          # fewer than k items in all
        order = np.pad(order, ((0, 0), (0, k - order.shape[1])), constant_values=-1)
    return order


def recommend(model, item_indices, k=10):
    """The top-k item indices for a new user who has the items in item_indices
    (which are not recommended again), best first."""
    x = np.zeros((1, model["n_items"]))
    x[0, np.asarray(item_indices, dtype=np.int64)] = 1
    s = scores(model, x)
    s[x > 0] = -np.inf
    top = _rank(s, k)[0]
    return top[top >= 0]


def _user_metrics(ranked, targets):
    """NDCG@100, Recall@20, Recall@50 for one user: ranked[TOPK] (-1 = none), targets set."""
    hits = np.array([r >= 0 and int(r) in targets for r in ranked], dtype=np.float64)
    discounts = 1.0 / np.log2(np.arange(2, TOPK + 2))
    idcg = discounts[:min(len(targets), TOPK)].sum()
    return (float((hits * discounts).sum() / idcg),
            float(hits[:20].sum() / min(20, len(targets))),
            float(hits[:50].sum() / min(50, len(targets))))


def evaluate(dataset, model, split="test"):
    """Mean NDCG@100, Recall@20, Recall@50 over a split's users with targets."""
    prefix = {"test": "test", "validation": "val"}[split]
    (in_ptr, in_idx), (out_ptr, out_idx) = dataset[prefix + "_in"], dataset[prefix + "_out"]
    n_items, n_users = dataset["n_items"], len(in_ptr) - 1
    if model["n_items"] != n_items:
        raise ValueError(f"the model takes {model['n_items']} items, the dataset has {n_items}")
    sums, users = np.zeros(3), 0
    for start in range(0, n_users, CHUNK_ROWS):
        rows = range(start, min(start + CHUNK_ROWS, n_users))
        X = vaesearch_io.csr_to_dense((in_ptr, in_idx), n_items, rows, np.float64)
        s = scores(model, X)
        s[X > 0] = -np.inf                          # fold-in items are not recommended
        ranked = _rank(s, TOPK)
        for i, u in enumerate(rows):
            targets = set(out_idx[out_ptr[u]:out_ptr[u + 1]].tolist())
            if not targets:
                continue
            sums += _user_metrics(ranked[i], targets)
            users += 1
    means = sums / users if users else np.full(3, np.nan)
    return {"ndcg@100": means[0], "recall@20": means[1], "recall@50": means[2], "users": users}


def main(argv=None):
    ap = argparse.ArgumentParser(description="Evaluate a vaecf-train model with numpy.")
    ap.add_argument("dataset", help="a .vsds dataset file")
    ap.add_argument("model", help="a vaecf-train model (best.safetensors)")
    ap.add_argument("--split", choices=["test", "validation"], default="test")
    args = ap.parse_args(argv)
    try:
        dataset = vaesearch_io.load_dataset(args.dataset)
        model = vaesearch_io.load_model(args.model)
        result = evaluate(dataset, model, args.split)
    except (OSError, ValueError) as e:
        print(f"multvae_numpy: {e}", file=sys.stderr)
        return 2
    print(json.dumps({k: (float(v) if k != "users" else int(v)) for k, v in result.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
