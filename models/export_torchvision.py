#!/usr/bin/python3
"""Exports torchvision architectures to ONNX with seeded random weights, for
chamcc's end-to-end tests and benchmarks. Nothing is downloaded (weights=None).

    /usr/bin/python3 models/export_torchvision.py [--models a,b] [--out DIR] [--force]

Models: resnet18 resnet50 mobilenet_v2 squeezenet1_1 googlenet tiny_cnn, and
the rest of the zoo of bench/zoo.sh: mobilenet_v3_large inception_v3
resnext50_32x4d regnet_y_400mf efficientnet_b1 shufflenet_v2_x1_0 mnasnet1_0
convnext_tiny vgg16 (default: all). Input 1x3x224x224 (tiny_cnn: 1x3x32x32,
inception_v3: 1x3x299x299), eval mode, opset 13,
written to DIR/NAME.onnx (default models/out). An existing file is kept
unless --force. Weights come from torch.manual_seed(SEED + index); every
BatchNorm gets random non-trivial running_mean / running_var / weight / bias
so that folding BatchNorm into a convolution is really tested. Needs Debian's
python3-torchvision and python3-onnx: run it with /usr/bin/python3.
"""
import argparse
import os
import sys
import time

SEED = 20240601
ALL = ["resnet18", "resnet50", "mobilenet_v2", "squeezenet1_1", "googlenet", "tiny_cnn",
       "mobilenet_v3_large", "inception_v3", "resnext50_32x4d", "regnet_y_400mf",
       "efficientnet_b1", "shufflenet_v2_x1_0", "mnasnet1_0", "convnext_tiny", "vgg16"]


def tiny_cnn(torch):
    """conv+bn+relu, max pool, a residual block, global pool, gemm: ~25k params."""
    nn = torch.nn

    class Tiny(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1, bias=False),
                                      nn.BatchNorm2d(16), nn.ReLU())
            self.pool = nn.MaxPool2d(2)
            self.block = nn.Sequential(nn.Conv2d(16, 16, 3, padding=1, bias=False),
                                       nn.BatchNorm2d(16), nn.ReLU(),
                                       nn.Conv2d(16, 16, 3, padding=1, bias=False),
                                       nn.BatchNorm2d(16))
            self.down = nn.Sequential(nn.Conv2d(16, 32, 3, stride=2, padding=1),
                                      nn.ReLU6())
            self.fc = nn.Linear(32, 10)

        def forward(self, x):
            x = self.pool(self.stem(x))
            x = torch.relu(x + self.block(x))
            x = self.down(x)
            x = torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1)
            return self.fc(x)

    return Tiny()


def build(name, torch, tv):
    if name == "tiny_cnn":
        return tiny_cnn(torch), (1, 3, 32, 32)
    if name == "googlenet":
        m = tv.googlenet(weights=None, aux_logits=False, init_weights=True)
    elif name == "inception_v3":
        return tv.inception_v3(weights=None, aux_logits=False, init_weights=True), (1, 3, 299, 299)
    else:
        m = getattr(tv, name)(weights=None)
    return m, (1, 3, 224, 224)


def randomize_batchnorm(model, torch):
    """Non-trivial statistics: a fresh BatchNorm is the identity and would let
    a wrong fold pass."""
    for mod in model.modules():
        if isinstance(mod, torch.nn.modules.batchnorm._BatchNorm):
            c = mod.num_features
            with torch.no_grad():
                mod.running_mean.uniform_(-0.5, 0.5)
                mod.running_var.uniform_(0.5, 2.0)
                if mod.affine:
                    mod.weight.uniform_(0.5, 1.5)
                    mod.bias.uniform_(-0.2, 0.2)
            assert mod.running_mean.shape[0] == c


def export(name, index, out_dir, torch, tv):
    path = os.path.join(out_dir, name + ".onnx")
    torch.manual_seed(SEED + index)
    model, shape = build(name, torch, tv)
    randomize_batchnorm(model, torch)
    model.eval()
    x = torch.rand(shape) * 2 - 1
    tmp = path + ".tmp"
    with torch.no_grad():
        # PRESERVE (the model is in eval mode) keeps BatchNormalization nodes:
        # the default EVAL mode would fold them into the convolutions here.
        torch.onnx.export(model, x, tmp, opset_version=13, input_names=["input"],
                          output_names=["output"], do_constant_folding=True,
                          training=torch.onnx.TrainingMode.PRESERVE)
    os.replace(tmp, path)
    return path


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default=",".join(ALL), help="comma-separated names")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "out"))
    ap.add_argument("--force", action="store_true", help="re-export existing files")
    args = ap.parse_args()
    names = [n for n in args.models.split(",") if n]
    unknown = [n for n in names if n not in ALL]
    if unknown:
        sys.exit(f"export_torchvision: unknown model(s) {', '.join(unknown)}; known: {' '.join(ALL)}")
    os.makedirs(args.out, exist_ok=True)
    todo = [n for n in names if args.force or not os.path.exists(os.path.join(args.out, n + ".onnx"))]
    for n in names:
        if n not in todo:
            print(f"{n}: {os.path.join(args.out, n + '.onnx')} exists, skipped")
    if not todo:
        return
    t0 = time.time()
    import warnings
    warnings.filterwarnings("ignore", message=".*constant folding.*")  # see export()
    import torch
    import torchvision.models as tv
    torch.set_num_threads(1)
    print(f"(import torch: {time.time() - t0:.1f} s)")
    for n in todo:
        t = time.time()
        path = export(n, ALL.index(n), args.out, torch, tv)
        print(f"{n}: wrote {path} ({os.path.getsize(path) / 1e6:.1f} MB) in {time.time() - t:.1f} s",
              flush=True)


if __name__ == "__main__":
    main()
