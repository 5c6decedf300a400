"""Crop/augmentation: each transform puts a keypoint (and the image content under it) where expected."""

import numpy as np
import pytest

from model.net.skeleton import FLIP_INDEX, JOINT_NAMES, NUM_JOINTS
from model.data.augment import (
    AugmentConfig, AugmentParams, augment_sample, crop_matrix, sample_params, transform_joints_3d,
    transform_points,
)
from model.data.datasets.common import crop_box, project

CENTRE, SIZE, OUT = np.array([100.0, 100.0]), np.array([200.0, 200.0]), (100, 100)
L_WRIST, R_WRIST = JOINT_NAMES.index("l_wrist"), JOINT_NAMES.index("r_wrist")


def _image_with_dot(x: int, y: int) -> np.ndarray:
    image = np.zeros((200, 200, 3), np.uint8)
    image[y - 3:y + 4, x - 3:x + 4] = 255
    return image


def _bright_centroid(crop: np.ndarray) -> np.ndarray:
    ys, xs = np.nonzero(crop[:, :, 0] > 127)
    return np.array([xs.mean(), ys.mean()])


def _labels(point: tuple[float, float]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    joints_2d = np.full((NUM_JOINTS, 2), 100.0)
    joints_2d[L_WRIST] = point
    joints_3d = np.zeros((NUM_JOINTS, 3))
    joints_3d[L_WRIST] = [100.0, 0.0, 50.0]
    return joints_2d, np.ones(NUM_JOINTS, bool), joints_3d, np.ones(NUM_JOINTS, bool)


@pytest.mark.parametrize("params, expected_2d, expected_3d, moved_to", [
    (AugmentParams(), (75.0, 50.0), (100.0, 0.0, 50.0), L_WRIST),  # plain crop: scale 0.5
    (AugmentParams(scale=2.0), (62.5, 50.0), (100.0, 0.0, 50.0), L_WRIST),  # twice the box: 0.25
    (AugmentParams(rotation_deg=90.0), (50.0, 75.0), (0.0, 100.0, 50.0), L_WRIST),  # right -> below
    (AugmentParams(flip=True), (25.0, 50.0), (-100.0, 0.0, 50.0), R_WRIST),  # mirrored, now 'right'
    (AugmentParams(flip=True, rotation_deg=90.0), (50.0, 25.0), (0.0, -100.0, 50.0), R_WRIST),
])
def test_each_transform_moves_keypoint_and_image_together(params, expected_2d, expected_3d, moved_to):
    image = _image_with_dot(150, 100)
    joints_2d, valid_2d, joints_3d, valid_3d = _labels((150.0, 100.0))
    crop, out_2d, out_valid, out_3d, _ = augment_sample(
        image, CENTRE, SIZE, joints_2d, valid_2d, joints_3d, valid_3d, OUT, params)
    assert crop.shape == (100, 100, 3) and crop.dtype == np.uint8
    np.testing.assert_allclose(out_2d[moved_to], expected_2d, atol=1e-6)
    np.testing.assert_allclose(out_3d[moved_to], expected_3d, atol=1e-6)
    np.testing.assert_allclose(_bright_centroid(crop), expected_2d, atol=1.0)
    assert out_valid[moved_to]


def test_flip_swaps_left_and_right_labels():
    joints_2d = np.stack([np.arange(NUM_JOINTS, dtype=float) + 60.0, np.full(NUM_JOINTS, 100.0)], axis=1)
    joints_3d = np.stack([np.arange(NUM_JOINTS, dtype=float)] * 3, axis=1)
    valid = np.arange(NUM_JOINTS) % 3 != 0
    _, out_2d, out_valid, out_3d, out_valid_3d = augment_sample(
        np.zeros((200, 200, 3), np.uint8), CENTRE, SIZE, joints_2d, valid, joints_3d, valid, OUT,
        AugmentParams(flip=True))
    for j in range(NUM_JOINTS):
        source = FLIP_INDEX[j]
        assert out_2d[j, 0] == pytest.approx(50.0 - 0.5 * (joints_2d[source, 0] - 100.0))
        assert out_3d[j, 0] == pytest.approx(-joints_3d[source, 0])
        assert out_valid[j] == valid[source] and out_valid_3d[j] == valid[source]


def test_rotation_and_flip_keep_2d_and_3d_consistent():
    # A person whose box is centred on the principal point: projecting the augmented 3D joints with
    # the crop's camera (focal x scale, principal point at the crop centre) gives the augmented 2D.
    rng = np.random.default_rng(0)
    focal, centre = np.array([1000.0, 1000.0]), np.array([320.0, 240.0])
    root = np.array([0.0, 0.0, 4000.0])
    joints_3d = rng.normal(0.0, 250.0, (NUM_JOINTS, 3))
    joints_3d[0] = 0.0
    joints_2d = project(joints_3d + root, focal, centre)
    size = np.array([800.0, 800.0])
    for params in (AugmentParams(rotation_deg=25.0), AugmentParams(rotation_deg=-30.0, flip=True, scale=1.2)):
        matrix = crop_matrix(centre, size, (256, 256), params)
        points = transform_points(matrix, joints_2d)
        moved = transform_joints_3d(joints_3d, params)
        s = 256 / (size[0] * params.scale)
        np.testing.assert_allclose(points, project(moved + root, focal * s, np.array([128.0, 128.0])), atol=1e-6)


def test_joints_outside_crop_become_invalid_and_colour_and_occlusion():
    joints_2d, valid_2d, joints_3d, valid_3d = _labels((150.0, 100.0))
    joints_2d[0] = [-50.0, 100.0]  # left of the crop box
    image = np.full((200, 200, 3), 100, np.uint8)
    params = AugmentParams(color_gain=(0.5, 1.0, 1.5), occlusion_xywh=(10, 20, 30, 15))
    crop, _, out_valid, _, out_valid_3d = augment_sample(
        image, CENTRE, SIZE, joints_2d, valid_2d, joints_3d, valid_3d, OUT, params, np.random.default_rng(1))
    assert not out_valid[0] and out_valid[1:].all() and out_valid_3d.all()
    assert tuple(crop[90, 90]) == (50, 100, 150)  # per-channel gain
    patch = crop[20:35, 10:40]
    assert patch.std() > 30  # noise, not the flat image
    assert tuple(crop[50, 60]) == (50, 100, 150)  # outside the patch untouched


def test_crop_box_keeps_aspect_and_pads():
    centre, size = crop_box(np.array([10.0, 20.0, 50.0, 200.0]), aspect=1.0, padding=1.25)
    np.testing.assert_allclose(centre, [35.0, 120.0])
    np.testing.assert_allclose(size, [250.0, 250.0])
    _, size = crop_box(np.array([0.0, 0.0, 300.0, 100.0]), aspect=0.75, padding=1.0)
    np.testing.assert_allclose(size, [300.0, 400.0])


def test_sampled_parameters_stay_in_range():
    cfg = AugmentConfig()
    rng = np.random.default_rng(3)
    draws = [sample_params(cfg, rng, (256, 256)) for _ in range(400)]
    assert all(abs(d.rotation_deg) <= 30.0 for d in draws)
    assert all(0.75 <= d.scale <= 1.25 for d in draws)
    assert 0.4 < np.mean([d.flip for d in draws]) < 0.6
    assert 0.3 < np.mean([d.occlusion_xywh is not None for d in draws]) < 0.7
    for d in draws:
        if d.occlusion_xywh is not None:
            x, y, w, h = d.occlusion_xywh
            assert 0 <= x and 0 <= y and x + w <= 256 and y + h <= 256
    assert sample_params(AugmentConfig(enabled=False), rng, (256, 256)) == AugmentParams()
