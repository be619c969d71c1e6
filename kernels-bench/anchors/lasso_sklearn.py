#!/usr/bin/env python3
"""Anchor for kernels-bench/lasso.ts: scikit-learn's Lasso on the bench's own design.

Usage: lasso_sklearn.py DATA_FILE

DATA_FILE holds a little-endian u32 header length, a UTF-8 JSON header
{"samples": n, "features": p, "alpha": a, "tol": t, "maxIter": k, "repeats": r},
then X (n*p float32, row-major) and y (n float32). The design is fitted in float64, sklearn's
usual precision, with Lasso(alpha, fit_intercept=False); fit() is timed in-process after one
untimed warm-up fit, so neither the interpreter start nor the imports count.

Prints one JSON line: best and median fit seconds, the support (indices of non-zero
coefficients), iterations and duality gap, plus the same for precompute=True (CD on the Gram
matrix, the method the bench's kernels use). On a missing dependency it prints
{"error": ...} and exits with status 2.
"""
import json
import struct
import sys
import time


def timed_fits(make_model, x, y, repeats):
    make_model().fit(x, y)  # warm-up
    seconds = []
    model = None
    for _ in range(repeats):
        model = make_model()
        start = time.perf_counter()
        model.fit(x, y)
        seconds.append(time.perf_counter() - start)
    seconds.sort()
    support = [int(j) for j in (model.coef_ != 0).nonzero()[0]]
    return {
        "bestSeconds": seconds[0],
        "medianSeconds": seconds[len(seconds) // 2],
        "support": support,
        "iterations": int(model.n_iter_),
        "dualGap": float(model.dual_gap_),
    }


def main():
    try:
        import numpy as np
        import sklearn
        from sklearn.linear_model import Lasso
    except ImportError as error:
        print(json.dumps({"error": f"scikit-learn is not available: {error}"}))
        return 2
    with open(sys.argv[1], "rb") as f:
        raw = f.read()
    (header_length,) = struct.unpack_from("<I", raw, 0)
    header = json.loads(raw[4 : 4 + header_length].decode("utf-8"))
    n, p = header["samples"], header["features"]
    offset = 4 + header_length
    x = np.frombuffer(raw, dtype="<f4", count=n * p, offset=offset).reshape(n, p).astype(np.float64)
    y = np.frombuffer(raw, dtype="<f4", count=n, offset=offset + 4 * n * p).astype(np.float64)
    repeats = int(header.get("repeats", 3))

    def lasso(precompute):
        return lambda: Lasso(
            alpha=header["alpha"],
            fit_intercept=False,
            precompute=precompute,
            tol=header.get("tol", 1e-4),
            max_iter=header.get("maxIter", 1000),
        )

    result = timed_fits(lasso(False), x, y, repeats)
    result["precompute"] = timed_fits(lasso(True), x, y, repeats)
    result["sklearn"] = sklearn.__version__
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
