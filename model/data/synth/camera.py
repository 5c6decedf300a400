"""Cameras of the synthetic scenes: random placement around a person, projection, and the crop's own intrinsics.

Frames and units:
- world: metres, Z up, the ground at z = 0 (the body model's frame, people stand on the ground);
- camera: metres, x right, y down, z forward (the project's camera axes, model/README.md);
  X_cam = R @ X_world + t;
- image / crop: pixels, x right, y down, pixel centres at integers (as model/net/crop.py).

A crop is rendered directly with its own pinhole intrinsics (the full frame's focal length scaled to
the crop, principal point moved): exactly the pixels a top-down pipeline would cut out of the full
frame around the person's box, so 2D labels are exact projections.
"""

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Camera:
    """A pinhole camera. R: (3, 3) world -> camera rotation; t: (3,) m; K: (3, 3) px; size: (width, height) px."""

    R: np.ndarray
    t: np.ndarray
    K: np.ndarray
    size: tuple[int, int]

    def to_camera(self, points_world: np.ndarray) -> np.ndarray:
        """(..., 3) world m -> (..., 3) camera m."""
        return points_world @ self.R.T + self.t

    def project(self, points_world: np.ndarray) -> np.ndarray:
        """(..., 3) world m -> (..., 2) px (points behind the camera give meaningless values)."""
        return project_camera(self.to_camera(points_world), self.K)

    @property
    def centre(self) -> np.ndarray:
        """(3,) the camera centre in world m."""
        return -self.R.T @ self.t

    def extrinsic(self) -> np.ndarray:
        """(4, 4) world -> camera (Open3D's and OpenCV's convention)."""
        out = np.eye(4)
        out[:3, :3], out[:3, 3] = self.R, self.t
        return out

    def fov_deg(self) -> float:
        """Horizontal field of view, degrees."""
        return float(np.degrees(2 * np.arctan(self.size[0] / 2 / self.K[0, 0])))


def project_camera(points_cam: np.ndarray, K: np.ndarray) -> np.ndarray:
    """(..., 3) camera-frame points -> (..., 2) px with intrinsics K (3, 3)."""
    z = points_cam[..., 2:3]
    uv = points_cam[..., :2] / z
    return uv @ K[:2, :2].T + K[:2, 2]


def intrinsics(fov_deg: float, width: int, height: int) -> np.ndarray:
    """(3, 3) K of a frame with this horizontal field of view, principal point at the frame centre."""
    f = width / 2.0 / np.tan(np.radians(fov_deg) / 2.0)
    return np.array([[f, 0.0, (width - 1) / 2.0], [0.0, f, (height - 1) / 2.0], [0.0, 0.0, 1.0]])


def look_at(eye: np.ndarray, target: np.ndarray, roll_deg: float = 0.0) -> np.ndarray:
    """(3, 3) world -> camera rotation of a camera at `eye` looking at `target` (world Z up), rolled about its axis.

    With roll 0 the image's x axis is horizontal. Looking straight up or down is nudged off the vertical.
    """
    forward = np.asarray(target, float) - np.asarray(eye, float)
    forward /= np.linalg.norm(forward)
    up = np.array([0.0, 0.0, 1.0])
    if abs(forward @ up) > 0.999:
        forward = forward + np.array([1e-3, 0.0, 0.0])
        forward /= np.linalg.norm(forward)
    right = np.cross(forward, up)
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    R = np.stack([right, down, forward])  # rows: camera axes in world coordinates
    c, s = np.cos(np.radians(roll_deg)), np.sin(np.radians(roll_deg))
    roll = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    return roll @ R


def square_box(points_px: np.ndarray, padding: float) -> tuple[np.ndarray, float]:
    """(N, 2) px -> centre (2,) and side of the square crop around their box, side = padding x the box's longer side."""
    lo, hi = points_px.min(0), points_px.max(0)
    return (lo + hi) / 2.0, float((hi - lo).max()) * padding


def crop_intrinsics(K: np.ndarray, centre: np.ndarray, side: float, crop_size: int) -> np.ndarray:
    """(3, 3) intrinsics of the crop_size x crop_size crop of side `side` px centred at `centre` in a frame with K.

    Same mapping as model/net/crop.py's crop_affine: crop px = s * (frame px - centre) + S / 2, s = S / side.
    """
    s = crop_size / float(side)
    A = np.array([[s, 0.0, crop_size / 2.0 - s * centre[0]], [0.0, s, crop_size / 2.0 - s * centre[1]], [0, 0, 1.0]])
    return A @ K


def root_relative_mm(joints_cam_m: np.ndarray, root: int = 0) -> np.ndarray:
    """(J, 3) camera m -> (J, 3) mm relative to joint `root` (the project's 3D label)."""
    return (joints_cam_m - joints_cam_m[root]) * 1000.0
