"""Constant bones per track: the robust length estimate and the fit that keeps the lengths exactly."""

import numpy as np
import pytest

from app.motion.bones import BoneConfig, BoneLengthEstimator, bone_lengths, bone_mask, fit_to_lengths, symmetrise
from model.net.skeleton import FLIP_PAIRS, NUM_JOINTS, PARENTS
from tests.app.motion.walker import TRUE_LENGTHS, noisy, walk

FPS = 30.0


def _estimate(rel: np.ndarray, config: BoneConfig = BoneConfig()) -> list[np.ndarray]:
    estimator = BoneLengthEstimator(config)
    return [estimator.update(bone_lengths(j), f / FPS) for f, j in enumerate(rel)]


def test_fitted_bones_are_exactly_constant_and_close_to_the_truth():
    w = walk(frames=150)
    rel, _ = noisy(w.camera, joint_noise_mm=15.0, root_noise_mm=0.0, bone_scale_noise=0.05)
    raw = bone_lengths(rel)
    assert np.median(raw[:, 1:].std(0) / TRUE_LENGTHS[1:]) > 0.05  # the input bones really vary
    estimates = _estimate(rel)
    final = estimates[-1]
    fitted = np.stack([fit_to_lengths(j, final) for j in rel])
    lengths = bone_lengths(fitted)
    assert np.abs(lengths - final).max() < 1e-9  # constant by construction, every frame
    # Noise inflates lengths (|bone + noise| > |bone|) by about noise^2 / length: a few mm at most here.
    assert np.abs(final - TRUE_LENGTHS)[1:].max() < 12.0, final - TRUE_LENGTHS
    # The fit stays near the network's joints: well under the per-joint noise plus the length correction.
    assert np.linalg.norm(fitted - rel, axis=-1).mean() < 35.0


def test_left_and_right_share_a_length():
    w = walk(frames=40)
    rel, _ = noisy(w.camera, 10.0, 0.0)
    final = _estimate(rel)[-1]
    for a, b in FLIP_PAIRS:
        assert final[a] == final[b]
    assert symmetrise(np.arange(17.0))[1] == symmetrise(np.arange(17.0))[4] == 2.5


def test_outlier_frames_do_not_move_the_estimate():
    """One frame in five has a wild limb (a mis-detection); the robust estimate ignores it."""
    w = walk(frames=150)
    rel, _ = noisy(w.camera, 5.0, 0.0, seed=1)
    wild = rel.copy()
    wild[::5, 13] = wild[::5, 12] + 3.0 * (wild[::5, 13] - wild[::5, 12])  # left forearm three times too long
    clean, dirty = _estimate(rel)[-1], _estimate(wild)[-1]
    assert abs(dirty[13] - clean[13]) < 10.0, (dirty[13], clean[13])
    mean_based = np.mean(bone_lengths(wild)[:, [13, 16]])
    assert abs(mean_based - clean[13]) > 40.0  # a plain mean would have been fooled


def test_estimate_settles_after_warmup_then_changes_slowly():
    w = walk(frames=300)
    rel, _ = noisy(w.camera, 15.0, 0.0, seed=2)
    estimates = np.array(_estimate(rel))
    change = np.abs(np.diff(estimates[90:], axis=0))
    assert change.max() < 1.0 and np.median(change) < 0.1  # a running mean: slow once it has seen 3 s
    assert np.abs(estimates[-1] - estimates[100])[1:].max() < 8.0
    # The bones shrinking for good (a different person, a change of scale): the estimate follows, slowly.
    shrunk = _estimate(np.concatenate([rel, 0.9 * rel[:100], 0.9 * rel, 0.9 * rel]))
    assert abs(shrunk[-1][2] - 0.9 * estimates[-1][2]) < 0.02 * estimates[-1][2]


def test_unseen_bones_are_not_measured():
    keypoints = np.full((NUM_JOINTS, 3), 0.9)
    keypoints[13, 2] = 0.0  # left wrist not seen
    mask = bone_mask(keypoints)
    assert not mask[13] and not mask[0] and mask[12]
    estimator = BoneLengthEstimator()
    lengths = np.array(TRUE_LENGTHS, dtype=float)
    lengths_bad = lengths.copy()
    lengths_bad[13] = 900.0
    for f in range(60):
        estimator.update(lengths_bad if f % 2 else lengths, f / FPS, mask if f % 2 else None)
    assert estimator.lengths[13] == pytest.approx(TRUE_LENGTHS[13])


def test_fit_keeps_exact_lengths_for_any_pose_and_the_root():
    rng = np.random.default_rng(3)
    joints = rng.normal(0, 300, (50, NUM_JOINTS, 3))
    lengths = np.abs(rng.normal(300, 50, NUM_JOINTS))
    fitted = fit_to_lengths(joints, lengths)
    assert np.allclose(bone_lengths(fitted)[:, 1:], lengths[1:], atol=1e-9)
    assert np.allclose(fitted[:, 0], joints[:, 0])
    # A joint sitting on its parent keeps a defined direction (no NaN).
    joints[:, 5] = joints[:, 4]
    assert np.isfinite(fit_to_lengths(joints, lengths)).all()
    # Exact input lengths are left unchanged.
    exact = fit_to_lengths(joints, lengths)
    assert np.allclose(fit_to_lengths(exact, lengths), exact)
    assert len(PARENTS) == NUM_JOINTS


def test_directions_mode_keeps_the_networks_bone_directions_positions_mode_stays_nearer():
    w = walk(frames=60)
    rel, _ = noisy(w.camera, 10.0, 0.0, seed=4, bone_scale_noise=0.05)
    lengths = np.median(bone_lengths(rel), axis=0)
    by_direction = fit_to_lengths(rel, lengths)
    by_position = fit_to_lengths(rel, lengths, keep="positions")
    bones = lambda j: j[:, 1:] - j[:, list(PARENTS)[1:]]
    unit = lambda v: v / np.linalg.norm(v, axis=-1, keepdims=True)
    assert np.abs(unit(bones(by_direction)) - unit(bones(rel))).max() < 1e-9
    assert np.abs(unit(bones(by_position)) - unit(bones(rel))).max() > 0.01
    near = lambda fit: np.linalg.norm(fit - rel, axis=-1).mean()
    assert near(by_position) < near(by_direction)
    assert np.allclose(bone_lengths(by_position)[:, 1:], lengths[1:])
    with pytest.raises(ValueError, match="keep"):
        fit_to_lengths(rel, lengths, keep="angles")
