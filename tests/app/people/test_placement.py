"""Root placement: exact recovery of a known translation, and the bounding-box fallback."""

import numpy as np

from app.people.placement import box_root, place_root
from app.types import CameraIntrinsics


def _skeleton_mm(rng: np.random.Generator) -> np.ndarray:
    joints = rng.normal(scale=300.0, size=(17, 3))
    joints[:, 1] *= 2.5  # people are taller than wide
    return joints - joints[0]


def _project(points_mm: np.ndarray, camera: CameraIntrinsics) -> np.ndarray:
    u = camera.fx * points_mm[:, 0] / points_mm[:, 2] + camera.cx
    v = camera.fy * points_mm[:, 1] / points_mm[:, 2] + camera.cy
    return np.column_stack([u, v])


def test_least_squares_recovers_the_true_root_exactly():
    rng = np.random.default_rng(0)
    camera = CameraIntrinsics.from_fov(1280, 720, 60.0)
    for root in ([0.0, 0.0, 3000.0], [-800.0, 200.0, 2500.0], [1500.0, -300.0, 6000.0]):
        joints = _skeleton_mm(rng)
        uv = _project(joints + np.array(root), camera)
        keypoints = np.column_stack([uv, np.ones(17)])
        box = np.array([*uv.min(0), *uv.max(0)])
        np.testing.assert_allclose(place_root(keypoints, joints, camera, box), root, atol=1e-6)


def test_noisy_keypoints_give_a_close_root():
    rng = np.random.default_rng(1)
    camera = CameraIntrinsics.from_fov(1280, 720, 60.0)
    joints = _skeleton_mm(rng)
    root = np.array([300.0, 100.0, 4000.0])
    uv = _project(joints + root, camera) + rng.normal(scale=2.0, size=(17, 2))
    keypoints = np.column_stack([uv, np.ones(17)])
    estimate = place_root(keypoints, joints, camera, np.array([*uv.min(0), *uv.max(0)]))
    assert abs(estimate[2] - root[2]) < 0.03 * root[2]  # 2 px noise: within 3% of the depth


def test_low_confidence_falls_back_to_the_box():
    camera = CameraIntrinsics.from_fov(640, 480, 60.0)
    joints = np.zeros((17, 3))
    joints[:, 1] = np.linspace(-900, 800, 17)  # 1.7 m tall
    box = np.array([300.0, 100.0, 340.0, 270.0])  # 170 px tall
    keypoints = np.zeros((17, 3))  # nothing confident
    root = place_root(keypoints, joints, camera, box)
    np.testing.assert_allclose(root, box_root(joints, camera, box))
    assert abs(root[2] - camera.fy * 1700.0 / 170.0) < 1e-6  # Tz = f * H / h
    assert abs(root[0] - 0.0) < 1e-6  # the box is centred horizontally


def test_fov_gives_the_stated_focal_length():
    camera = CameraIntrinsics.from_fov(640, 480, 90.0)
    assert abs(camera.fx - 320.0) < 1e-9 and camera.cx == 320.0 and camera.cy == 240.0


def test_a_pixel_ray_meets_the_floor_where_the_point_is():
    from app.people.placement import ray_onto_plane

    camera = CameraIntrinsics.from_fov(1280, 720, 60.0)
    normal = np.array([0.0, -np.cos(0.3), -np.sin(0.3)])  # up, for a camera pitched 0.3 rad down
    offset = 1600.0  # the camera 1.6 m above the plane
    point = np.array([400.0, 0.0, 4000.0])
    point = point - (normal @ point + offset) * normal  # onto the plane
    uv = camera.fx * point[:2] / point[2] + np.array([camera.cx, camera.cy])
    np.testing.assert_allclose(ray_onto_plane(uv, camera, normal, offset), point, atol=1e-6)
    # A pixel above the horizon never meets the floor in front of the camera.
    assert ray_onto_plane(np.array([640.0, 0.0]), camera, normal, offset) is None
