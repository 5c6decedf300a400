"""Absolute placement: where each person's root (pelvis) is in camera space, from one image.

A backend gives root-relative metric joints X_i = (x_i, y_i, z_i) (mm, camera axes) and their
image points (u_i, v_i). With a pinhole camera (fx, fy, cx, cy) the root translation T = (Tx, Ty, Tz)
must satisfy, for every joint i,

    u_i = fx (x_i + Tx) / (z_i + Tz) + cx,     v_i = fy (y_i + Ty) / (z_i + Tz) + cy,

which is linear in T once multiplied out:

    fx Tx - (u_i - cx) Tz = (u_i - cx) z_i - fx x_i
    fy Ty - (v_i - cy) Tz = (v_i - cy) z_i - fy y_i.

place_root solves these 2N equations by confidence-weighted least squares. Depth is recovered
because the skeleton's metric size is known: Tz ~ f * (metric extent) / (pixel extent). Where too
few joints are confident, it falls back to the bounding box: Tz = fy * H / h_box, with H the
skeleton's vertical extent in mm and h_box the box height in pixels, and (Tx, Ty) from the box
centre. The focal length comes from a stated horizontal field of view (CameraIntrinsics.from_fov).
"""

import numpy as np

from app.types import CameraIntrinsics

MIN_CONFIDENCE = 0.3
MIN_JOINTS = 6
MIN_DEPTH_MM = 300.0


def place_root(
    keypoints_2d: np.ndarray, joints_3d: np.ndarray, camera: CameraIntrinsics, box_xyxy: np.ndarray
) -> np.ndarray:
    """(3,) root position in camera space, mm. keypoints_2d (17, 3) px+conf; joints_3d (17, 3) mm."""
    assert keypoints_2d.shape == (len(joints_3d), 3) and joints_3d.shape[1] == 3
    weights = np.where(keypoints_2d[:, 2] >= MIN_CONFIDENCE, keypoints_2d[:, 2], 0.0)
    if np.count_nonzero(weights) >= MIN_JOINTS:
        root = _least_squares_root(keypoints_2d[:, :2], joints_3d, camera, weights)
        if root is not None:
            return root
    return box_root(joints_3d, camera, box_xyxy)


def _least_squares_root(uv, joints, camera, weights) -> np.ndarray | None:
    du, dv = uv[:, 0] - camera.cx, uv[:, 1] - camera.cy
    n = len(uv)
    a = np.zeros((2 * n, 3))
    b = np.zeros(2 * n)
    a[:n, 0], a[:n, 2], b[:n] = camera.fx, -du, du * joints[:, 2] - camera.fx * joints[:, 0]
    a[n:, 1], a[n:, 2], b[n:] = camera.fy, -dv, dv * joints[:, 2] - camera.fy * joints[:, 1]
    w = np.sqrt(np.concatenate([weights, weights]))
    solution, *_ = np.linalg.lstsq(a * w[:, None], b * w, rcond=None)
    if not np.all(np.isfinite(solution)) or solution[2] < MIN_DEPTH_MM:
        return None
    return solution


def box_root(joints_3d: np.ndarray, camera: CameraIntrinsics, box_xyxy: np.ndarray) -> np.ndarray:
    """Fallback: depth from the box height and the skeleton's vertical extent; x, y from the centre."""
    height_mm = max(float(np.ptp(joints_3d[:, 1])), 500.0)
    height_px = max(float(box_xyxy[3] - box_xyxy[1]), 1.0)
    tz = camera.fy * height_mm / height_px
    u, v = (box_xyxy[0] + box_xyxy[2]) / 2, (box_xyxy[1] + box_xyxy[3]) / 2
    return np.array([(u - camera.cx) * tz / camera.fx, (v - camera.cy) * tz / camera.fy, tz])


def ray_onto_plane(uv: np.ndarray, camera: CameraIntrinsics, normal: np.ndarray, offset: float) -> np.ndarray | None:
    """(3,) camera mm where the camera ray through pixel uv (2,) meets the plane normal . X + offset = 0,
    or None when the ray runs parallel to it or meets it behind the camera (or nearer than MIN_DEPTH_MM).

    With the floor plane of app.motion.floor shifted up by the ankle height, this places an ankle seen
    at uv on the floor: an absolute depth that does not rest on the body's size.
    """
    ray = np.array([(uv[0] - camera.cx) / camera.fx, (uv[1] - camera.cy) / camera.fy, 1.0])
    along = float(np.asarray(normal, dtype=np.float64) @ ray)
    if abs(along) < 1e-9:
        return None
    depth = -float(offset) / along  # the ray's point s * ray (z = s) satisfies normal . (s ray) + offset = 0
    if not np.isfinite(depth) or depth < MIN_DEPTH_MM:
        return None
    return depth * ray
