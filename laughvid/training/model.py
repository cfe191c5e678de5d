"""The smile network: a small VGG/ResNet-style CNN for grey face crops.

Why this shape: on this project's 2-core CPU, full 3x3 convolutions train ~2x faster per sample
than depthwise-separable ones of the same accuracy class, and onnxruntime runs them at ~0.2 ms per
face on one core (BatchNorm is folded into the convs on export). Capacity (~35 M multiply-adds at
48x48) is spent at 12x12 and 6x6, where mouth and eye shape are resolved.

The graph takes raw grey pixels (N x 1 x S x S float, 0..255) and standardises each image itself,
so every caller (training, inference, eval) shares one preprocessing and global lighting matters less.
"""

from __future__ import annotations

import torch
from torch import nn


def _conv_bn(cin: int, cout: int, stride: int = 1, relu: bool = True) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout)]
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class ResBlock(nn.Module):
    """Two 3x3 convs with an identity skip."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(_conv_bn(channels, channels), _conv_bn(channels, channels, relu=False))
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(x + self.body(x))


def _pooled_linear(channels: int, outputs: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout), nn.Linear(channels, outputs))


class SmileNet(nn.Module):
    """Logit of 'smiling' for each grey face crop (any square size divisible by 8).

    With `emotions` > 0 the net also has an auxiliary expression head, used only while training
    (`forward_with_emotions`); `forward`, and so the exported ONNX graph, returns the smile logit alone."""

    def __init__(self, widths: tuple[int, int, int, int] = (16, 32, 64, 128), dropout: float = 0.3, emotions: int = 0) -> None:
        super().__init__()
        self.config = {"widths": list(widths), "dropout": dropout, "emotions": emotions}
        w0, w1, w2, w3 = widths
        self.features = nn.Sequential(
            _conv_bn(1, w0),
            _conv_bn(w0, w1, stride=2),
            _conv_bn(w1, w1),
            _conv_bn(w1, w2, stride=2),
            ResBlock(w2),
            _conv_bn(w2, w3, stride=2),
            ResBlock(w3),
        )
        self.head = _pooled_linear(w3, 1, dropout)
        self.emotion_head = _pooled_linear(w3, emotions, dropout) if emotions else None

    def add_emotion_head(self, emotions: int) -> None:
        """Give a net trained without one (e.g. an older model being continued) an expression head."""
        if self.emotion_head is None:
            self.emotion_head = _pooled_linear(self.config["widths"][-1], emotions, self.config["dropout"])
            self.config["emotions"] = emotions

    @staticmethod
    def standardise(pixels: torch.Tensor) -> torch.Tensor:
        mean = pixels.mean(dim=(1, 2, 3), keepdim=True)
        std = pixels.std(dim=(1, 2, 3), keepdim=True)
        return (pixels - mean) / (std + 8.0)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(self.standardise(pixels)))[:, 0]

    def forward_with_emotions(self, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(smile logits, expression logits or None): one pass through the shared features."""
        features = self.features(self.standardise(pixels))
        emotions = self.emotion_head(features) if self.emotion_head is not None else None
        return self.head(features)[:, 0], emotions
