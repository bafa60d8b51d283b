#!/usr/bin/env python3
"""PyTorch Grad-CAM reference for pgaug's trainer/gradcam tests.

Builds a seeded torchvision network exactly as scripts/export_pretrained.py
does (same seed, same randomised BatchNorm statistics), exports it to ONNX,
and computes Grad-CAM in eval mode with hooks, for the top-1 class of each
image of a seeded batch:

    w_k = mean_ij dy/dA_k(i,j);  cam = relu(sum_k w_k A_k)
    map = minmax(interpolate(cam, (H, W), bilinear, align_corners=False))

The network is exported in float32 and the Grad-CAM computed in float64
(model.double() on the float32 batch): the exact values, the same on every
CPU. Writes to OUT: model.onnx, input.npy (N,C,H,W, float32), logits.npy,
top1.npy (int64), raw.npy (N,h,w: the cam before up-sampling), maps.npy
(N,H,W), for ResNets raw_mid.npy (the cam at layer4[0], a value with two
consumers), all float64, and float32_deviation.json: the largest deviations
of 2·--float32-probe-pairs float64 runs under export_pretrained.Float32Probe
(per-image relative for logits and cams, absolute for the maps), the
top-1 logit's relative margin over the runner-up, and whether a probe
changed a top-1 class.

    gradcam_ref.py resnet18 OUT --classes 5 --size 64 --batch 3
"""

import argparse
import json
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
    w = a.grad.mean(dim=(2, 3), keepdim=True)
    return F.relu((w * a.detach()).sum(dim=1))


def grad_cam(arch, model, x, classes, size, probe=None):
    """Logits, top-1, raw cams (and raw_mid for ResNets) and scaled maps of
    the batch x, all in x's dtype; probe = (seed, sign) runs it under an
    export_pretrained.Float32Probe."""
    x = x.clone().requires_grad_(True)  # so that the activations carry gradients
    handle = None
    if probe is not None:
        leaves = [m for m in model.modules() if not list(m.children())]
        handle = ep.Float32Probe(leaves, [], *probe)
    forward_with_activation.mid = None
    logits, a = forward_with_activation(arch, model, x)
    top1 = logits.argmax(dim=1)
    score = (logits * F.one_hot(top1, classes).to(logits.dtype)).sum()
    score.backward()
    if handle is not None:
        handle.remove()
    raw = cam(a)
    mid = forward_with_activation.mid
    raw_mid = cam(mid) if mid is not None else None
    up = F.interpolate(raw[:, None], size=(size, size), mode="bilinear", align_corners=False)[:, 0]
    lo = up.amin(dim=(1, 2), keepdim=True)
    hi = up.amax(dim=(1, 2), keepdim=True)
    rng = hi - lo
    maps = torch.where(rng > 0, (up - lo) / torch.where(rng > 0, rng, torch.ones_like(rng)), torch.zeros_like(up))
    return logits.detach(), top1, raw.detach(), None if raw_mid is None else raw_mid.detach(), maps.detach()


def per_image_dev(a, b):
    """max over images of max|a_i − b_i| / max|b_i|."""
    d = 0.0
    for i in range(b.shape[0]):
        d = max(d, ep.rel_dev(a[i], b[i]))
    return d


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("arch")
    ap.add_argument("out")
    ap.add_argument("--classes", type=int, default=5)
    ap.add_argument("--in-channels", type=int, default=3)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--batch", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--float32-probe-pairs", type=int, default=2,
                    help="pairs of float64 runs under float32 probes (export_pretrained.Float32Probe) "
                         "whose deviations go to float32_deviation.json")
    args = ap.parse_args()
    torch.set_num_threads(2)
    os.makedirs(args.out, exist_ok=True)

    model = build(args.arch, args.classes, args.in_channels, args.seed)
    ep.export(model, os.path.join(args.out, "model.onnx"), args.in_channels, args.size, 17)
    # The reference in float64: the exact Grad-CAM of the float32 network on
    # the float32 batch, the same on every CPU.
    model.double()
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)  # a frozen classifier: gradients wrt the activation only

    g = torch.Generator().manual_seed(args.seed + 2)
    x = torch.randn(args.batch, args.in_channels, args.size, args.size, generator=g)
    logits, top1, raw, raw_mid, maps = grad_cam(args.arch, model, x.double(), args.classes, args.size)

    dev = {"unit_roundoff": ep.U32, "amplitude": ep.PROBE_AMPLITUDE, "probes": 2 * args.float32_probe_pairs,
           "logits": 0.0, "raw": 0.0, "raw_mid": 0.0, "maps": 0.0, "top1_changed": False}
    for i in range(2 * args.float32_probe_pairs):
        pl, pt, pr, pm, pmaps = grad_cam(args.arch, model, x.double(), args.classes, args.size,
                                         probe=(1000 + i // 2, 1 - 2 * (i % 2)))
        dev["logits"] = max(dev["logits"], per_image_dev(pl, logits))
        dev["top1_changed"] = dev["top1_changed"] or bool((pt != top1).any())
        if not dev["top1_changed"]:  # else the cams are of other classes
            dev["raw"] = max(dev["raw"], per_image_dev(pr, raw))
            if raw_mid is not None:
                dev["raw_mid"] = max(dev["raw_mid"], per_image_dev(pm, raw_mid))
            dev["maps"] = max(dev["maps"], (pmaps - maps).abs().max().item())
    # How far the top-1 logit is above the runner-up, relative to the
    # largest logit: a float32 computation may swap classes closer than its
    # deviation.
    top2 = logits.topk(2, dim=1).values
    dev["top1_margin"] = ((top2[:, 0] - top2[:, 1]) / logits.abs().amax(dim=1)).min().item()

    np.save(os.path.join(args.out, "input.npy"), x.numpy())
    np.save(os.path.join(args.out, "logits.npy"), logits.numpy())
    np.save(os.path.join(args.out, "top1.npy"), top1.numpy().astype(np.int64))
    np.save(os.path.join(args.out, "raw.npy"), raw.numpy())
    np.save(os.path.join(args.out, "maps.npy"), maps.numpy())
    if raw_mid is not None:
        np.save(os.path.join(args.out, "raw_mid.npy"), raw_mid.numpy())
    with open(os.path.join(args.out, "float32_deviation.json"), "w") as f:
        json.dump(dev, f, indent=1, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
