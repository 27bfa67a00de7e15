#!/usr/bin/env python3
"""precision_emulation: how far one Mult-VAE step's gradient and an evaluation's scores
move when the dense products' inputs are rounded as the CUDA backend rounds them
(docs/cuda.md, "Precisions": tf32 keeps 10 mantissa bits, bf16 7, fp16 10 within
[2^-24, 65504] with the loss scale on the backward pass; products accumulate in fp32),
emulated in numpy against the same step in float64. Its figures set the 16-bit
tolerances of tests/test_gpu_backend.c and tests/test_gpu_ml20m.c, which compare the GPU
with the CPU element by element; this script is not a GPU measurement.

For each shape (the tests': `small` [600 items, hidden 600, latent 200, batch 500],
`odd` [601 items, hidden 301 and 77, latent 37, batch 1111, lambda 0.01] and `ml20m`
[20,108 items, batch 256]) and precision it prints, over several random draws, the
worst over the tensors of test_gpu.h's measures (grad_compare):
    element = max_i |g_i - r_i| / max(|r_i|, 2 rms)   (rms: of r's non-zero elements)
    line    = the largest |g_l - r_l| / max(|r_l|, rms sqrt(len l)) over a weight's rows
              and columns l (a bias: its whole vector), so one wrong column shows
    norm    = |g - r| / |r|   (what the tests compared before: blind to one column)
and, for the scores of perturbed weights (as test_gpu_backend's state), the worst
|s - r| / max|r| of a row. `wrong column` is `line` for the same gradient with one
column of the first decoder layer 30% off: what the tolerances must catch. Data: random 0/1 rows with a popularity skew, the synthetic
presets' kind (their exact draws do not matter to rounding error).

    python3 bench/precision_emulation.py [--draws N] [--shapes small,odd,ml20m]
"""
import argparse
import math
import sys

import numpy as np

def round_mantissa(x, bits):
    """x (float64) rounded to nearest with `bits` explicit mantissa bits, fp32's range."""
    m, e = np.frexp(x)                      # x = m 2^e, 0.5 <= |m| < 1
    scale = 2.0 ** (bits + 1)
    return np.ldexp(np.round(m * scale) / scale, e)


def to_precision(x, p):
    """The value a product reads in precision p (fp32: x as a float)."""
    x = np.asarray(x, dtype=np.float32).astype(np.float64)
    if p == "fp32":
        return x
    if p in ("tf32", "bf16"):
        return round_mantissa(x, 10 if p == "tf32" else 7)
    # fp16: 10 bits, subnormals below 2^-14 on a 2^-24 grid, overflow to inf
    y = round_mantissa(x, 10)
    small = np.abs(x) < 2.0 ** -14
    y[small] = np.round(x[small] / 2.0 ** -24) * 2.0 ** -24
    y[np.abs(y) > 65504] = np.inf * np.sign(y[np.abs(y) > 65504])
    return y


def matmul(a, b, p):
    """a @ b with both inputs rounded to p, accumulated in fp32 (float64 when p is None)."""
    if p is None:
        return a @ b
    return (to_precision(a, p).astype(np.float32) @ to_precision(b, p).astype(np.float32)).astype(np.float64)


def xavier(rng, n_in, n_out):
    a = math.sqrt(6.0 / (n_in + n_out))
    return rng.uniform(-a, a, size=(n_in, n_out))


def make_model(rng, items, hidden, latent):
    enc_dims = [items] + hidden + [2 * latent]
    dec_dims = [latent] + hidden[::-1] + [items]
    enc = [(xavier(rng, a, b), rng.normal(0, 0.001, b)) for a, b in zip(enc_dims[:-1], enc_dims[1:])]
    dec = [(xavier(rng, a, b), rng.normal(0, 0.001, b)) for a, b in zip(dec_dims[:-1], dec_dims[1:])]
    return enc, dec


def batch(rng, rows, items, mean_items):
    """0/1 rows, item i drawn with weight (i+1)^-0.8, about mean_items per row."""
    w = (np.arange(items) + 1.0) ** -0.8
    prob = np.minimum(1.0, w / w.sum() * mean_items)
    X = (rng.random((rows, items)) < prob).astype(np.float64)
    X[X.sum(axis=1) == 0, 0] = 1.0
    return X


def step_grad(model, X, keep, eps, beta, lam, p, scale):
    """Gradient of one step in float64 (p None) or with p's rounded products (the
    backward multiplied by scale, then divided by it, as fp16's loss scaling)."""
    enc, dec = model
    B = X.shape[0]
    S = X.sum(axis=1, keepdims=True)
    inp = X / np.sqrt(S) * keep / 0.5
    acts = []
    h = inp @ enc[0][0] + enc[0][1]                  # the sparse layer: fp32 in every precision
    for li in range(1, len(enc) + 1):
        if li < len(enc):
            h = np.tanh(h)
        acts.append(h)
        if li < len(enc):
            h = matmul(h, enc[li][0], p) + enc[li][1]
    mulv = acts[-1]
    L = mulv.shape[1] // 2
    mu, logvar = mulv[:, :L], mulv[:, L:]
    std = np.exp(0.5 * logvar)
    z = mu + eps * std
    dacts = [z]
    h = z
    for li, (W, b) in enumerate(dec):
        h = matmul(h, W, p) + b
        if li < len(dec) - 1:
            h = np.tanh(h)
        dacts.append(h)
    logits = dacts[-1]
    sm = np.exp(logits - logits.max(axis=1, keepdims=True))
    sm /= sm.sum(axis=1, keepdims=True)
    dlogits = (S * sm - X) / B * scale
    grads = {}
    dy = dlogits
    for li in range(len(dec) - 1, -1, -1):
        x = dacts[li]
        grads[f"dec{li}.W"] = matmul(x.T, dy, p) + 2 * lam * dec[li][0] * scale
        grads[f"dec{li}.b"] = dy.sum(axis=0)
        dx = matmul(dy, dec[li][0].T, p)
        if li > 0:
            dx = dx * (1 - x * x)
        dy = dx
    dz = dy
    dmu = dz + beta / B * mu * scale
    dlogvar = dz * eps * 0.5 * std + beta / B * 0.5 * (np.exp(logvar) - 1) * scale
    dy = np.concatenate([dmu, dlogvar], axis=1)
    for li in range(len(enc) - 1, 0, -1):
        x = acts[li - 1]
        grads[f"enc{li}.W"] = matmul(x.T, dy, p) + 2 * lam * enc[li][0] * scale
        grads[f"enc{li}.b"] = dy.sum(axis=0)
        dy = matmul(dy, enc[li][0].T, p) * (1 - x * x)
    grads["enc0.W"] = inp.T @ dy + 2 * lam * enc[0][0] * scale
    grads["enc0.b"] = dy.sum(axis=0)
    return {k: v / scale for k, v in grads.items()}


def scores(model, X, p):
    enc, dec = model
    S = X.sum(axis=1, keepdims=True)
    h = X / np.sqrt(S) @ enc[0][0] + enc[0][1]
    for li in range(1, len(enc)):
        h = matmul(np.tanh(h), enc[li][0], p) + enc[li][1]
    h = h[:, : h.shape[1] // 2]
    for li, (W, b) in enumerate(dec):
        h = matmul(h, W, p) + b
        if li < len(dec) - 1:
            h = np.tanh(h)
    return h


def compare(g, r):
    """(element, line) as the file's comment defines them: relative errors floored at
    the tensor's typical size (elements near zero, where cancellation leaves only the
    rounding, would otherwise dominate)."""
    d = g - r
    nz = r[r != 0]
    rms = float(np.sqrt((nz * nz).mean())) if nz.size else 1e-30
    element = float((np.abs(d) / np.maximum(np.abs(r), 2 * rms)).max())
    if r.ndim == 1:
        return element, float(np.linalg.norm(d) / max(float(np.linalg.norm(r)), rms * math.sqrt(r.size)))
    line = 0.0
    for axis in (0, 1):
        n = r.shape[axis]
        ln, dn = np.sqrt((r * r).sum(axis=axis)), np.sqrt((d * d).sum(axis=axis))
        line = max(line, float((dn / np.maximum(ln, rms * math.sqrt(n))).max()))
    return element, line


SHAPES = {
    "small": dict(items=600, hidden=[600], latent=200, rows=500, lam=0.0, mean=30),
    "odd": dict(items=601, hidden=[301, 77], latent=37, rows=1111, lam=0.01, mean=30),
    "ml20m": dict(items=20108, hidden=[600], latent=200, rows=256, lam=0.0, mean=73),
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--draws", type=int, default=3)
    ap.add_argument("--shapes", default="small,odd,ml20m")
    args = ap.parse_args()
    print(f"{'shape':6} {'precision':9} {'element':>9} {'line':>9} {'norm':>9} {'scores':>9} {'wrong column':>12}"
          f"   (worst of {args.draws} draws)")
    for name in args.shapes.split(","):
        sh = SHAPES[name]
        worst = {p: [0.0, 0.0, 0.0, 0.0, 1.0] for p in ("tf32", "bf16", "fp16")}
        for d in range(args.draws):
            rng = np.random.default_rng(1000 + d)
            model = make_model(rng, sh["items"], sh["hidden"], sh["latent"])
            X = batch(rng, sh["rows"], sh["items"], sh["mean"])
            keep = (rng.random(X.shape) < 0.5).astype(np.float64)
            eps = rng.normal(size=(sh["rows"], sh["latent"]))
            ref = step_grad(model, X, keep, eps, 0.2, sh["lam"], None, 1.0)
            pert = tuple([(W + rng.uniform(-0.05, 0.05, W.shape), b + rng.uniform(-0.05, 0.05, b.shape))
                          for W, b in part] for part in model)
            Xe = batch(rng, min(sh["rows"], 300), sh["items"], sh["mean"])
            sref = scores(pert, Xe, None)
            for p in worst:
                g = step_grad(model, X, keep, eps, 0.2, sh["lam"], p, 65536.0 if p == "fp16" else 1.0)
                w = worst[p]
                for k in ref:
                    e, line = compare(g[k], ref[k])
                    n = float(np.linalg.norm(g[k] - ref[k]) / np.linalg.norm(ref[k]))
                    w[0], w[1], w[2] = max(w[0], e), max(w[1], line), max(w[2], n)
                s = scores(pert, Xe, p)
                rowmax = np.abs(sref).max(axis=1)
                w[3] = max(w[3], float((np.abs(s - sref).max(axis=1) / rowmax).max()))
                bad = g["dec0.W"].copy()
                bad[:, 3] *= 1.3
                w[4] = min(w[4], compare(bad, ref["dec0.W"])[1])
        for p, (e, line, n, s, col) in worst.items():
            print(f"{name:6} {p:9} {e:9.2e} {line:9.2e} {n:9.2e} {s:9.2e} {col:12.2e}")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
