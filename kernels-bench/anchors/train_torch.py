#!/usr/bin/env python3
"""Anchor for kernels-bench/train.ts: PyTorch CPU training and inference throughput.

Usage: train_torch.py CONFIG_JSON

CONFIG_JSON is {"threads": n, "minSeconds": s, "minRuns": r, "warmup": w,
"runs": [{"model": "lenet5" | "resnet20" | "mobilenetv2-0.5", "batch": b, "mode": "train" | "infer"}]}.
The networks are the bench's nets of the model zoo (src/nets/: lenet, resnet20, and mobilenet-v2
at width 0.5 on 32x32x3 with 10 classes), layer for layer (the bench checks that the trainable
parameter counts agree), in PyTorch's NCHW layout. A training step is forward, cross-entropy,
backward and a plain SGD update, like the bench's model.trainOnBatch; inference runs the model
in eval mode under torch.inference_mode(). Each run is timed in-process after w untimed steps,
for at least s seconds and r steps; the interpreter start and the imports do not count.

Prints one JSON line {"torch": version, "threads": n, "results": [{model, batch, mode, params,
medianSeconds, bestSeconds, runs}]}. On a missing dependency it prints {"error": ...} and exits
with status 2.
"""
import json
import sys
import time


def make_divisible(channels, divisor=8):
    rounded = max(divisor, int(channels + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * channels else rounded


def build_models(nn):
    def conv_bn(cin, cout, k, stride=1, groups=1):
        return [nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]

    class BasicBlock(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.body = nn.Sequential(*conv_bn(cin, cout, 3, stride), nn.ReLU(), *conv_bn(cout, cout, 3))
            same = stride == 1 and cin == cout
            self.shortcut = nn.Identity() if same else nn.Sequential(*conv_bn(cin, cout, 1, stride))
            self.relu = nn.ReLU()

        def forward(self, x):
            return self.relu(self.body(x) + self.shortcut(x))

    class InvertedResidual(nn.Module):
        def __init__(self, cin, expansion, cout, stride):
            super().__init__()
            hidden = cin * expansion
            layers = [] if expansion == 1 else [*conv_bn(cin, hidden, 1), nn.ReLU6()]
            layers += [*conv_bn(hidden, hidden, 3, stride, groups=hidden), nn.ReLU6(), *conv_bn(hidden, cout, 1)]
            self.body = nn.Sequential(*layers)
            self.residual = stride == 1 and cin == cout

        def forward(self, x):
            return x + self.body(x) if self.residual else self.body(x)

    def lenet5():
        return nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
            nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
        )

    def resnet20():
        layers, cin = [*conv_bn(3, 16, 3), nn.ReLU()], 16
        for cout, stride in ((16, 1), (32, 2), (64, 2)):
            for block in range(3):
                layers.append(BasicBlock(cin, cout, stride if block == 0 else 1))
                cin = cout
        return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))

    def mobilenet_v2(alpha=0.5):
        cin = make_divisible(32 * alpha)
        layers = [*conv_bn(3, cin, 3, 2), nn.ReLU6()]
        stages = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))
        for t, c, n, s in stages:
            for i in range(n):
                cout = make_divisible(c * alpha)
                layers.append(InvertedResidual(cin, t, cout, s if i == 0 else 1))
                cin = cout
        last = make_divisible(1280 * alpha) if alpha > 1 else 1280
        return nn.Sequential(*layers, *conv_bn(cin, last, 1), nn.ReLU6(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(last, 10))

    return {"lenet5": (lenet5, (1, 28, 28)), "resnet20": (resnet20, (3, 32, 32)), "mobilenetv2-0.5": (mobilenet_v2, (3, 32, 32))}


def time_steps(step, warmup, min_seconds, min_runs):
    for _ in range(warmup):
        step()
    seconds = []
    start = time.perf_counter()
    while len(seconds) < min_runs or time.perf_counter() - start < min_seconds:
        t0 = time.perf_counter()
        step()
        seconds.append(time.perf_counter() - t0)
    seconds.sort()
    return seconds


def measure(torch, models, run, config):
    build, shape = models[run["model"]]
    model = build()
    x = torch.randn(run["batch"], *shape)
    y = torch.randint(0, 10, (run["batch"],))
    if run["mode"] == "train":
        model.train()
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
        loss_fn = torch.nn.CrossEntropyLoss()

        def step():
            optimizer.zero_grad(set_to_none=True)
            loss_fn(model(x), y).backward()
            optimizer.step()
    else:
        model.eval()

        def step():
            with torch.inference_mode():
                model(x)
    seconds = time_steps(step, config.get("warmup", 2), config.get("minSeconds", 1.0), config.get("minRuns", 3))
    return {
        **run,
        "params": sum(p.numel() for p in model.parameters()),
        "medianSeconds": seconds[len(seconds) // 2],
        "bestSeconds": seconds[0],
        "runs": len(seconds),
    }


def main():
    try:
        import torch
        from torch import nn
    except ImportError as error:
        print(json.dumps({"error": f"PyTorch is not available: {error}"}))
        return 2
    with open(sys.argv[1], encoding="utf-8") as f:
        config = json.load(f)
    threads = int(config.get("threads", 1))
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    models = build_models(nn)
    results = [measure(torch, models, run, config) for run in config["runs"]]
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "results": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
