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
trained network (trained.onnx). pgaug's tests use these to check the imported
graph against PyTorch.
"""

import argparse
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
    args = ap.parse_args()

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
        os.makedirs(args.reference, exist_ok=True)
        g = torch.Generator().manual_seed(args.seed + 2)
        x = torch.randn(args.batch, args.in_channels, args.size, args.size, generator=g)
        model.eval()
        with torch.no_grad():
            y = model(x)
        np.save(os.path.join(args.reference, "input.npy"), x.numpy())
        np.save(os.path.join(args.reference, "output.npy"), y.numpy())

        if args.train_steps:
            xt = torch.randn(args.batch, args.in_channels, args.size, args.size, generator=g)
            if args.arch == "ternausnet11":
                yt = (torch.rand(args.batch, 1, args.size, args.size, generator=g) > 0.5).float()
                loss_fn = nn.BCELoss()
            else:
                yt = torch.randint(0, args.num_classes, (args.batch,), generator=g)
                loss_fn = nn.CrossEntropyLoss()
            opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum)
            model.train()
            losses = []
            for _ in range(args.train_steps):
                opt.zero_grad()
                loss = loss_fn(model(xt), yt)
                loss.backward()
                opt.step()
                losses.append(loss.item())
            np.save(os.path.join(args.reference, "train_input.npy"), xt.numpy())
            np.save(os.path.join(args.reference, "train_labels.npy"), yt.numpy().astype(np.float32 if args.arch == "ternausnet11" else np.int64))
            with open(os.path.join(args.reference, "train_losses.json"), "w") as f:
                json.dump(losses, f)
            export(model, os.path.join(args.reference, "trained.onnx"), args.in_channels, args.size, args.opset)
    return 0


if __name__ == "__main__":
    sys.exit(main())
