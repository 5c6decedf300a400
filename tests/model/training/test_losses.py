"""Losses: zero at the targets, hand-computed values, ordinal distance ordering, 2D-only masking."""

import math

import pytest
import torch

from model.net.skeleton import NUM_JOINTS
from model.net.config import ModelConfig
from model.training.losses import LOSS_NAMES, cascade_loss, heatmap_loss, ordinal_loss, pose_loss, uvz_loss
from model.net.network import CascadeOutput
from model.data.targets import Targets, make_targets

CFG = ModelConfig.tiny()


def batch_targets(has_3d=(1.0, 0.0)) -> Targets:
    g = torch.Generator().manual_seed(0)
    b = len(has_3d)
    kp = 8 + torch.rand(b, NUM_JOINTS, 2, generator=g) * (CFG.input_size - 16)
    joints = torch.randn(b, NUM_JOINTS, 3, generator=g) * 250
    return make_targets(kp, torch.ones(b, NUM_JOINTS), joints, torch.tensor(has_3d), CFG, epoch=0.0)


def perfect_output(t: Targets) -> CascadeOutput:
    """Predictions equal to the targets (ordinal logits saturated toward the labels)."""
    return CascadeOutput(
        t.bone_heatmaps.clone(), t.joint_heatmaps.clone(), t.depth_cube.clone(),
        40.0 * (2 * t.ordinal_labels - 1), t.uvz.clone(), t.joints_3d.clone(),
    )


def test_all_terms_vanish_at_the_targets() -> None:
    t = batch_targets()
    total, logs = cascade_loss(perfect_output(t), t, CFG)
    assert set(logs) == set(LOSS_NAMES) | {"total"}
    assert all(isinstance(v, float) for v in logs.values())
    assert total.item() == pytest.approx(0.0, abs=1e-6)


def test_heatmap_loss_hand_value() -> None:
    target = torch.zeros(2, 3, 4, 4)
    target[0, 1, 2, 2] = 1.0
    target[1, 0] = 0.5
    pred = torch.zeros_like(target)
    w = torch.ones(2, 3)
    # channel sums of squared error: 1 (one pixel) and 16 * 0.25 = 4; mean over 6 channels
    assert heatmap_loss(pred, target, w).item() == pytest.approx(5 / 6)
    w[1, 0] = 0  # an unlabelled channel is ignored
    assert heatmap_loss(pred, target, w).item() == pytest.approx(1 / 5)


def test_ordinal_loss_grows_with_distance_from_the_true_bin() -> None:
    c, d = 16, 10
    labels = (torch.arange(c) < d).float().view(1, c, 1, 1)  # [d > channel]
    mask = torch.ones(1, 1, 1, 1)
    losses = []
    for k in range(c):
        # a prediction that puts the depth at bin k: P(d > c) high for c < k, low above
        logits = torch.where(torch.arange(c) < k, 2.0, -2.0).view(1, c, 1, 1)
        losses.append(ordinal_loss(logits, labels, mask).item())
    best = losses.index(min(losses))
    assert best == d
    assert all(losses[i] > losses[i + 1] for i in range(d))  # strictly better approaching d from below
    assert all(losses[i] < losses[i + 1] for i in range(d, c - 1))  # and worse moving away above
    # hand value: a 50/50 prediction costs log 2 per channel
    assert ordinal_loss(torch.zeros(1, c, 1, 1), labels, mask).item() == pytest.approx(math.log(2))
    assert ordinal_loss(torch.zeros(1, c, 1, 1), labels, torch.zeros(1, 1, 1, 1)).item() == 0.0


def test_uvz_and_pose_hand_values() -> None:
    target = torch.zeros(1, 2, 3)
    pred = torch.tensor([[[1.0, 2.0, 3.0], [0.0, 0.0, 5.0]]])
    jw = torch.ones(1, 2)
    # u,v: (1 + 2 + 0) / 2 joints = 1.5; z: (3 + 5) / 2 = 4
    assert uvz_loss(pred, target, jw, torch.ones(1, 2)).item() == pytest.approx(5.5)
    assert uvz_loss(pred, target, jw, torch.zeros(1, 2)).item() == pytest.approx(1.5)
    # pose: per-joint L1 in metres, mean over joints: (600 + 0) / 2 mm -> 0.3
    pred_mm = torch.tensor([[[100.0, -200.0, 300.0], [0.0, 0.0, 0.0]]])
    assert pose_loss(pred_mm, torch.zeros(1, 2, 3), torch.ones(1)).item() == pytest.approx(0.3)
    assert pose_loss(pred_mm, torch.zeros(1, 2, 3), torch.zeros(1)).item() == 0.0


def test_2d_only_sample_supervises_heatmaps_and_uv_only() -> None:
    t = batch_targets(has_3d=(1.0, 0.0))
    base = perfect_output(t)
    _, ref = cascade_loss(base, t, CFG)

    # Everything depth-related of the 2D-only sample (index 1) is free.
    out = base._replace(
        depth_cube=base.depth_cube.clone().index_fill_(0, torch.tensor([1]), 0.7),
        ordinal_logits=base.ordinal_logits.clone().index_fill_(0, torch.tensor([1]), 3.0),
        joints_3d=base.joints_3d.clone().index_fill_(0, torch.tensor([1]), 500.0),
        uvz=base.uvz.clone(),
    )
    out.uvz[1, :, 2] += 7.0
    _, logs = cascade_loss(out, t, CFG)
    assert logs == pytest.approx(ref, abs=1e-6)

    # Its u, v and heatmaps are supervised.
    moved = base._replace(uvz=base.uvz.clone(), joint_heatmaps=base.joint_heatmaps.clone(), bone_heatmaps=base.bone_heatmaps.clone())
    moved.uvz[1, :, 0] += 2.0
    moved.joint_heatmaps[1] += 0.1
    moved.bone_heatmaps[1] += 0.1
    _, logs = cascade_loss(moved, t, CFG)
    assert logs["uvz"] > ref["uvz"] + 0.5 and logs["joint"] > ref["joint"] and logs["bone"] > ref["bone"]

    # The same depth errors on the 3D sample do count.
    out3 = base._replace(joints_3d=base.joints_3d.clone().index_fill_(0, torch.tensor([0]), 500.0))
    _, logs = cascade_loss(out3, t, CFG)
    assert logs["pose"] > 0.1


def test_loss_weights_scale_the_total() -> None:
    t = batch_targets()
    out = perfect_output(t)._replace(uvz=t.uvz + 1.0)
    total1, logs = cascade_loss(out, t, CFG)
    total2, _ = cascade_loss(out, t, CFG.replace(w_uvz=3.0))
    assert logs["uvz"] == pytest.approx(3.0)  # u + v + z errors of 1 each
    assert total2.item() == pytest.approx(3 * total1.item())
    assert cascade_loss(out, t, CFG.replace(w_uvz=0.0))[0].item() == pytest.approx(0.0, abs=1e-6)
