#!/usr/bin/env python3
"""PyTorch Grad-CAM reference for pgaug's trainer/gradcam tests.

Builds a seeded torchvision network exactly as scripts/export_pretrained.py
does (same seed, same randomised BatchNorm statistics), exports it to ONNX,
and computes Grad-CAM in eval mode with hooks, for the top-1 class of each
image of a seeded batch:

    w_k = mean_ij dy/dA_k(i,j);  cam = relu(sum_k w_k A_k)
    map = minmax(interpolate(cam, (H, W), bilinear, align_corners=False))

Writes to OUT: model.onnx, input.npy (N,C,H,W), logits.npy, top1.npy (int64),
raw.npy (N,h,w: the cam before up-sampling), maps.npy (N,H,W), and for
ResNets raw_mid.npy (the cam at layer4[0], a value with two consumers).

    gradcam_ref.py resnet18 OUT --classes 5 --size 64 --batch 3
"""

import argparse
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "scripts"))
import export_pretrained as ep  # noqa: E402


def build(arch, classes, in_channels, seed):
    # The same steps as export_pretrained.main without --weights.
    torch.manual_seed(seed)
    model = ep.build(arch, classes, in_channels)
    g = torch.Generator().manual_seed(seed + 1)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) * 0.5 + 0.75)
            with torch.no_grad():
                m.weight.copy_(1 + torch.randn(m.num_features, generator=g) * 0.1)
                m.bias.copy_(torch.randn(m.num_features, generator=g) * 0.1)
    return model


def forward_with_activation(arch, model, x):
    """Returns (logits, A): A is the last 4-D feature map before global pooling."""
    if arch.startswith("densenet"):
        # torchvision's DenseNet applies a functional ReLU after features.
        a = F.relu(model.features(x))
        a.retain_grad()
        out = torch.flatten(F.adaptive_avg_pool2d(a, (1, 1)), 1)
        return model.classifier(out), a
    # ResNets: a forward hook on layer4 (its output is the last ReLU).
    # A second hook on layer4[0], whose output feeds both the next block's
    # convolution and its residual addition (a value with two consumers).
    store = {}

    def hook(key):
        def f(_module, _inp, out):
            out.retain_grad()
            store[key] = out
        return f

    hs = [model.layer4.register_forward_hook(hook("a")), model.layer4[0].register_forward_hook(hook("mid"))]
    try:
        logits = model(x)
    finally:
        for h in hs:
            h.remove()
    forward_with_activation.mid = store["mid"]
    return logits, store["a"]


def cam(a):
    w = a.grad.double().mean(dim=(2, 3), keepdim=True)
    return F.relu((w * a.detach().double()).sum(dim=1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("arch")
    ap.add_argument("out")
    ap.add_argument("--classes", type=int, default=5)
    ap.add_argument("--in-channels", type=int, default=3)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--batch", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(2)
    os.makedirs(args.out, exist_ok=True)

    model = build(args.arch, args.classes, args.in_channels, args.seed)
    ep.export(model, os.path.join(args.out, "model.onnx"), args.in_channels, args.size, 17)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)  # a frozen classifier: gradients wrt the activation only

    g = torch.Generator().manual_seed(args.seed + 2)
    x = torch.randn(args.batch, args.in_channels, args.size, args.size, generator=g)
    x.requires_grad_(True)  # so that the activations carry gradients
    logits, a = forward_with_activation(args.arch, model, x)
    top1 = logits.argmax(dim=1)
    score = (logits * F.one_hot(top1, args.classes).to(logits.dtype)).sum()
    score.backward()
    raw = cam(a)
    mid = getattr(forward_with_activation, "mid", None)
    if mid is not None:
        np.save(os.path.join(args.out, "raw_mid.npy"), cam(mid).numpy().astype(np.float32))
    up = F.interpolate(raw[:, None], size=(args.size, args.size), mode="bilinear", align_corners=False)[:, 0]
    lo = up.amin(dim=(1, 2), keepdim=True)
    hi = up.amax(dim=(1, 2), keepdim=True)
    rng = hi - lo
    maps = torch.where(rng > 0, (up - lo) / torch.where(rng > 0, rng, torch.ones_like(rng)), torch.zeros_like(up))

    np.save(os.path.join(args.out, "input.npy"), x.detach().numpy())
    np.save(os.path.join(args.out, "logits.npy"), logits.detach().numpy())
    np.save(os.path.join(args.out, "top1.npy"), top1.numpy().astype(np.int64))
    np.save(os.path.join(args.out, "raw.npy"), raw.numpy().astype(np.float32))
    np.save(os.path.join(args.out, "maps.npy"), maps.numpy().astype(np.float32))
    return 0


if __name__ == "__main__":
    sys.exit(main())
