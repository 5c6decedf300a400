"""Tests of model/data/multiview.py: the Qualisys calibration reader, DLT triangulation and cross-view association."""

import os

import numpy as np
import pytest

from model.data.multiview import CalibrationError, Camera, associate, read_qca, reprojection_errors, triangulate

import Pose2Sim as pose2sim
CALIB = os.path.join(os.path.dirname(pose2sim.__file__), "Demo_MultiPerson", "calibration", "Calib.qca.txt")


@pytest.fixture(scope="module")
def cameras() -> list[Camera]:
    return read_qca(CALIB)


def _person(offset: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A rough standing person (17, 3) in world mm (z up in the Pose2Sim world), jittered."""
    base = np.array([[0, 0, 950], [-100, 0, 950], [-100, 0, 500], [-100, 0, 80], [100, 0, 950], [100, 0, 500],
                     [100, 0, 80], [0, 0, 1200], [0, 0, 1450], [0, -80, 1600], [0, 0, 1750], [180, 0, 1420],
                     [200, 0, 1150], [210, 0, 900], [-180, 0, 1420], [-200, 0, 1150], [-210, 0, 900]], float)
    return base + offset + rng.normal(0, 10, base.shape)


def test_read_qca_cameras(cameras):
    assert [c.name for c in cameras] == ["cam01", "cam02", "cam03", "cam04"]
    assert all(c.size == (1088, 1920) for c in cameras)
    # cam01's centre is the transform's x, y, z in the file (mm).
    np.testing.assert_allclose(cameras[0].center, [1460.2323709212087, -1909.1590482454608, 1896.5058524092062],
                               atol=1e-6)
    for c in cameras:
        np.testing.assert_allclose(c.R @ c.R.T, np.eye(3), atol=1e-9)
        assert np.linalg.det(c.R) == pytest.approx(1.0)
        # The capture volume (world origin, where the people stand) is in front of every camera
        # and projects inside the portrait frame.
        assert c.to_camera(np.array([0.0, 0.0, 1000.0]))[2] > 1000.0
        u, v = c.project(np.array([0.0, 0.0, 1000.0]))
        assert 0 < u < 1088 and 0 < v < 1920


def test_read_qca_bad_file(tmp_path):
    bad = tmp_path / "broken.qca.txt"
    bad.write_text("<calibration><cameras></cameras>")
    with pytest.raises(CalibrationError, match="broken.qca.txt"):
        read_qca(str(bad))
    empty = tmp_path / "empty.qca.txt"
    empty.write_text("<calibration><cameras></cameras></calibration>")
    with pytest.raises(CalibrationError, match="no cameras"):
        read_qca(str(empty))


def test_triangulate_recovers_points(cameras):
    rng = np.random.default_rng(0)
    X = _person(np.array([0.0, 0.0, 0.0]), rng)
    pts = np.stack([c.project(X) for c in cameras])
    w = np.ones(pts.shape[:2])
    np.testing.assert_allclose(triangulate(pts, w, cameras), X, atol=1e-3)
    # Two views are enough; a zero-weight or NaN view is ignored; one view gives NaN.
    w2 = w.copy()
    w2[1:3] = 0
    np.testing.assert_allclose(triangulate(pts, w2, cameras), X, atol=1e-3)
    pts_nan = pts.copy()
    pts_nan[0, 5] = np.nan
    w1 = w.copy()
    w1[1:, 5] = 0
    out = triangulate(pts_nan, w1, cameras)
    assert np.isnan(out[5]).all() and np.isfinite(np.delete(out, 5, axis=0)).all()
    assert np.nanmax(reprojection_errors(X, pts, cameras)) < 1e-6


def test_triangulate_weights_favour_confident_views(cameras):
    rng = np.random.default_rng(1)
    X = _person(np.zeros(3), rng)
    pts = np.stack([c.project(X) for c in cameras])
    noisy = pts.copy()
    noisy[3] += 40.0  # one view 40 px off
    trust_all = triangulate(noisy, np.ones(pts.shape[:2]), cameras)
    w = np.ones(pts.shape[:2])
    w[3] = 0.05
    trust_good = triangulate(noisy, w, cameras)
    err = lambda Y: np.linalg.norm(Y - X, axis=-1).mean()
    assert err(trust_good) < 0.3 * err(trust_all)


def test_associate_two_people_and_a_stray(cameras):
    rng = np.random.default_rng(2)
    a = _person(np.array([-600.0, 0.0, 0.0]), rng)
    b = _person(np.array([600.0, 300.0, 0.0]), rng)
    poses = []
    for v, c in enumerate(cameras):
        people = [np.column_stack([c.project(p) + rng.normal(0, 3, (17, 2)), np.ones(17)]) for p in (a, b)]
        if v == 1:
            people = people[::-1]  # the order per view is arbitrary
        if v == 2:
            people = people[:1]  # one view misses person b
        if v == 3:  # a stray pose only this view sees (like the third person in the background)
            people.append(np.column_stack([np.full((17, 2), 100.0) + rng.normal(0, 30, (17, 2)), np.ones(17)]))
        poses.append(np.stack(people))
    found = associate(poses, cameras, max_error_px=30.0)
    assert len(found) == 2
    by_pelvis = sorted(found, key=lambda f: f.joints_world[0, 0])
    np.testing.assert_array_equal(by_pelvis[0].candidate, [0, 1, 0, 0])
    np.testing.assert_array_equal(by_pelvis[1].candidate, [1, 0, -1, 1])
    for f, truth in zip(by_pelvis, (a, b)):
        assert np.linalg.norm(f.joints_world - truth, axis=-1).mean() < 30.0
        assert f.median_error < 10.0


def test_associate_rejects_a_left_right_swapped_view(cameras):
    from model.net.skeleton import FLIP_INDEX

    rng = np.random.default_rng(3)
    a = _person(np.zeros(3), rng)
    poses = [np.column_stack([c.project(a), np.ones(17)])[None] for c in cameras]
    poses[2] = poses[2][:, list(FLIP_INDEX)]  # one view swapped left and right
    found = associate(poses, cameras, max_error_px=30.0)
    assert len(found) == 1
    np.testing.assert_array_equal(found[0].candidate, [0, 0, -1, 0])
