"""Metrics checked against hand-worked values and independent scipy computations."""

import numpy as np
import pytest
from scipy.linalg import orthogonal_procrustes
from scipy.spatial import procrustes
from scipy.spatial.transform import Rotation

from model.net.skeleton import NUM_JOINTS
from model.training import metrics
from model.data.datasets.common import H36M_ACTION_COLUMNS


def _poses(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.normal(0.0, 300.0, size=(n, NUM_JOINTS, 3))


def test_mpjpe_hand_worked():
    gt = np.zeros((1, 3, 3))
    gt[0, 1] = [100.0, 0.0, 0.0]
    gt[0, 2] = [0.0, 100.0, 0.0]
    pred = gt.copy()
    pred[0, 1] += [3.0, 4.0, 0.0]  # error 5 mm on joint 1
    pred[0, 2] += [0.0, 0.0, 12.0]  # error 12 mm on joint 2
    assert metrics.mpjpe(pred, gt) == pytest.approx((0.0 + 5.0 + 12.0) / 3.0)
    # A global shift is removed by root alignment.
    assert metrics.mpjpe(pred + 1000.0, gt) == pytest.approx(17.0 / 3.0)


def test_pa_mpjpe_removes_similarity_transform():
    gt = _poses(4)
    rotation = Rotation.from_euler("xyz", [30, -50, 110], degrees=True).as_matrix()
    pred = 1.7 * gt @ rotation.T + np.array([10.0, -40.0, 3000.0])
    assert metrics.mpjpe(pred, gt) > 100.0
    assert metrics.pa_mpjpe(pred, gt) == pytest.approx(0.0, abs=1e-6)


def test_procrustes_matches_scipy_disparity():
    gt = _poses(6, seed=1)
    rng = np.random.default_rng(2)
    for n in range(len(gt)):
        rotation = Rotation.random(random_state=n).as_matrix()
        pred = 0.8 * (gt[n] + rng.normal(0.0, 40.0, gt[n].shape)) @ rotation.T + 500.0
        aligned = metrics.procrustes_align(pred[None], gt[n][None])[0]
        # scipy.spatial.procrustes standardises both sets (centred, unit Frobenius norm) and reports
        # the squared residual after aligning the second to the first.
        _, _, disparity = procrustes(gt[n], pred)
        g0 = gt[n] - gt[n].mean(axis=0)
        ours = np.sum(((aligned - gt[n].mean(axis=0)) / np.linalg.norm(g0) - g0 / np.linalg.norm(g0)) ** 2)
        assert ours == pytest.approx(disparity, rel=1e-6, abs=1e-9)


def test_pa_mpjpe_matches_orthogonal_procrustes_reference():
    gt = _poses(5, seed=3)
    rng = np.random.default_rng(4)
    pred = np.stack([
        1.2 * (g + rng.normal(0, 30.0, g.shape)) @ Rotation.random(random_state=i).as_matrix().T
        for i, g in enumerate(gt)
    ])
    reference = []
    for p, g in zip(pred, gt):
        p0, g0 = p - p.mean(0), g - g.mean(0)
        r, s = orthogonal_procrustes(p0, g0)  # r minimises |p0 r - g0|; s = trace of singular values
        assert np.linalg.det(r) > 0  # noisy rotated copies: the best orthogonal map is a rotation
        aligned = (s / np.sum(p0 ** 2)) * p0 @ r + g.mean(0)
        reference.append(np.linalg.norm(aligned - g, axis=-1))
    # Root alignment does not change the Procrustes error; compare per joint.
    reference = np.stack(reference)
    np.testing.assert_allclose(metrics.pa_mpjpe_per_joint(pred, gt), reference, rtol=1e-6, atol=1e-6)


def test_procrustes_never_mirrors():
    gt = _poses(1, seed=5)
    mirrored = gt * np.array([-1.0, 1.0, 1.0])
    aligned = metrics.procrustes_align(mirrored, gt)
    assert metrics.joint_errors(aligned, gt).mean() > 1.0


def test_action_table_hand_worked_and_layout():
    errors = np.array([[10.0, 30.0], [40.0, 40.0], [70.0, 70.0]])  # per-sample means 20, 40, 70
    actions = np.array([0, 0, 14])
    table = metrics.action_means(errors, actions)
    assert table["Dir."] == pytest.approx(30.0)
    assert table["WalkP."] == pytest.approx(70.0)
    assert table["Avg"] == pytest.approx(130.0 / 3.0)
    assert np.isnan(table["Eat"])
    text = metrics.format_action_table([("Ours", table)], "Table 1: MPJPE (mm), Protocol #1.")
    header = text.splitlines()[0].split()
    assert header == ["Methods", *H36M_ACTION_COLUMNS, "Avg"]
    row = text.splitlines()[1].split()
    assert row[0] == "Ours" and row[1] == "30.0" and row[-1] == "43.3" and row[3] == "-"


def test_pck_and_auc_hand_worked():
    errors = np.array([[0.0, 50.0, 100.0, 200.0]])
    assert metrics.pck(errors) == pytest.approx(75.0)
    # thresholds 0, 5, ..., 150 (31): error 0 passes 30 of them, 50 passes 20, 100 passes 10, 200 none.
    assert metrics.auc(errors) == pytest.approx(100.0 * 60.0 / (4 * 31))


def test_bone_rescaling_keeps_directions_and_takes_gt_lengths():
    gt = _poses(2, seed=6)
    pred = metrics.root_align(gt) * 1.3  # same directions, every bone 30 % too long
    rescaled = metrics.rescale_to_gt_bones(pred, metrics.root_align(gt))
    np.testing.assert_allclose(rescaled, metrics.root_align(gt), atol=1e-6)
    errors = metrics.mupots_errors(pred, gt)
    assert errors.shape == (2, 14)
    assert errors.max() < 1e-6
    assert metrics.mupots_errors(pred, gt, rescale_bones=False).max() > 1.0


def test_sequence_table_averages_sequences():
    errors = np.array([[10.0] * 14, [200.0] * 14, [10.0] * 14])
    table = metrics.sequence_pck(errors, ["TS2", "TS2", "TS10"])
    assert list(table) == ["TS2", "TS10", "Avg"]
    assert table["TS2"][0] == pytest.approx(50.0)
    assert table["TS10"][0] == pytest.approx(100.0)
    assert table["Avg"][0] == pytest.approx(75.0)
    text = metrics.format_mupots_table("Ours", table)
    assert text.splitlines()[0].split() == ["Methods", "3DPCK(%)"]
    assert text.splitlines()[1].split() == ["Ours", "75.0"]
