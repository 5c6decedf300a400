"""Tests of the teacher-offset fit (model/data/synth/offsets.py) on simulated teacher outputs with known offsets."""

import numpy as np

from model.data.synth.labels import apply_offsets, derive
from model.data.synth.offsets import fit, projection_jacobian
from model.data.synth.poses import rot


def _record(rng, truth):
    K = np.array([[350.0, 0, 128], [0, 350.0, 128], [0, 0, 1]])
    cam = rng.normal([0, 0, 3500], [250, 450, 80], (17, 3))
    derive(cam, cam[9] + [0, -60.0, 0])
    frames = np.stack([rot(rng.normal(size=3), rng.uniform(0, 180)) for _ in range(17)])
    moved = apply_offsets(cam, frames, truth, 1.0)  # where the teacher's definition puts the joints
    uv = moved[:, :2] / moved[:, 2:] @ K[:2, :2].T + K[:2, 2]
    teacher = np.column_stack([uv + rng.normal(0, 1.0, uv.shape), np.full(17, 0.9)])
    if rng.random() < 0.1:  # a gross teacher mistake: left and right swapped
        teacher[[11, 12, 13, 14, 15, 16]] = teacher[[14, 15, 16, 11, 12, 13]]
    label = cam[:, :2] / cam[:, 2:] @ K[:2, :2].T + K[:2, 2]
    return {"found": True, "teacher": teacher, "label": label, "cam": cam, "K": K, "frames": frames,
            "inside": np.ones(17, bool), "size": 180.0}


def test_fit_recovers_known_offsets_despite_teacher_mistakes():
    rng = np.random.default_rng(0)
    truth = np.zeros((17, 3))
    for j in (1, 2, 3, 4, 5, 6, 9, 10, 11, 12, 13, 14, 15, 16):
        truth[j] = rng.normal(0, 20, 3)
    report = fit([_record(rng, truth) for _ in range(300)] + [{"found": False}] * 5)
    got = np.asarray(report["offsets_mm"])
    for j in (1, 2, 3, 4, 5, 6, 9, 10, 11, 12, 13, 14, 15, 16):
        assert np.linalg.norm(got[j] - truth[j]) < 6.0, (j, got[j], truth[j])
    assert report["renders"] == 305 and report["teacher_found"] == 300
    assert report["joints"]["l_wrist"]["median_px_after"] < report["joints"]["l_wrist"]["median_px_before"]


def test_projection_jacobian_matches_finite_differences():
    K = np.array([[500.0, 0, 100], [0, 480.0, 90], [0, 0, 1]])
    p = np.array([120.0, -340.0, 2900.0])
    J = projection_jacobian(p, K)
    proj = lambda q: q[:2] / q[2] @ K[:2, :2].T + K[:2, 2]  # noqa: E731
    for axis in range(3):
        d = np.zeros(3)
        d[axis] = 1e-3
        assert np.allclose((proj(p + d) - proj(p - d)) / 2e-3, J[:, axis], atol=1e-6)
