#!/usr/bin/env python3
"""Times PyTorch on the benchmark setting of scripts/bench.sh (prints 'name ms' lines).

ResNet-18 (10 classes), batch 16, 112x112, 2 threads: eval-mode forward and an
SGD training step (forward, backward, momentum update), median of the runs.
"""
import statistics
import sys
import time

import torch
import torch.nn as nn
import torchvision

torch.set_num_threads(2)
torch.manual_seed(0)
model = torchvision.models.resnet18(num_classes=10)
x = torch.randn(16, 3, 112, 112)
y = torch.arange(16) % 10
opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
loss_fn = nn.CrossEntropyLoss()


def timed(fn, runs):
    fn()
    ts = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        ts.append((time.perf_counter() - t) * 1000)
    return statistics.median(ts)


def forward():
    with torch.no_grad():
        model(x)


def step():
    opt.zero_grad()
    loss_fn(model(x), y).backward()
    opt.step()


model.eval()
print("torch_forward_ms %.1f" % timed(forward, int(sys.argv[1]) if len(sys.argv) > 1 else 10))
model.train()
print("torch_train_step_ms %.1f" % timed(step, int(sys.argv[1]) if len(sys.argv) > 1 else 10))
