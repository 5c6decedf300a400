"""Tests of model/data/mocap.py: DeepMimic clips through pybullet's forward kinematics, and virtual cameras."""

import numpy as np
import pytest

from model.net.skeleton import BONES, JOINT_NAMES
from model.data.mocap import ViewConfig, crop_uv, humanoid_to_camera_axes, load_clip, motion_files, random_views



@pytest.fixture(scope="module")
def walk() -> np.ndarray:
    path = [p for p in motion_files() if p.endswith("humanoid3d_walk.txt")][0]
    return load_clip(path)


def test_all_clips_found():
    names = [p.rsplit("humanoid3d_", 1)[1] for p in motion_files()]
    assert len(names) == 15 and "walk.txt" in names and "backflip.txt" in names


def test_walk_is_a_rigid_human(walk):
    assert walk.ndim == 3 and walk.shape[1:] == (17, 3) and len(walk) > 30
    lengths = np.stack([np.linalg.norm(walk[:, c] - walk[:, p], axis=-1) for p, c in BONES], axis=1)
    # Forward kinematics of a rigid model: every bone keeps its length (mm) in every frame.
    assert lengths.std(axis=0).max() < 1.0
    named = dict(zip([f"{JOINT_NAMES[p]}-{JOINT_NAMES[c]}" for p, c in BONES], lengths[0]))
    assert 380 < named["r_hip-r_knee"] < 460 and 380 < named["l_knee-l_ankle"] < 460  # thigh, shin
    assert named["r_hip-r_knee"] == pytest.approx(named["l_hip-l_knee"], abs=1.0)
    height = walk[0, :, 1].max() - walk[0, :, 1].min()  # y is up in the humanoid frame
    assert 1400 < height < 1800
    # The pelvis moves forward (+x) while walking, the head stays above the ankles.
    assert walk[-1, 0, 0] - walk[0, 0, 0] > 300
    assert (walk[:, 10, 1] > walk[:, 3, 1] + 1200).all()


def test_right_side_is_the_persons_right(walk):
    # Facing +x with y up, the person's right is forward x up = +z: a mirrored skeleton fails this.
    forward, up = np.array([1.0, 0, 0]), np.array([0, 1.0, 0])
    right = np.cross(forward, up)
    assert ((walk[:, 1] - walk[:, 4]) @ right > 100).all()  # r_hip - l_hip
    assert ((walk[:, 14] - walk[:, 11]) @ right > 200).all()  # r_shoulder - l_shoulder


def test_random_views_project_consistently(walk):
    rng = np.random.default_rng(0)
    world = humanoid_to_camera_axes(walk)
    uv, cam = random_views(world, rng, ViewConfig())
    assert uv.shape == (len(walk), 17, 2) and cam.shape == (len(walk), 17, 3)
    assert (cam[..., 2] > 1000).all()  # in front of the camera
    # Root-relative shape is preserved (a rotation): pairwise distances equal the world's.
    d_world = np.linalg.norm(world[:, 1] - world[:, 4], axis=-1)
    d_cam = np.linalg.norm(cam[:, 1] - cam[:, 4], axis=-1)
    np.testing.assert_allclose(d_world, d_cam, atol=1e-6)
    # Camera y is down: the head is above (smaller y than) the ankles in most views (elevation < 35 deg).
    assert ((cam[:, 10, 1] < cam[:, 3, 1]).mean()) > 0.95
    crop = crop_uv(uv, 192, 1.25)
    lo, hi = crop.min(1), crop.max(1)
    np.testing.assert_allclose((lo + hi) / 2, 96.0, atol=1e-6)  # centred
    np.testing.assert_allclose((hi - lo).max(-1), 192 / 1.25, atol=1e-6)  # larger side = crop / padding


def test_bad_motion_file(tmp_path):
    bad = tmp_path / "humanoid3d_bad.txt"
    bad.write_text('{"Frames": [[1, 2, 3]]}')
    with pytest.raises(ValueError, match="humanoid3d_bad.txt"):
        load_clip(str(bad))
