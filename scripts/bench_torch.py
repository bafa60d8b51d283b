#!/usr/bin/env python3
"""Times PyTorch on one setting of scripts/bench.sh and prints 'ms_per_step MS'.

  bench_torch.py ARCH MODE BATCH SIZE RUNS [THREADS]

ARCH as scripts/export_pretrained.py builds it (resnet18, densenet121,
ternausnet11, ...; 10 classes, 3 channels, seeded), MODE 'step' (an SGD step
with momentum 0.9: forward, backward, update; binary cross-entropy for
ternausnet11's per-pixel sigmoid, cross-entropy otherwise) or 'forward'
(evaluation mode, no gradients). One untimed warm-up, then the median of RUNS.
"""
import os
import statistics
import sys
import time

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export_pretrained import build  # noqa: E402

arch, mode, batch, size, runs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
torch.set_num_threads(int(sys.argv[6]) if len(sys.argv) > 6 else 2)
torch.manual_seed(0)
model = build(arch, 10, 3)
seg = arch == "ternausnet11"
g = torch.Generator().manual_seed(1)
x = torch.randn(batch, 3, size, size, generator=g)
y = (torch.arange(batch * size * size) % 2).float().reshape(batch, 1, size, size) if seg else torch.arange(batch) % 10
loss_fn = nn.BCELoss() if seg else nn.CrossEntropyLoss()
opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)


def step():
    opt.zero_grad()
    loss_fn(model(x), y).backward()
    opt.step()


def forward():
    with torch.no_grad():
        model(x)


fn = step if mode == "step" else forward
model.train(mode == "step")
fn()
ts = []
for _ in range(runs):
    t = time.perf_counter()
    fn()
    ts.append((time.perf_counter() - t) * 1000)
print("ms_per_step %.3f" % statistics.median(ts))
