#!/usr/bin/env python3
"""Anchor for kernels-bench/search-optimizers.ts: Optuna's TPESampler on the bench's functions.

Usage: search_optuna.py '{"functions": ["branin", "hartmann6", "levy20"], "trials": 50,
                          "seeds": 20, "multivariate": false}'

The test functions are written here again from their definitions (Surjanovic & Bingham), with
the same bounds as src/search/test-functions.ts. Each seed runs a study of `trials` trials with
TPESampler(seed=seed, multivariate=...) and otherwise Optuna's defaults (10 startup trials, 24
EI candidates), minimising f through ask/tell. The time per trial counts ask, the suggest calls
(where an independent sampler does its work) and tell, not the function itself.

Prints one JSON line: {"optuna": version, "results": {function: {"best": [per seed],
"msPerTrial": mean}}}. Without Optuna it prints {"error": ...} and exits with status 2.
"""
import json
import math
import sys
import time
import warnings

try:
    import optuna
except ImportError as error:  # the bench reports the skip
    print(json.dumps({"error": f"optuna is not installed ({error})"}))
    sys.exit(2)


def branin(x):
    b = 5.1 / (4 * math.pi ** 2)
    c = 5 / math.pi
    t = 1 / (8 * math.pi)
    return (x[1] - b * x[0] ** 2 + c * x[0] - 6) ** 2 + 10 * (1 - t) * math.cos(x[0]) + 10


ALPHA = [1.0, 1.2, 3.0, 3.2]
A = [[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14], [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]]
P = [[1312, 1696, 5569, 124, 8283, 5886], [2329, 4135, 8307, 3736, 1004, 9991],
     [2348, 1451, 3522, 2883, 3047, 6650], [4047, 8828, 8732, 5743, 1091, 381]]


def hartmann6(x):
    return -sum(ALPHA[i] * math.exp(-sum(A[i][j] * (x[j] - P[i][j] * 1e-4) ** 2 for j in range(6))) for i in range(4))


def levy(x):
    w = [1 + (v - 1) / 4 for v in x]
    f = math.sin(math.pi * w[0]) ** 2
    for i in range(len(w) - 1):
        f += (w[i] - 1) ** 2 * (1 + 10 * math.sin(math.pi * w[i] + 1) ** 2)
    return f + (w[-1] - 1) ** 2 * (1 + math.sin(2 * math.pi * w[-1]) ** 2)


FUNCTIONS = {
    "branin": (branin, [(-5, 10), (0, 15)]),
    "hartmann6": (hartmann6, [(0, 1)] * 6),
    "levy20": (levy, [(-10, 10)] * 20),
}


def run_study(name, trials, seed, multivariate):
    f, bounds = FUNCTIONS[name]
    sampler = optuna.samplers.TPESampler(seed=seed, multivariate=multivariate)
    study = optuna.create_study(sampler=sampler, direction="minimize")
    best = math.inf
    seconds = 0.0
    for _ in range(trials):
        start = time.perf_counter()
        trial = study.ask()
        x = [trial.suggest_float(f"x{i + 1}", low, high) for i, (low, high) in enumerate(bounds)]
        seconds += time.perf_counter() - start
        value = f(x)
        best = min(best, value)
        start = time.perf_counter()
        study.tell(trial, value)
        seconds += time.perf_counter() - start
    return best, seconds


def main():
    config = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.simplefilter("ignore")  # multivariate=True is "experimental" in Optuna 3
    trials = config.get("trials", 50)
    results = {}
    for name in config.get("functions", list(FUNCTIONS)):
        bests, total = [], 0.0
        for seed in range(config.get("seeds", 20)):
            best, seconds = run_study(name, trials, seed, config.get("multivariate", False))
            bests.append(best)
            total += seconds
        results[name] = {"best": bests, "msPerTrial": 1000 * total / (trials * len(bests))}
    print(json.dumps({"optuna": optuna.__version__, "results": results}))


if __name__ == "__main__":
    main()
