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

With "search": {"keep": k, "maxSteps": s} in the header it runs sklearn's penalty search for
exactly k non-zeros instead, the one a user of sklearn writes: Lasso(warm_start=True) on the
precomputed Gram matrix, alpha from alpha_max down by decades, then bisection on log alpha
(at most s fits). Prints its seconds (Gram included), support, alpha, fits and total
iterations.
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


def penalty_search(x, y, keep, tol, max_iter, max_steps):
    import math
    import warnings
    import numpy as np
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import Lasso

    warnings.simplefilter("ignore", ConvergenceWarning)
    start = time.perf_counter()
    n = x.shape[0]
    gram = x.T @ x
    alpha_max = float(np.abs(x.T @ y).max()) / n
    model = Lasso(alpha=alpha_max, fit_intercept=False, precompute=gram, warm_start=True, tol=tol, max_iter=max_iter)
    hi, lo, found = (alpha_max, 0), None, None
    fits = iterations = 0
    while fits < max_steps and found is None:
        if lo is None:
            if hi[0] <= alpha_max * 1e-12:
                break
            alpha = hi[0] / 10
        elif math.log(hi[0] / lo[0]) > 1e-9:
            alpha = math.sqrt(hi[0] * lo[0])
        else:
            break
        model.alpha = alpha
        model.fit(x, y)
        fits += 1
        iterations += int(model.n_iter_)
        count = int(np.count_nonzero(model.coef_))
        point = (alpha, count, model.coef_.copy())
        if count == keep:
            found = point
        elif count > keep:
            lo = point
        else:
            hi = point
    seconds = time.perf_counter() - start
    final = found or lo or hi
    coef = final[2] if len(final) > 2 else np.zeros(x.shape[1])
    return {
        "seconds": seconds,
        "alpha": final[0],
        "support": [int(j) for j in np.nonzero(coef)[0]],
        "exact": found is not None,
        "fits": fits,
        "iterations": iterations,
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
    if "search" in header:
        search = header["search"]
        result = penalty_search(x, y, search["keep"], header.get("tol", 1e-4), header.get("maxIter", 1000), search.get("maxSteps", 60))
        result["sklearn"] = sklearn.__version__
        print(json.dumps(result))
        return 0

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
