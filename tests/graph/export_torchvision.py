"""Exports a few torchvision architectures (random weights, nothing is
downloaded) to ONNX in a temporary folder and loads each with gr_tool.

usage: /usr/bin/python3 export_torchvision.py GR_TOOL
Exits 77 (CTest: skipped) when torch / torchvision are not installed.
"""
import subprocess, sys, tempfile, os

try:
    import torch, torchvision
except ImportError:
    sys.exit(77)

CASES = [  # (architecture, opset, constant folding by the exporter)
    ("resnet18", 13, False),
    ("mobilenet_v3_small", 11, False),
    ("mobilenet_v2", 13, True),
    ("squeezenet1_1", 9, False),
]

def main():
    tool = sys.argv[1]
    failed = 0
    with tempfile.TemporaryDirectory() as d:
        for name, opset, fold in CASES:
            torch.manual_seed(0)
            model = getattr(torchvision.models, name)(weights=None).eval()
            path = os.path.join(d, f"{name}_{opset}.onnx")
            torch.onnx.export(model, torch.randn(1, 3, 224, 224), path, opset_version=opset,
                              do_constant_folding=fold, dynamic_axes={"x": {0: "N"}},
                              input_names=["x"])
            r = subprocess.run([tool, "--expect-ok", path], capture_output=True, text=True)
            print(r.stdout.strip())
            failed |= r.returncode != 0
    sys.exit(1 if failed else 0)

if __name__ == "__main__":
    main()
