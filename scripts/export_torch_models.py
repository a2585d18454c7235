#!/usr/bin/env python3
"""One-off export of the PyTorch part of the real-model corpus (docs/real-models.md).

`torch.onnx.export` of standard architectures with random weights (no weight downloads):
  torch_squeezenet   torchvision's SqueezeNet 1.1 (a CNN classifier, 1000 classes)
  torch_encoder      a 2-layer `nn.TransformerEncoder` text classifier (token embedding,
                     learned positions, multi-head attention, mean pooling, 3 classes)

The PyPI `torch` wheel pulls about 4 GB of CUDA libraries, so this script does not run in CI or
in the test command: it ran once, and its outputs are committed in `tests/models/`. To rerun it
(the outputs are byte-for-byte the same with the pinned versions below):

    python3 -m venv ~/.cache/verity/export-venv
    ~/.cache/verity/export-venv/bin/pip install torch==2.9.1 torchvision==0.24.1 onnx==1.23.2
    ~/.cache/verity/export-venv/bin/python scripts/export_torch_models.py tests/models

Usage: export_torch_models.py OUT_DIR
"""
from __future__ import annotations

import sys
from pathlib import Path

import torch
import torchvision
from torch import nn

OPSET = 17


class Encoder(nn.Module):
    """A small text classifier: token ids [N, 16] (int64) → class logits [N, 3]."""

    def __init__(self, vocab: int = 1000, width: int = 64, length: int = 16, classes: int = 3):
        super().__init__()
        self.embed = nn.Embedding(vocab, width)
        self.position = nn.Parameter(torch.randn(1, length, width) * 0.02)
        layer = nn.TransformerEncoderLayer(width, nhead=4, dim_feedforward=128, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False)
        self.head = nn.Linear(width, classes)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        hidden = self.encoder(self.embed(tokens) + self.position)
        return self.head(hidden.mean(dim=1))


def export(model: nn.Module, example: torch.Tensor, input_name: str, output_name: str, path: Path) -> None:
    model.eval()
    # With gradients on, `nn.TransformerEncoder` takes its plain path (attention, layer norm,
    # feed-forward as separate operators), not the fused kernel that has no ONNX export.
    torch.onnx.export(model, (example,), str(path), input_names=[input_name], output_names=[output_name],
                      dynamic_axes={input_name: {0: "batch"}, output_name: {0: "batch"}},
                      opset_version=OPSET, dynamo=False)
    print(f"[export] {path.name}: {path.stat().st_size} bytes", file=sys.stderr)


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    export(torchvision.models.squeezenet1_1(weights=None), torch.rand(1, 3, 64, 64), "image", "logits",
           out / "torch_squeezenet.onnx")
    torch.manual_seed(1)
    export(Encoder(), torch.randint(0, 1000, (1, 16)), "tokens", "logits", out / "torch_encoder.onnx")
    return 0


if __name__ == "__main__":
    sys.exit(main())
