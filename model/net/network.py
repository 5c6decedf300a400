"""The cascaded dimension-lifting network (the paper's Figure 2): image -> heatmaps -> 2.5D -> 3D joints.

Data flow, shapes for batch B, J joints, K = J - 1 bones, C depth bins, H = W = heatmap_size:

    images (B,3,S,S) -> backbone (B,Cb,S/32,S/32)
    -> ContextBranch (blue; 3 deconvs, the 3DMPPE PoseNet trunk)            ctx    (B,Cd,H,W)
       (blazepose backbone: (B,48+39,S/4,S/4) -> BlazeContext, a 3x3 conv plus its heatmaps, instead)
    -> BoneJointBlock (red a,b): bone heatmaps, fused with ctx -> joints      bones  (B,K,H,W), joints (B,J,H,W)
    -> DepthCentricBlock (red c): dilated ctx + joints -> depth cube, ordinal  cube   (B,C,H,W), ordinal (B,C,H,W)
    -> VolumeHead: ctx joined with the S3HT maps -> per-joint 3D volumes     logits (B,J,C,H,W)
    -> soft_argmax_3d (Eq. 7-8)                                              uvz    (B,J,3) grid units
    -> LiftingBlock (d): FC 1024 + 5 residual blocks -> root-relative 3D      joints_3d (B,J,3) mm
    confidence (model/net/confidence.py): the 2D heatmap's peak mass per joint   joint_confidence (B,J) in [0,1]
    and, with cfg.person_head > 0, PersonHead on the pooled backbone features person_logit (B,)

The image context branch is the PoseNet trunk whose features every S3HT block reads and that is
joined again before the volume head; the S3HT blocks are the small heads the paper says add
"only a few parameters" to that baseline.
"""

from typing import NamedTuple

import torch
from torch import nn

from model.net.backbones import build_backbone
from model.net.confidence import PersonHead, peak_mass, volume_marginals
from model.net.config import BLAZEPOSE_STRIDE, ModelConfig
from model.net.skeleton import ROOT

# BlazePose's raw heatmap values span about -45 to +1.4 (a real crop); times this (4: on a real crop its soft-argmax
# came within 1-3 px of the channel argmax for most joints, 1 was too flat) they are the
# volume head's starting logits (CascadeNet.start_from_heatmaps).
HEATMAP_LOGIT_SCALE = 4.0

# Names of CascadeNet.infer_outputs() in order (the exported graph's outputs); person_score only with a person head.
INFER_OUTPUTS = ("uvz", "joints_3d", "joint_confidence", "person_score")


class CascadeOutput(NamedTuple):
    """Everything the losses need from one training forward pass (all float tensors).

    bone_heatmaps:  (B, J-1, H, W) predicted bone heatmaps (model.net.skeleton.BONES order).
    joint_heatmaps: (B, J, H, W)   predicted joint heatmaps.
    depth_cube:     (B, C, H, W)   predicted depth-centric cube (joint heatmaps at their depth channel).
    ordinal_logits: (B, C, H, W)   logits of P(d(w,h) > c) for c = 0..C-1 (Eq. 5).
    uvz:            (B, J, 3)      soft-argmax 2.5D joints in grid units (heatmap px, depth bins).
    joints_3d:      (B, J, 3)      lifted root-relative joints in mm (geodesic-normalised, Eq. 10).
    joint_confidence: (B, J)       peak mass of each joint's 2D heatmap in [0, 1] (model/net/confidence.py).
    person_logit:   (B,)           logit of "the crop holds a person", or None without a person head.
    heatmap_2d:     (B, J, H, W)   the volume's 2D marginal (sums to 1 per joint), soft-argmax's u, v.
    depth_marginal: (B, J, C)      the volume's depth marginal (sums to 1 per joint), soft-argmax's z.
    """

    bone_heatmaps: torch.Tensor
    joint_heatmaps: torch.Tensor
    depth_cube: torch.Tensor
    ordinal_logits: torch.Tensor
    uvz: torch.Tensor
    joints_3d: torch.Tensor
    joint_confidence: torch.Tensor | None = None
    person_logit: torch.Tensor | None = None
    heatmap_2d: torch.Tensor | None = None
    depth_marginal: torch.Tensor | None = None


def conv_bn_relu(in_ch: int, out_ch: int, kernel: int = 3, dilation: int = 1) -> nn.Sequential:
    """Same-size conv + BN + ReLU."""
    pad = dilation * (kernel // 2)
    return nn.Sequential(
        nn.Conv2d(in_ch, out_ch, kernel, padding=pad, dilation=dilation, bias=False),
        nn.BatchNorm2d(out_ch),
        nn.ReLU(inplace=True),
    )


def head_conv(in_ch: int, out_ch: int) -> nn.Conv2d:
    """1x1 output conv started near zero, so initial heatmaps are flat (as in SimpleBaseline)."""
    conv = nn.Conv2d(in_ch, out_ch, 1)
    nn.init.normal_(conv.weight, std=0.001)
    nn.init.zeros_(conv.bias)
    return conv


class ContextBranch(nn.Module):
    """Blue branch: three 4x4 stride-2 deconvs (+BN+ReLU), (B, Cb, h, w) -> (B, Cd, 8h, 8w)."""

    def __init__(self, in_ch: int, channels: tuple[int, ...]) -> None:
        super().__init__()
        layers = []
        for ch in channels:
            deconv = nn.ConvTranspose2d(in_ch, ch, 4, stride=2, padding=1, bias=False)
            nn.init.normal_(deconv.weight, std=0.001)
            layers += [deconv, nn.BatchNorm2d(ch), nn.ReLU(inplace=True)]
            in_ch = ch
        self.layers = nn.Sequential(*layers)
        self.out_channels = in_ch

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.layers(features)


class BlazeContext(nn.Module):
    """Context from BlazePose's stride-4 features and heatmaps (model/net/backbones.BlazePoseBackbone):
    (B, 48 + 39, h, w) -> (B, width + 39, h / down, w / down), a 3x3 conv (+BN+ReLU, stride `down`) of both,
    then the 39 heatmaps themselves (2x2 max-pooled when down = 2, which keeps each peak), so that the heads
    (and the volume head's initialisation, CascadeNet.start_from_heatmaps) read them directly."""

    def __init__(self, in_ch: int, width: int, heatmap_channels: int, down: int = 1) -> None:
        super().__init__()
        self.conv = nn.Sequential(nn.Conv2d(in_ch, width, 3, down, 1, bias=False), nn.BatchNorm2d(width),
                                  nn.ReLU(inplace=True))
        self.down = down
        self.heatmap_channels = heatmap_channels
        self.out_channels = width + heatmap_channels

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        heatmaps = features[:, -self.heatmap_channels:]
        if self.down > 1:
            heatmaps = nn.functional.max_pool2d(heatmaps, self.down)
        return torch.cat([self.conv(features), heatmaps], dim=1)


class BoneJointBlock(nn.Module):
    """Red (a, b): ctx -> bone heatmaps; concat(ctx, bones) -> convs -> joint heatmaps.

    forward(ctx (B, Cd, H, W)) -> (bones (B, K, H, W), joints (B, J, H, W)).
    """

    def __init__(self, ctx_ch: int, width: int, num_bones: int, num_joints: int) -> None:
        super().__init__()
        self.bone = nn.Sequential(conv_bn_relu(ctx_ch, width), head_conv(width, num_bones))
        self.joint = nn.Sequential(
            conv_bn_relu(ctx_ch + num_bones, width),
            conv_bn_relu(width, width),
            head_conv(width, num_joints),
        )

    def forward(self, ctx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        bones = self.bone(ctx)
        joints = self.joint(torch.cat([ctx, bones], dim=1))
        return bones, joints


class DilatedContext(nn.Module):
    """Parallel dilated 3x3 convs over the context for large receptive fields: (B,Cd,H,W) -> (B,width,H,W)."""

    def __init__(self, ctx_ch: int, width: int, dilations: tuple[int, ...]) -> None:
        super().__init__()
        self.reduce = conv_bn_relu(ctx_ch, width, kernel=1)
        self.branches = nn.ModuleList(conv_bn_relu(width, width, dilation=d) for d in dilations)
        self.fuse = conv_bn_relu(width * len(dilations), width, kernel=1)

    def forward(self, ctx: torch.Tensor) -> torch.Tensor:
        x = self.reduce(ctx)
        return self.fuse(torch.cat([b(x) for b in self.branches], dim=1))


class DepthCentricBlock(nn.Module):
    """Red (c): dilated context + joint heatmaps -> features, depth-centric cube and ordinal logits.

    forward(ctx (B,Cd,H,W), joints (B,J,H,W)) ->
        (features (B,width,H,W), cube (B,C,H,W), ordinal_logits (B,C,H,W)).
    The cube and the ordinal head are parallel 1x1 convs on the same features (the paper's Fig. 2c).
    """

    def __init__(self, ctx_ch: int, width: int, num_joints: int, depth_bins: int, dilations: tuple[int, ...]) -> None:
        super().__init__()
        self.context = DilatedContext(ctx_ch, width, dilations)
        self.fuse = conv_bn_relu(width + num_joints, width)
        self.cube = head_conv(width, depth_bins)
        self.ordinal = nn.Conv2d(width, depth_bins, 1)

    def forward(self, ctx: torch.Tensor, joints: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        features = self.fuse(torch.cat([self.context(ctx), joints], dim=1))
        return features, self.cube(features), self.ordinal(features)


class VolumeHead(nn.Module):
    """Joins ctx with the S3HT outputs into per-joint 3D volumes: 1x1 conv -> (B, J, D, H, W) logits."""

    def __init__(self, in_ch: int, num_joints: int, depth_bins: int) -> None:
        super().__init__()
        self.num_joints = num_joints
        self.depth_bins = depth_bins
        self.conv = nn.Conv2d(in_ch, num_joints * depth_bins, 1)

    def forward(self, maps: torch.Tensor) -> torch.Tensor:
        h, w = maps.shape[-2:]
        # -1 batch keeps the ONNX graph free of a traced batch size.
        return self.conv(maps).reshape(-1, self.num_joints, self.depth_bins, h, w)


def soft_argmax_3d(logits: torch.Tensor) -> torch.Tensor:
    """Eq. 7-8: softmax over each joint's whole volume, then the expected (u, v, z) cell index.

    logits (B, J, D, H, W) -> uvz (B, J, 3) with u in [0, W-1], v in [0, H-1], z in [0, D-1].
    """
    return soft_argmax_marginals(*volume_marginals(logits))


def soft_argmax_marginals(p_vu: torch.Tensor, pz: torch.Tensor) -> torch.Tensor:
    """The expected (u, v, z) cell of the volume distribution from its marginals (volume_marginals):
    p_vu (B, J, H, W) over the image plane and pz (B, J, D) over depth -> uvz (B, J, 3).

    Marginals first: summing over axes before the weighted sum is cheaper than a full grid, and the
    plane marginal p_vu also gives the joint confidence."""
    h, w = p_vu.shape[-2:]
    d = pz.shape[-1]
    u = (p_vu.sum(dim=2) * torch.arange(w, device=p_vu.device, dtype=p_vu.dtype)).sum(-1)
    v = (p_vu.sum(dim=3) * torch.arange(h, device=p_vu.device, dtype=p_vu.dtype)).sum(-1)
    z = (pz * torch.arange(d, device=pz.device, dtype=pz.dtype)).sum(-1)
    return torch.stack([u, v, z], dim=-1)


class ResidualFC(nn.Module):
    """Two (Linear, BN, ReLU, Dropout) layers wrapped by a residual connection: (B, F) -> (B, F)."""

    def __init__(self, width: int, dropout: float) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(width, width), nn.BatchNorm1d(width), nn.ReLU(inplace=True), nn.Dropout(dropout),
            nn.Linear(width, width), nn.BatchNorm1d(width), nn.ReLU(inplace=True), nn.Dropout(dropout),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.layers(x)


class LiftingBlock(nn.Module):
    """(d) 3D lifting: normalised 2.5D (B, J, 3) in [-1, 1] -> root-relative joints (B, J, 3) in mm.

    FC to `width` (+BN+ReLU+Dropout), `blocks` ResidualFC blocks, FC to J*3. The last layer outputs
    units of OUTPUT_UNIT_MM, about the spread of joints around the root, as Martinez et al. regress
    standardised coordinates: Adam's fixed-size steps then move the output by sensible amounts
    (in metres the first steps overshoot by decimetres). The root is subtracted so the output is
    root-relative by construction.
    """

    OUTPUT_UNIT_MM = 100.0

    def __init__(self, num_joints: int, width: int, blocks: int, dropout: float) -> None:
        super().__init__()
        self.num_joints = num_joints
        self.inp = nn.Sequential(
            nn.Linear(num_joints * 3, width), nn.BatchNorm1d(width), nn.ReLU(inplace=True), nn.Dropout(dropout)
        )
        self.blocks = nn.Sequential(*(ResidualFC(width, dropout) for _ in range(blocks)))
        self.out = nn.Linear(width, num_joints * 3)

    def forward(self, uvz_norm: torch.Tensor) -> torch.Tensor:
        assert uvz_norm.shape[1:] == (self.num_joints, 3), f"expected (B, {self.num_joints}, 3), got {tuple(uvz_norm.shape)}"
        x = self.blocks(self.inp(uvz_norm.reshape(-1, self.num_joints * 3)))
        joints = self.OUTPUT_UNIT_MM * self.out(x).reshape(-1, self.num_joints, 3)
        return joints - joints[:, ROOT : ROOT + 1]


class CascadeNet(nn.Module):
    """The whole network. forward() for training, infer() for export and inference.

    Input images: (B, 3, S, S) float32 RGB, normalised with cfg.pixel_mean / cfg.pixel_std,
    S = cfg.input_size. Call .eval() before infer() / export.
    """

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        j, c, width = cfg.num_joints, cfg.depth_bins, cfg.head_channels
        k = j - 1
        self.backbone = build_backbone(cfg)
        if cfg.backbone == "blazepose":
            self.context = BlazeContext(self.backbone.out_channels, cfg.deconv_channels[-1],
                                        self.backbone.heatmap_channels, cfg.head_stride // BLAZEPOSE_STRIDE)
        else:
            self.context = ContextBranch(self.backbone.out_channels, cfg.deconv_channels)
        cd = self.context.out_channels
        self.bone_joint = BoneJointBlock(cd, width, k, j)
        self.depth_centric = DepthCentricBlock(cd, width, j, c, cfg.dilations)
        self.volume = VolumeHead(cd + width + k + j + c, j, c)
        self.lifting = LiftingBlock(j, cfg.lift_width, cfg.lift_blocks, cfg.dropout)
        taps = sum(self.backbone.tap_channels) if cfg.person_taps else 0
        self.person_head = PersonHead(self.backbone.out_channels + taps, cfg.person_head) if cfg.person_head else None
        if cfg.backbone == "blazepose":
            self.start_from_heatmaps()

    def start_from_heatmaps(self, scale: float = HEATMAP_LOGIT_SCALE) -> None:
        """Initialise the volume head so that each joint's 2D soft-argmax starts as BlazePose's own heatmap
        peak (the joints of H36M_FROM_LANDMARKS; mean of logits where a joint lies between landmarks) with
        a flat depth: its logits are `scale` x those heatmap channels at every depth bin, and every other
        input starts near zero (pelvis, spine, thorax and head top are then refined by training)."""
        from model.net.blazepose import H36M_FROM_LANDMARKS

        conv = self.volume.conv
        first = self.context.out_channels - self.context.heatmap_channels  # heatmaps' offset in the volume input
        d = self.cfg.depth_bins
        with torch.no_grad():
            nn.init.normal_(conv.weight, std=0.001)
            nn.init.zeros_(conv.bias)
            for joint, landmarks in enumerate(H36M_FROM_LANDMARKS):
                for landmark in landmarks:
                    conv.weight[joint * d:(joint + 1) * d, first + landmark] = scale / len(landmarks)

    def forward(self, images: torch.Tensor) -> CascadeOutput:
        """images (B, 3, S, S) -> CascadeOutput (see its docstring for shapes and units)."""
        cfg = self.cfg
        assert images.dim() == 4 and images.shape[1:] == (3, cfg.input_size, cfg.input_size), (
            f"expected (B, 3, {cfg.input_size}, {cfg.input_size}) images, got {tuple(images.shape)}"
        )
        return self.decode(*self.backbone_outputs(images))

    def backbone_outputs(self, images: torch.Tensor) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        """images -> (backbone features (B, Cb, S/32, S/32; S/4 for blazepose), the deeper maps the person
        head also pools: BlazePoseBackbone.forward_taps's with cfg.person_taps, else none)."""
        if self.cfg.person_taps:
            return self.backbone.forward_taps(images)
        return self.backbone(images), ()

    def decode(self, features: torch.Tensor, taps: tuple[torch.Tensor, ...] = ()) -> CascadeOutput:
        """Backbone features (B, Cb, S/32, S/32) and taps (backbone_outputs) -> CascadeOutput: everything after
        the backbone, so that a student sharing a frozen backbone (model/training/compress.py) computes the
        features once for both."""
        cfg = self.cfg
        ctx = self.context(features)
        bones, joints = self.bone_joint(ctx)
        depth_features, cube, ordinal = self.depth_centric(ctx, joints)
        logits = self.volume(torch.cat([ctx, depth_features, bones, joints, cube], dim=1))
        p_vu, pz = volume_marginals(logits)
        uvz = soft_argmax_marginals(p_vu, pz)
        confidence = peak_mass(p_vu, uvz[..., 0], uvz[..., 1])
        lift_in = normalise_uvz(uvz.detach() if cfg.lift_detach else uvz, cfg)
        joints_3d = self.lifting(lift_in)
        person_logit = self.person_head(features, taps) if self.person_head is not None else None
        return CascadeOutput(bones, joints, cube, ordinal, uvz, joints_3d, confidence, person_logit, p_vu, pz)

    def infer(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """images (B, 3, S, S) -> (uvz (B, J, 3), joints_3d (B, J, 3)), plain tensors for export.

        uvz: u, v in crop pixels (pixel centres at integers), z in root-relative mm (geodesic-normalised).
        joints_3d: root-relative mm in camera axes, geodesic-normalised (Eq. 10).
        """
        out = self.forward(images)
        return self._output_scale(grid_to_crop(out.uvz, self.cfg), out.joints_3d)

    def _output_scale(self, uvz: torch.Tensor, joints_3d: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Crop-px/mm uvz and mm joints_3d scaled from the geodesic_mm the network was trained to to
        cfg.output_geodesic_mm (unchanged when that is 0)."""
        cfg = self.cfg
        if not cfg.output_geodesic_mm or cfg.output_geodesic_mm == cfg.geodesic_mm:
            return uvz, joints_3d
        scale = cfg.output_geodesic_mm / cfg.geodesic_mm
        return torch.cat([uvz[..., :2], uvz[..., 2:] * scale], dim=-1), joints_3d * scale

    @property
    def output_names(self) -> tuple[str, ...]:
        """The names of infer_outputs(), in order: INFER_OUTPUTS, without person_score if there is no person head."""
        return INFER_OUTPUTS if self.person_head is not None else INFER_OUTPUTS[:3]

    def infer_outputs(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """images (B, 3, S, S) -> every inference output by name (output_names order), for export and engines.

        uvz (B, J, 3) and joints_3d (B, J, 3) as infer(); joint_confidence (B, J) in [0, 1];
        person_score (B,) = sigmoid(person logit) in [0, 1], only with a person head.
        """
        out = self.forward(images)
        uvz, joints_3d = self._output_scale(grid_to_crop(out.uvz, self.cfg), out.joints_3d)
        outputs = {"uvz": uvz, "joints_3d": joints_3d, "joint_confidence": out.joint_confidence}
        if out.person_logit is not None:
            outputs["person_score"] = torch.sigmoid(out.person_logit)
        return outputs

    def lifting_parameters(self) -> list[nn.Parameter]:
        """Parameters of the 3D lifting block (the paper's second training stage)."""
        return list(self.lifting.parameters())

    def heatmap_parameters(self) -> list[nn.Parameter]:
        """Everything before the lifting block (the paper's first training stage), the person head aside."""
        other = {id(p) for p in self.lifting.parameters()}
        if self.person_head is not None:
            other |= {id(p) for p in self.person_head.parameters()}
        return [p for p in self.parameters() if id(p) not in other]


class InferenceWrapper(nn.Module):
    """Export-facing module: forward(images) -> the tuple of CascadeNet.infer_outputs() in output_names order."""

    def __init__(self, net: CascadeNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return tuple(self.net.infer_outputs(images).values())


def normalise_uvz(uvz: torch.Tensor, cfg: ModelConfig) -> torch.Tensor:
    """Grid 2.5D (B, J, 3) -> [-1, 1] per axis (cell edges map to +-1), the lifting block's input."""
    uv = (uvz[..., :2] + 0.5) * (2.0 / cfg.heatmap_size) - 1.0
    z = (uvz[..., 2:] + 0.5) * (2.0 / cfg.depth_bins) - 1.0
    return torch.cat([uv, z], dim=-1)


def grid_to_crop(uvz: torch.Tensor, cfg: ModelConfig) -> torch.Tensor:
    """Grid 2.5D (B, J, 3) -> (u, v) in crop pixels and z in root-relative mm.

    u_crop = (u + 0.5) * stride - 0.5;  z_mm = (z + 0.5 - C/2) * depth_range_mm / C.
    """
    uv = (uvz[..., :2] + 0.5) * cfg.stride - 0.5
    z = (uvz[..., 2:] + 0.5 - cfg.depth_bins / 2) * cfg.mm_per_bin
    return torch.cat([uv, z], dim=-1)


def count_parameters(module: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)
