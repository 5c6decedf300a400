"""Targets checked against hand-computed values: joint and bone heatmaps, depth bins, cube, ordinal labels, Eq. 10."""

import math

import pytest
import torch

from model.net.skeleton import BONES, NUM_JOINTS, ROOT
from model.net.config import ModelConfig
from model.net.network import grid_to_crop
from model.data.targets import (
    bone_heatmaps,
    crop_to_grid,
    depth_bin,
    depth_to_grid,
    gaussian_heatmaps,
    geodesic_length,
    make_targets,
    normalise_geodesic,
)

# Tiny config: stride 4, 16x16 heatmaps, 16 depth bins of 125 mm over a 2000 mm cube.
CFG = ModelConfig.tiny().replace(geodesic_mm=1073.0)


def upright_pose() -> torch.Tensor:
    """(17, 3) mm, root at the origin, geodesic exactly 257 + 233 + 133 + 450 = 1073 mm."""
    j = torch.zeros(NUM_JOINTS, 3)
    j[1] = torch.tensor([-133.0, 0, 0])
    j[2] = j[1] + torch.tensor([0, 450.0, 0])
    j[3] = j[2] + torch.tensor([0, 445.0, 0])
    j[4] = torch.tensor([133.0, 0, 0])
    j[5] = j[4] + torch.tensor([0, 450.0, 0])
    j[6] = j[5] + torch.tensor([0, 445.0, 0])
    j[7] = torch.tensor([0, -233.0, 0])
    j[8] = j[7] + torch.tensor([0, -257.0, 0])
    j[9] = j[8] + torch.tensor([0, -100.0, -60.0])
    j[10] = j[8] + torch.tensor([0, -230.0, 0])
    j[11] = j[8] + torch.tensor([150.0, 0, 0])
    j[12] = j[11] + torch.tensor([0, 280.0, 0])
    j[13] = j[12] + torch.tensor([0, 250.0, 0])
    j[14] = j[8] + torch.tensor([-150.0, 0, 0])
    j[15] = j[14] + torch.tensor([0, 280.0, 0])
    j[16] = j[15] + torch.tensor([0, 250.0, 0])
    return j


def grid_points_to_crop(g: torch.Tensor) -> torch.Tensor:
    return (g + 0.5) * CFG.stride - 0.5


def test_coordinate_conventions_round_trip() -> None:
    assert CFG.stride == 4 and CFG.heatmap_size == 16 and CFG.mm_per_bin == 125.0
    crop = torch.tensor([[1.5, 5.5], [0.0, 63.0]])
    assert torch.allclose(crop_to_grid(crop, CFG), torch.tensor([[0.0, 1.0], [-0.375, 15.375]]))
    # z: root (0 mm) sits in bin C/2 at grid 7.5; +300 mm -> s = 2.4 -> z = 9.9 -> bin 10; -300 mm -> bin 5.
    z = depth_to_grid(torch.tensor([0.0, 300.0, -300.0, 5000.0]), CFG)
    assert torch.allclose(z, torch.tensor([7.5, 9.9, 5.1, 47.5]))
    assert depth_bin(z, CFG.depth_bins).tolist() == [8, 10, 5, 15]
    # network's grid -> crop conversion is the inverse of the targets' conversion
    uvz = torch.cat([crop_to_grid(crop, CFG), depth_to_grid(torch.tensor([[300.0], [-10.0]]), CFG)], dim=-1)
    back = grid_to_crop(uvz, CFG)
    assert torch.allclose(back[:, :2], crop) and torch.allclose(back[:, 2], torch.tensor([300.0, -10.0]))


def test_joint_gaussian_values() -> None:
    hm = gaussian_heatmaps(torch.tensor([[[5.0, 7.0]]]), torch.ones(1, 1), 16, 2.0)
    assert hm.shape == (1, 1, 16, 16) and hm.dtype == torch.float32
    assert hm[0, 0, 7, 5] == pytest.approx(1.0)
    assert hm[0, 0, 7, 6] == pytest.approx(math.exp(-1 / 8))
    assert hm[0, 0, 9, 7] == pytest.approx(math.exp(-8 / 8))
    assert hm.min() >= 0 and hm.max() <= 1
    assert gaussian_heatmaps(torch.tensor([[[5.0, 7.0]]]), torch.zeros(1, 1), 16, 2.0).abs().sum() == 0


def test_bone_heatmap_at_known_points() -> None:
    uv = torch.zeros(1, NUM_JOINTS, 2)
    uv[0, 0] = torch.tensor([4.0, 4.0])  # pelvis
    uv[0, 1] = torch.tensor([10.0, 4.0])  # r_hip: bone 0 is pelvis -> r_hip, horizontal
    sigma = 1.5
    hm = bone_heatmaps(uv, torch.ones(1, NUM_JOINTS), BONES, 16, sigma)
    assert BONES[0] == (0, 1) and hm.shape == (1, len(BONES), 16, 16)
    b = hm[0, 0]
    assert b[4, 4] == pytest.approx(1.0) and b[4, 7] == pytest.approx(1.0) and b[4, 10] == pytest.approx(1.0)
    # (x=7, y=6): 2 px from the segment's middle -> exp(-4 / (2 sigma^2))
    assert b[6, 7] == pytest.approx(math.exp(-4 / (2 * sigma**2)))
    # (x=12, y=4): beyond the child end, distance to the segment is to its endpoint, 2 px
    assert b[4, 12] == pytest.approx(math.exp(-4 / (2 * sigma**2)))
    # (x=13, y=8): endpoint distance sqrt(9 + 16) = 5
    assert b[8, 13] == pytest.approx(math.exp(-25 / (2 * sigma**2)))


def test_bone_sigma_shrinks_by_epoch() -> None:
    cfg = ModelConfig()
    assert cfg.bone_sigma(0) == cfg.bone_sigma_start == 4.0
    assert cfg.bone_sigma(8) == pytest.approx(3.0)
    assert cfg.bone_sigma(16) == cfg.bone_sigma(20) == cfg.bone_sigma_end == 2.0
    kp = torch.zeros(1, NUM_JOINTS, 2) + 32.0
    kp[0, 1] = torch.tensor([60.0, 32.0])
    common = (kp * 4, torch.ones(1, NUM_JOINTS), torch.zeros(1, NUM_JOINTS, 3), torch.zeros(1), cfg)
    wide = make_targets(*common, epoch=0).bone_heatmaps[0, 0]
    thin = make_targets(*common, epoch=20).bone_heatmaps[0, 0]
    assert wide.sum() > 1.5 * thin.sum()


def test_geodesic_normalisation_eq10() -> None:
    pose = upright_pose()
    assert geodesic_length(pose[None]).item() == pytest.approx(1073.0)
    # A child at 0.6x the size and 4 m away comes back at the standard size, root-relative.
    child = pose * 0.6 + torch.tensor([100.0, -50.0, 4000.0])
    norm = normalise_geodesic(torch.stack([child, child]), torch.tensor([1.0, 0.0]), 1073.0)
    assert torch.allclose(norm[0], pose, atol=1e-3)
    assert norm[1].abs().sum() == 0  # no 3D label -> zeros


def make_one(depths_mm: dict[int, float], has_3d: float = 1.0, grid_xy: dict[int, tuple[float, float]] | None = None):
    """A batch of one upright pose, joints placed at given grid points, with chosen root-relative depths."""
    pose = upright_pose()
    for j, dz in depths_mm.items():
        pose[j, 2] = dz
    g = torch.stack([torch.linspace(1, 14, NUM_JOINTS), torch.linspace(2, 13, NUM_JOINTS)], dim=-1)
    for j, xy in (grid_xy or {}).items():
        g[j] = torch.tensor(xy)
    kp = grid_points_to_crop(g)
    return make_targets(kp[None], torch.ones(1, NUM_JOINTS), pose[None], torch.tensor([has_3d]), CFG, epoch=0.0), g


def test_depth_cube_and_ordinal_labels_hand_values() -> None:
    # r_wrist (16) 300 mm behind the root -> bin 10; l_wrist (13) 300 mm in front -> bin 5; root bin 8.
    t, g = make_one({16: 300.0, 13: -300.0}, grid_xy={16: (12.0, 3.0), 13: (3.0, 12.0), 0: (8.0, 8.0)})
    assert t.depth_cube.shape == (1, 16, 16, 16) and t.ordinal_labels.shape == (1, 16, 16, 16)
    assert t.ordinal_mask.shape == (1, 1, 16, 16)
    assert t.uvz[0, 16, 2].item() == pytest.approx(9.9) and t.uvz[0, 13, 2].item() == pytest.approx(5.1)
    # The joint heatmap sits in its depth channel, peak 1 at the joint, and nowhere else at that pixel.
    assert t.depth_cube[0, 10, 3, 12] == pytest.approx(1.0)
    assert t.depth_cube[0, :, 3, 12].argmax() == 10
    assert t.depth_cube[0, 5, 12, 3] == pytest.approx(1.0)
    assert t.depth_cube[0, 8, 8, 8] == pytest.approx(1.0)
    assert 0 <= t.depth_cube.min() and t.depth_cube.max() <= 1.0
    # Ordinal: at the r_wrist pixel d = 10 -> P(d > c) labels are 1 for c < 10 and 0 for c >= 10.
    assert t.ordinal_mask[0, 0, 3, 12] == 1
    assert t.ordinal_labels[0, :, 3, 12].tolist() == [1.0] * 10 + [0.0] * 6
    assert t.ordinal_labels[0, :, 12, 3].tolist() == [1.0] * 5 + [0.0] * 11
    # far from every joint the depth is undefined
    assert t.ordinal_mask[0, 0, 0, 15] == 0 and t.ordinal_labels[0, :, 0, 15].sum() == 0


def test_several_joints_in_one_channel_take_the_max() -> None:
    # Two joints at the same depth and adjacent pixels: both blobs in one channel, peaks stay at 1.
    t, _ = make_one({11: 300.0, 12: 300.0}, grid_xy={11: (4.0, 4.0), 12: (6.0, 4.0)})
    ch = t.depth_cube[0, 10]
    assert ch[4, 4] == pytest.approx(1.0) and ch[4, 6] == pytest.approx(1.0)
    assert ch[4, 5] == pytest.approx(math.exp(-1 / (2 * CFG.joint_sigma**2)))


def test_2d_only_sample_has_no_depth_targets() -> None:
    t, _ = make_one({}, has_3d=0.0)
    assert t.has_3d.tolist() == [0.0]
    assert t.depth_weight.sum() == 0 and t.depth_cube.sum() == 0 and t.ordinal_mask.sum() == 0
    assert t.joints_3d.abs().sum() == 0
    assert t.joint_heatmaps.amax(dim=(2, 3)).min() > 0.7  # 2D targets still there (off-grid peaks)
    assert t.joint_weight.sum() == NUM_JOINTS and t.bone_weight.sum() == len(BONES)


def test_joints_outside_crop_or_unlabelled_are_unweighted() -> None:
    cfg = CFG
    kp = grid_points_to_crop(torch.full((1, NUM_JOINTS, 2), 8.0))
    kp[0, 3] = torch.tensor([-20.0, 10.0])  # r_ankle outside the crop
    vis = torch.ones(1, NUM_JOINTS)
    vis[0, 13] = 0  # l_wrist not annotated
    t = make_targets(kp, vis, upright_pose()[None], torch.ones(1), cfg)
    assert t.joint_weight[0, 3] == 0 and t.joint_weight[0, 13] == 0 and t.joint_weight.sum() == NUM_JOINTS - 2
    assert t.joint_heatmaps[0, 3].sum() == 0 and t.joint_heatmaps[0, 13].sum() == 0
    ankle_bone = BONES.index((2, 3))
    assert t.bone_weight[0, ankle_bone] == 0 and t.bone_heatmaps[0, ankle_bone].sum() == 0
    assert t.depth_weight[0, 3] == 1  # its depth is still known


def test_batched_shapes_dtypes_ranges() -> None:
    cfg = ModelConfig()
    b = 3
    kp = torch.rand(b, NUM_JOINTS, 2) * cfg.input_size
    j3 = upright_pose()[None].repeat(b, 1, 1) + torch.randn(b, NUM_JOINTS, 3) * 20
    t = make_targets(kp, torch.ones(b, NUM_JOINTS, dtype=torch.bool), j3.double(), torch.tensor([1, 0, 1]), cfg, 3.0)
    h, c, k = cfg.heatmap_size, cfg.depth_bins, len(BONES)
    expected = {
        "joint_heatmaps": (b, NUM_JOINTS, h, h), "bone_heatmaps": (b, k, h, h), "depth_cube": (b, c, h, h),
        "ordinal_labels": (b, c, h, h), "ordinal_mask": (b, 1, h, h), "uvz": (b, NUM_JOINTS, 3),
        "joint_weight": (b, NUM_JOINTS), "bone_weight": (b, k), "depth_weight": (b, NUM_JOINTS),
        "joints_3d": (b, NUM_JOINTS, 3), "has_3d": (b,),
    }
    for name, shape in expected.items():
        value = getattr(t, name)
        assert value.shape == shape, name
        assert value.dtype == torch.float32, name
        assert torch.isfinite(value).all(), name
    for name in ("joint_heatmaps", "bone_heatmaps", "depth_cube", "ordinal_labels", "ordinal_mask"):
        value = getattr(t, name)
        assert value.min() >= 0 and value.max() <= 1, name
    assert set(t.ordinal_labels.unique().tolist()) <= {0.0, 1.0}
    assert t.joints_3d[:, ROOT].abs().max() == 0
    assert torch.allclose(geodesic_length(t.joints_3d[[0, 2]]), torch.tensor(cfg.geodesic_mm).expand(2))
