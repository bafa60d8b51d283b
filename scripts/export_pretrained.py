#!/usr/bin/env python3
"""Export a torchvision (or TernausNet / ResNet-10t) network to ONNX that pgaug imports.

For users who hold PyTorch weights: pgaug itself never needs Python. Examples:

    # a torchvision DenseNet-169 checkpoint, as a 2-class, 1-channel classifier
    python3 scripts/export_pretrained.py densenet169 --weights densenet169.pth \
        --num-classes 2 --in-channels 1 -o densenet169.onnx

    # no weights at hand: seeded He initialisation, as torchvision initialises
    python3 scripts/export_pretrained.py resnet18 --seed 0 -o resnet18.onnx

The export keeps BatchNormalization separate from the convolutions and keeps
the state_dict names (conv1.weight, layer1.0.bn1.running_mean, ...), so that
pgaug can train the graph and load other weights by name. The batch dimension
is dynamic.

--reference DIR also writes a seeded input batch and the network's eval-mode
output (input.npy, output.npy); --train-steps K additionally runs K SGD steps
in training mode on a seeded batch and writes the per-step losses
(train_losses.json), the batch (train_input.npy, train_labels.npy) and the
trained network (trained.onnx, and trained/NAME.npy per state_dict tensor).
pgaug's tests use these to check the imported graph against PyTorch.

--precision float64 computes these references in float64 (model.double(),
the float32 input batch widened exactly): output.npy, trained/NAME.npy and
the losses are then float64, and trained.onnx holds the trained weights
rounded to float32. A float32 reference carries the rounding of whatever
float32 kernels PyTorch picked on this CPU (oneDNN, OpenBLAS, vectorised
ATen: they differ between AVX2, AVX-512 and AMD machines); the float64 one is
the same exact value, to ~1e-16, everywhere. --float32-probe-pairs N then
also measures how far a float32 computation of the same references has to
be expected to deviate (float32_deviation.json, see Float32Probe).
"""

import argparse
import copy
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torchvision

ARCHS = ["resnet18", "resnet50", "resnet10t", "densenet121", "densenet169", "vgg11", "ternausnet11"]


class ConvRelu(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=1)
        self.activation = nn.ReLU(inplace=True)

    def forward(self, x):
        return self.activation(self.conv(x))


class DecoderBlock(nn.Module):
    def __init__(self, cin, cmid, cout):
        super().__init__()
        self.block = nn.Sequential(
            ConvRelu(cin, cmid),
            nn.ConvTranspose2d(cmid, cout, kernel_size=3, stride=2, padding=1, output_padding=1),
            nn.ReLU(inplace=True),
        )

    def forward(self, x):
        return self.block(x)


class TernausNet11(nn.Module):
    """U-Net with a VGG11 encoder (Iglovikov & Shvets 2018), names as in ternaus/TernausNet.

    The output is one channel at input resolution through a sigmoid: the
    per-pixel probability a segmentation policy needs. The input side must be
    a multiple of 32.
    """

    def __init__(self, num_filters=32, in_channels=3):
        super().__init__()
        self.pool = nn.MaxPool2d(2, 2)
        self.encoder = torchvision.models.vgg11().features
        if in_channels != 3:
            self.encoder[0] = nn.Conv2d(in_channels, 64, 3, padding=1)
        self.relu = self.encoder[1]
        self.conv1 = self.encoder[0]
        self.conv2 = self.encoder[3]
        self.conv3s = self.encoder[6]
        self.conv3 = self.encoder[8]
        self.conv4s = self.encoder[11]
        self.conv4 = self.encoder[13]
        self.conv5s = self.encoder[16]
        self.conv5 = self.encoder[18]
        f = num_filters
        self.center = DecoderBlock(f * 8 * 2, f * 8 * 2, f * 8)
        self.dec5 = DecoderBlock(f * (16 + 8), f * 8 * 2, f * 8)
        self.dec4 = DecoderBlock(f * (16 + 8), f * 8 * 2, f * 4)
        self.dec3 = DecoderBlock(f * (8 + 4), f * 4 * 2, f * 2)
        self.dec2 = DecoderBlock(f * (4 + 2), f * 2 * 2, f)
        self.dec1 = ConvRelu(f * (2 + 1), f)
        self.final = nn.Conv2d(f, 1, kernel_size=1)

    def forward(self, x):
        conv1 = self.relu(self.conv1(x))
        conv2 = self.relu(self.conv2(self.pool(conv1)))
        conv3s = self.relu(self.conv3s(self.pool(conv2)))
        conv3 = self.relu(self.conv3(conv3s))
        conv4s = self.relu(self.conv4s(self.pool(conv3)))
        conv4 = self.relu(self.conv4(conv4s))
        conv5s = self.relu(self.conv5s(self.pool(conv4)))
        conv5 = self.relu(self.conv5(conv5s))
        center = self.center(self.pool(conv5))
        dec5 = self.dec5(torch.cat([center, conv5], 1))
        dec4 = self.dec4(torch.cat([dec5, conv4], 1))
        dec3 = self.dec3(torch.cat([dec4, conv3], 1))
        dec2 = self.dec2(torch.cat([dec3, conv2], 1))
        dec1 = self.dec1(torch.cat([dec2, conv1], 1))
        return torch.sigmoid(self.final(dec1))


def resnet10t(num_classes):
    """timm's resnet10t: BasicBlock ×[1,1,1,1], tiered 3-conv stem (24, 32, 64), average-pool downsampling."""
    from torchvision.models.resnet import BasicBlock, ResNet

    model = ResNet(BasicBlock, [1, 1, 1, 1], num_classes=num_classes)
    model.conv1 = nn.Sequential(
        nn.Conv2d(3, 24, 3, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(24),
        nn.ReLU(inplace=True),
        nn.Conv2d(24, 32, 3, stride=1, padding=1, bias=False),
        nn.BatchNorm2d(32),
        nn.ReLU(inplace=True),
        nn.Conv2d(32, 64, 3, stride=1, padding=1, bias=False),
    )
    for layer in [model.layer2, model.layer3, model.layer4]:
        ds = layer[0].downsample
        conv, bn = ds[0], ds[1]
        layer[0].downsample = nn.Sequential(
            nn.AvgPool2d(2, 2, ceil_mode=True, count_include_pad=False),
            nn.Conv2d(conv.in_channels, conv.out_channels, 1, stride=1, bias=False),
            bn,
        )
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
    return model


def build(arch, num_classes, in_channels):
    if arch == "ternausnet11":
        return TernausNet11(in_channels=in_channels)
    if arch == "resnet10t":
        model = resnet10t(num_classes)
    else:
        model = getattr(torchvision.models, arch)(num_classes=num_classes)
    if in_channels != 3:
        adapt_first_conv(model, in_channels)
    return model


def first_conv(model):
    for name, m in model.named_modules():
        if isinstance(m, nn.Conv2d):
            return name, m
    raise ValueError("no convolution")


def adapt_first_conv(model, in_channels):
    """Replace the first convolution for in_channels inputs; RGB filters are averaged (grayscale)."""
    name, conv = first_conv(model)
    new = nn.Conv2d(in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding,
                    conv.dilation, conv.groups, conv.bias is not None)
    with torch.no_grad():
        mean = conv.weight.mean(dim=1, keepdim=True)
        new.weight.copy_(mean.repeat(1, in_channels, 1, 1) * (3.0 / in_channels))
        if conv.bias is not None:
            new.bias.copy_(conv.bias)
    parent = model
    parts = name.split(".")
    for p in parts[:-1]:
        parent = getattr(parent, p) if not p.isdigit() else parent[int(p)]
    if parts[-1].isdigit():
        parent[int(parts[-1])] = new
    else:
        setattr(parent, parts[-1], new)


def export(model, path, in_channels, size, opset):
    model.eval()
    dummy = torch.zeros(1, in_channels, size, size)
    output = "probability" if isinstance(model, TernausNet11) else "logits"
    tmp = path + ".tmp"
    torch.onnx.export(
        model, dummy, tmp,
        input_names=["input"], output_names=[output],
        dynamic_axes={"input": {0: "batch"}, output: {0: "batch"}},
        opset_version=opset,
        do_constant_folding=False,  # keeps BatchNormalization apart from Conv, and state_dict names
        training=torch.onnx.TrainingMode.PRESERVE,  # EVAL would fuse BatchNorm into Conv
        export_params=True,
    )
    os.replace(tmp, path)


U32 = 2.0 ** -24  # float32's unit roundoff
PROBE_AMPLITUDE = 8  # the probes' relative perturbation, in units of U32


class Float32Probe:
    """Monte Carlo arithmetic at float32 precision on a float64 model.

    Every value a float32 implementation stores is multiplied by
    1 + sign·A·u·ξ, with ξ independent and uniform in [-1, 1] and u = 2^-24
    (float32's unit roundoff): each leaf module's output and the gradient
    flowing back into it, the loss and the parameters' gradients with
    A = PROBE_AMPLITUDE, and after each optimiser step the parameters,
    BatchNorm statistics and momentum buffers with A = 1. Rounding a stored
    value to float32 is an error of at most u; the A = 8 of the computed
    values stands for the rounding of the partial sums inside the op as well
    (a K-term sum accumulates errors of order √K·u; measured against
    float64, float32 results of PyTorch and pgaug come out 4-6 times as far
    as perturbations of 1 u at the module boundaries alone). The spread of
    such runs around the unperturbed float64 result is the deviation a
    float32 computation has to expect, whatever its kernels; tests scale
    their tolerances by it.

    Runs come in pairs with the same ξ and opposite signs: a ReLU input or
    a max-pool near-tie that float32's error could push across the threshold
    is pushed across in one of the two (such flips change gradients by far
    more than rounding, and a test has to allow for them).
    """

    def __init__(self, modules, params, seed, sign):
        self.g = torch.Generator().manual_seed(seed)
        self.scale = sign * PROBE_AMPLITUDE * U32
        self.handles = [m.register_forward_hook(self._forward) for m in modules]
        self.handles += [p.register_hook(self.perturb) for p in params]

    def perturb(self, t):
        xi = torch.rand(t.shape, generator=self.g, dtype=t.dtype) * 2 - 1
        return t * (1 + self.scale * xi)

    def _forward(self, _module, _inputs, out):
        if not torch.is_tensor(out) or not out.is_floating_point():
            return out
        out = self.perturb(out)
        if out.requires_grad:
            out.register_hook(self.perturb)
        return out

    def after_step(self, model, opt):
        # Stored state is one rounding from its update: u, not A·u.
        scale = self.scale / PROBE_AMPLITUDE
        with torch.no_grad():
            ts = list(model.parameters()) + [b for b in model.buffers() if b.is_floating_point()]
            ts += [st["momentum_buffer"] for st in opt.state.values() if st.get("momentum_buffer") is not None]
            for t in ts:
                xi = torch.rand(t.shape, generator=self.g, dtype=t.dtype) * 2 - 1
                t.mul_(1 + scale * xi)

    def remove(self):
        for h in self.handles:
            h.remove()


def run_reference(model, x, train, args, dtype, probe=None):
    """Eval-mode output on x, then with train = (xt, yt, loss_fn) the losses of
    args.train_steps SGD steps; model is changed. probe = (seed, sign): under
    a Float32Probe."""
    model.to(dtype)
    if probe is not None:
        leaves = [m for m in model.modules() if not list(m.children())]
        if train:
            leaves.append(train[2])  # the loss
        probe = Float32Probe(leaves, list(model.parameters()), *probe)
    model.eval()
    with torch.no_grad():
        y = model(x.to(dtype))
    losses = []
    if train:
        xt, yt, loss_fn = train
        if yt.is_floating_point():
            yt = yt.to(dtype)
        opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum)
        model.train()
        for _ in range(args.train_steps):
            opt.zero_grad()
            loss = loss_fn(model(xt.to(dtype)), yt)
            loss.backward()
            opt.step()
            if probe is not None:
                probe.after_step(model, opt)
            losses.append(loss.item())
    if probe is not None:
        probe.remove()
    return y, losses


def rel_dev(a, b):
    """max|a − b| / max|b| (max|a − b| when b is 0)."""
    d = (a.double() - b.double()).abs().max().item()
    m = b.double().abs().max().item()
    return d / m if m > 0 else d


def update_dev(a, b, origin):
    """‖a − b‖₂ / ‖b − origin‖₂: how far a training result a is from b,
    relative to what training changed (‖a − b‖₂ when nothing changed)."""
    d = (a.double() - b.double()).norm().item()
    m = (b.double() - origin.double()).norm().item()
    return d / m if m > 0 else d


def write_reference(model, args):
    os.makedirs(args.reference, exist_ok=True)
    initial = copy.deepcopy(model) if args.float32_probe_pairs else None
    # float32 samples either way (the same batch for both precisions),
    # widened exactly for a float64 computation.
    dtype = torch.float64 if args.precision == "float64" else torch.float32
    g = torch.Generator().manual_seed(args.seed + 2)
    x = torch.randn(args.batch, args.in_channels, args.size, args.size, generator=g)
    train = None
    if args.train_steps:
        xt = torch.randn(args.batch, args.in_channels, args.size, args.size, generator=g)
        if args.arch == "ternausnet11":
            yt = (torch.rand(args.batch, 1, args.size, args.size, generator=g) > 0.5).float()
            loss_fn = nn.BCELoss()
        else:
            yt = torch.randint(0, args.num_classes, (args.batch,), generator=g)
            loss_fn = nn.CrossEntropyLoss()
        train = (xt, yt, loss_fn)
    initial_state = {k: v.detach().clone() for k, v in model.state_dict().items() if v.is_floating_point()}
    y, losses = run_reference(model, x, train, args, dtype)
    np.save(os.path.join(args.reference, "input.npy"), x.numpy())
    np.save(os.path.join(args.reference, "output.npy"), y.numpy())
    if train:
        np.save(os.path.join(args.reference, "train_input.npy"), xt.numpy())
        np.save(os.path.join(args.reference, "train_labels.npy"), yt.numpy().astype(np.float32 if args.arch == "ternausnet11" else np.int64))
        with open(os.path.join(args.reference, "train_losses.json"), "w") as f:
            json.dump(losses, f)
        # The trained state at the reference's precision, one NAME.npy per
        # tensor (trained.onnx holds it rounded to float32).
        os.makedirs(os.path.join(args.reference, "trained"), exist_ok=True)
        for k, v in model.state_dict().items():
            if v.is_floating_point():
                np.save(os.path.join(args.reference, "trained", k + ".npy"), v.detach().numpy())

    if args.float32_probe_pairs:
        exact = {k: v.detach().clone() for k, v in model.state_dict().items() if v.is_floating_point()}
        dev = {"unit_roundoff": U32, "amplitude": PROBE_AMPLITUDE, "probes": 2 * args.float32_probe_pairs, "output": 0.0,
               "losses": [0.0] * len(losses), "state": {k: 0.0 for k in exact}}
        for i in range(2 * args.float32_probe_pairs):
            pm = copy.deepcopy(initial)
            py, plosses = run_reference(pm, x, train, args, dtype, probe=(1000 + i // 2, 1 - 2 * (i % 2)))
            dev["output"] = max(dev["output"], rel_dev(py, y))
            for s, (a, b) in enumerate(zip(plosses, losses)):
                dev["losses"][s] = max(dev["losses"][s], abs(a - b) / abs(b) if b else abs(a))
            if train:
                for k, v in pm.state_dict().items():
                    if k in exact:
                        # Relative to the update: what the steps changed.
                        dev["state"][k] = max(dev["state"][k], update_dev(v, exact[k], initial_state[k]))
        if not train:
            del dev["state"]
        with open(os.path.join(args.reference, "float32_deviation.json"), "w") as f:
            json.dump(dev, f, indent=1, sort_keys=True)

    if train:
        model.float()  # float64 weights rounded to float32: what an ONNX float32 model holds
        export(model, os.path.join(args.reference, "trained.onnx"), args.in_channels, args.size, args.opset)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("arch", choices=ARCHS)
    ap.add_argument("-o", "--output", required=True, help="ONNX file to write")
    ap.add_argument("--weights", help="a state_dict (.pth) to load; default: seeded initialisation")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--num-classes", type=int, default=1000)
    ap.add_argument("--in-channels", type=int, default=3)
    ap.add_argument("--size", type=int, default=224, help="input side used for the export trace")
    ap.add_argument("--opset", type=int, default=17)
    ap.add_argument("--reference", help="directory for input.npy/output.npy (eval mode)")
    ap.add_argument("--batch", type=int, default=2, help="reference batch size")
    ap.add_argument("--train-steps", type=int, default=0)
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--momentum", type=float, default=0.9)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--precision", choices=["float32", "float64"], default="float32",
                    help="arithmetic of the --reference computations (the exported model is float32 either way)")
    ap.add_argument("--float32-probe-pairs", type=int, default=0, metavar="N",
                    help="with --precision float64: also run the references 2N times under Monte Carlo "
                         "arithmetic at float32 precision (see Float32Probe) and write each result's largest "
                         "relative deviation from the unperturbed run to float32_deviation.json")
    args = ap.parse_args()
    if args.float32_probe_pairs and args.precision != "float64":
        ap.error("--float32-probe-pairs needs --precision float64")

    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    model = build(args.arch, args.num_classes, 3 if args.weights else args.in_channels)
    if args.weights:
        state = torch.load(args.weights, map_location="cpu")
        if isinstance(state, dict) and "state_dict" in state:
            state = state["state_dict"]
        model.load_state_dict(state)
        if args.in_channels != 3:
            adapt_first_conv(model, args.in_channels)
    if args.arch != "ternausnet11" and args.weights is None:
        # Non-trivial BN statistics and affine parameters, so that eval-mode
    # comparisons test them (and the exporter does not merge equal tensors).
        g = torch.Generator().manual_seed(args.seed + 1)
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(m.num_features, generator=g) * 0.5 + 0.75)
                with torch.no_grad():
                    m.weight.copy_(1 + torch.randn(m.num_features, generator=g) * 0.1)
                    m.bias.copy_(torch.randn(m.num_features, generator=g) * 0.1)
    export(model, args.output, args.in_channels, args.size, args.opset)

    if args.reference:
        write_reference(model, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
