"""trt_pose's resnet18_baseline_att network in PyTorch, to load its weights and export them to ONNX.

    model = resnet18_baseline_att()                        # random weights, eval mode
    load_weights(model, "resnet18_baseline_att_224x224_A_epoch_249.pth")
    export_onnx(model, "trt_pose.onnx")                    # input (N, 3, 224, 224) -> cmap, paf

The layers and their names follow trt_pose (models/resnet.py, models/common.py at the pinned commit)
and torchvision's resnet18, so trt_pose's state dict loads with strict=True: `0.resnet.*` is the
ResNet-18 (its unused `fc` included, as torchvision builds it), `1.*` the attention head
(CmapPafHeadAttention: three ConvTranspose-BN-ReLU upsamplings per branch, a 3x3 attention conv
through sigmoid (parts) or tanh (fields), a 1x1 conv to 18 part maps and 42 field channels).
ResNet-18 is written out here instead of imported from torchvision: torchvision is the source
build the Jetson set-up dropped, and PyPI's CPU torch works without it. Runs on the CPU; torch is
imported by this module, which only `fallwatch pose export` and its tests import.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from edge.pose.paf import NUM_LINKS
from edge.skeleton import NUM_KEYPOINTS

INPUT_SIZE = 224  # resnet18_baseline_att_224x224_A was trained at 224 x 224
UPSAMPLE_CHANNELS = 256
NUM_UPSAMPLE = 3
OPSET = 17


class BasicBlock(nn.Module):
    """torchvision's ResNet BasicBlock: two 3x3 convs with batch norm and a shortcut."""

    def __init__(self, inplanes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample: nn.Module | None = None
        if stride != 1 or inplanes != planes:
            self.downsample = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + identity)


class ResNet18(nn.Module):
    """torchvision's resnet18 layout (conv1, bn1, maxpool, layer1..4, fc), run up to layer4 as trt_pose's
    ResNetBackbone does: (N, 3, H, W) -> (N, 512, H/32, W/32)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        widths = [(64, 64, 1), (64, 128, 2), (128, 256, 2), (256, 512, 2)]
        for i, (inplanes, planes, stride) in enumerate(widths, start=1):
            setattr(self, f"layer{i}", nn.Sequential(BasicBlock(inplanes, planes, stride), BasicBlock(planes, planes)))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(512, 1000)  # unused, kept so that the trained state dict loads strictly

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))


class Backbone(nn.Module):
    """trt_pose's ResNetBackbone: the ResNet under the name `resnet`."""

    def __init__(self) -> None:
        super().__init__()
        self.resnet = ResNet18()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.resnet(x)


def upsample(inplanes: int, planes: int, count: int) -> nn.Sequential:
    """trt_pose's UpsampleCBR: `count` x (ConvTranspose2d 4x4 stride 2, BatchNorm, ReLU); each doubles H, W."""
    layers: list[nn.Module] = []
    for i in range(count):
        layers += [
            nn.ConvTranspose2d(inplanes if i == 0 else planes, planes, 4, 2, 1),
            nn.BatchNorm2d(planes),
            nn.ReLU(),
        ]
    return nn.Sequential(*layers)


class AttentionHead(nn.Module):
    """trt_pose's CmapPafHeadAttention: features -> (part maps, fields) at 8x the feature resolution."""

    def __init__(self, inplanes: int, cmap_channels: int, paf_channels: int) -> None:
        super().__init__()
        self.cmap_up = upsample(inplanes, UPSAMPLE_CHANNELS, NUM_UPSAMPLE)
        self.paf_up = upsample(inplanes, UPSAMPLE_CHANNELS, NUM_UPSAMPLE)
        self.cmap_att = nn.Conv2d(UPSAMPLE_CHANNELS, UPSAMPLE_CHANNELS, 3, 1, 1)
        self.paf_att = nn.Conv2d(UPSAMPLE_CHANNELS, UPSAMPLE_CHANNELS, 3, 1, 1)
        self.cmap_conv = nn.Conv2d(UPSAMPLE_CHANNELS, cmap_channels, 1)
        self.paf_conv = nn.Conv2d(UPSAMPLE_CHANNELS, paf_channels, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        xc = self.cmap_up(x)
        xp = self.paf_up(x)
        cmap = self.cmap_conv(xc * torch.sigmoid(self.cmap_att(xc)))
        paf = self.paf_conv(xp * torch.tanh(self.paf_att(xp)))
        return cmap, paf


def resnet18_baseline_att() -> nn.Sequential:
    """The network with random weights, in eval mode: (N, 3, 224, 224) -> cmap (N, 18, 56, 56), paf (N, 42, 56, 56)."""
    return nn.Sequential(Backbone(), AttentionHead(512, NUM_KEYPOINTS, 2 * NUM_LINKS)).eval()


def load_weights(model: nn.Module, weights: str | Path) -> None:
    """Load trt_pose's trained state dict (strictly: a missing or extra tensor names the key).

    Raises ValueError naming the file when it is not such a state dict.
    """
    try:
        state = torch.load(weights, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises pickle, zip and runtime errors alike for a bad file
        raise ValueError(f"{weights}: not a PyTorch state dict ({exc.__class__.__name__}: {exc})") from None
    if not isinstance(state, dict):
        raise ValueError(f"{weights}: holds a {type(state).__name__}, not a state dict")
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).splitlines()[1].strip() if "\n" in str(exc) else str(exc)
        raise ValueError(f"{weights}: not resnet18_baseline_att weights for 18 parts and 21 limbs ({first})") from None


def export_onnx(model: nn.Module, output: str | Path) -> None:
    """Write the model as ONNX (opset 17, batch axis dynamic): input "input" -> outputs "cmap", "paf"."""
    dummy = torch.zeros(1, 3, INPUT_SIZE, INPUT_SIZE)
    axes = {name: {0: "batch"} for name in ("input", "cmap", "paf")}
    with torch.no_grad():
        torch.onnx.export(
            model,
            (dummy,),
            str(output),
            input_names=["input"],
            output_names=["cmap", "paf"],
            dynamic_axes=axes,
            opset_version=OPSET,
            dynamo=False,  # the TorchScript exporter: plain Conv/ConvTranspose nodes, no onnxscript needed
        )
