"""Multi-view geometry for calibrated footage: Qualisys .qca.txt calibrations, projection, DLT triangulation.

Frames and units:
- world: the calibration's frame, millimetres.
- camera: OpenCV axes (x right, y down, z forward), millimetres; X_cam = R @ X_world + t.
- image: pixels of the full video frame, origin top-left.

Qualisys (the format of Pose2Sim's Calib.qca.txt) stores each camera's pose in the world (its rotation
matrix column by column, and the camera centre in mm) with camera axes that look down -z and have y up,
and its intrinsics in sub-pixel sensor units (64 per pixel). We convert to OpenCV world-to-camera
extrinsics and turn the camera half a turn about its x axis (y and z flip), the same convention as
Pose2Sim's own converter (checked: triangulated teacher joints reproject to within a few pixels).
"""

from dataclasses import dataclass
from itertools import product
from xml.etree import ElementTree

import numpy as np

# Qualisys intrinsics are in 1/64 pixel units.
QCA_SUBPIXELS = 64.0


class CalibrationError(Exception):
    """A calibration file that cannot be read; the message names the file and the problem."""


@dataclass(frozen=True, eq=False)
class Camera:
    """A calibrated pinhole camera.

    name: e.g. 'cam01'. size: (width, height) in pixels. K: (3, 3) intrinsics in pixels.
    R: (3, 3) world-to-camera rotation. t: (3,) world-to-camera translation in mm.
    dist: (4,) k1, k2, p1, p2 as stored (ignored by project(): under 0.002 here, well below a pixel).
    """

    name: str
    size: tuple[int, int]
    K: np.ndarray
    R: np.ndarray
    t: np.ndarray
    dist: np.ndarray

    def __post_init__(self) -> None:
        assert self.K.shape == (3, 3) and self.R.shape == (3, 3) and self.t.shape == (3,)

    @property
    def P(self) -> np.ndarray:
        """(3, 4) projection matrix from world mm to homogeneous image pixels."""
        return self.K @ np.concatenate([self.R, self.t[:, None]], axis=1)

    @property
    def center(self) -> np.ndarray:
        """(3,) camera centre in world mm."""
        return -self.R.T @ self.t

    def to_camera(self, points_world: np.ndarray) -> np.ndarray:
        """(..., 3) world mm -> (..., 3) camera mm."""
        return points_world @ self.R.T + self.t

    def project(self, points_world: np.ndarray) -> np.ndarray:
        """(..., 3) world mm -> (..., 2) image pixels (pinhole, no distortion)."""
        cam = self.to_camera(points_world)
        uvw = cam @ self.K.T
        return uvw[..., :2] / uvw[..., 2:3]


def read_qca(path: str) -> list[Camera]:
    """Cameras of a Qualisys .qca.txt calibration (e.g. Pose2Sim's Demo_*/calibration/Calib.qca.txt)."""
    try:
        root = ElementTree.parse(path).getroot()
    except (OSError, ElementTree.ParseError) as exc:
        raise CalibrationError(f"{path}: cannot read the calibration ({exc})") from exc
    cameras = []
    for tag in root.findall("cameras/camera"):
        name = tag.get("serial", f"cam{len(cameras) + 1:02d}")
        fov, transform, intr = tag.find("fov_video"), tag.find("transform"), tag.find("intrinsic")
        if fov is None or transform is None or intr is None:
            raise CalibrationError(f"{path}: camera {name} lacks fov_video, transform or intrinsic")
        try:
            left, top = float(fov.get("left")), float(fov.get("top"))
            size = (int(float(fov.get("right")) - left + 1), int(float(fov.get("bottom")) - top + 1))
            fx = float(intr.get("focalLengthU")) / QCA_SUBPIXELS
            fy = float(intr.get("focalLengthV")) / QCA_SUBPIXELS
            cx = float(intr.get("centerPointU")) / QCA_SUBPIXELS - left
            cy = float(intr.get("centerPointV")) / QCA_SUBPIXELS - top
            dist = np.array([float(intr.get(k)) for k in (
                "radialDistortion1", "radialDistortion2", "tangentalDistortion1", "tangentalDistortion2")])
            # r11..r33 are stored by column: read row-wise, this is the world-to-camera rotation.
            rot_w2c = np.array([[float(transform.get(f"r{i}{j}")) for j in (1, 2, 3)] for i in (1, 2, 3)])
            centre = np.array([float(transform.get(k)) for k in ("x", "y", "z")])
        except (TypeError, ValueError) as exc:
            raise CalibrationError(f"{path}: camera {name} has a missing or bad number ({exc})") from exc
        flip = np.diag([1.0, -1.0, -1.0])  # Qualisys camera axes (y up, looking down -z) -> OpenCV
        R = flip @ rot_w2c
        t = -R @ centre
        K = np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]])
        cameras.append(Camera(name, size, K, R, t, dist / QCA_SUBPIXELS))
    if not cameras:
        raise CalibrationError(f"{path}: no cameras found")
    return cameras


def triangulate(points_2d: np.ndarray, weights: np.ndarray, cameras: list[Camera]) -> np.ndarray:
    """Confidence-weighted DLT of J points seen by V cameras.

    points_2d: (V, J, 2) pixels; weights: (V, J) >= 0 (0 or NaN points = not seen).
    Returns (J, 3) world mm; NaN for joints with fewer than two usable views.
    """
    V, J, _ = points_2d.shape
    assert weights.shape == (V, J) and len(cameras) == V
    Ps = np.stack([c.P for c in cameras])  # (V, 3, 4)
    out = np.full((J, 3), np.nan)
    for j in range(J):
        w = np.where(np.isfinite(points_2d[:, j]).all(-1), np.nan_to_num(weights[:, j]), 0.0)
        use = w > 0
        if use.sum() < 2:
            continue
        rows = []
        for v in np.flatnonzero(use):
            x, y = points_2d[v, j]
            # Normalise each camera's rows so that weights, not the arbitrary scale of P, decide.
            for row in (x * Ps[v, 2] - Ps[v, 0], y * Ps[v, 2] - Ps[v, 1]):
                rows.append(w[v] * row / np.linalg.norm(row[:3]))
        _, _, vt = np.linalg.svd(np.stack(rows))
        X = vt[-1]
        if abs(X[3]) < 1e-12:
            continue
        out[j] = X[:3] / X[3]
    return out


def reprojection_errors(points_3d: np.ndarray, points_2d: np.ndarray, cameras: list[Camera]) -> np.ndarray:
    """(J, 3) world mm and (V, J, 2) pixels -> (V, J) pixel distances (NaN where either is missing)."""
    proj = np.stack([c.project(points_3d) for c in cameras])
    return np.linalg.norm(proj - points_2d, axis=-1)


@dataclass(frozen=True, eq=False)
class Association:
    """One person seen in several views of one frame.

    candidate: (V,) index of the chosen teacher pose in each view, -1 where the view does not see them.
    joints_world: (J, 3) triangulated world mm. errors: (V, J) reprojection error in px of the used views.
    median_error: median of errors over used views and joints, px.
    worst_view_error: the largest per-view median error, px (one wrong view shows up here).
    """

    candidate: np.ndarray
    joints_world: np.ndarray
    errors: np.ndarray
    median_error: float
    worst_view_error: float


def _fit(candidate: tuple[int, ...], poses: list[np.ndarray], cameras: list[Camera]) -> Association:
    V = len(cameras)
    J = next(p.shape[1] for p in poses if len(p))
    pts = np.full((V, J, 2), np.nan)
    w = np.zeros((V, J))
    for v, c in enumerate(candidate):
        if c >= 0:
            pts[v] = poses[v][c, :, :2]
            w[v] = poses[v][c, :, 2]
    X = triangulate(pts, w, cameras)
    err = reprojection_errors(X, pts, cameras)
    used = np.array(candidate) >= 0
    if not np.isfinite(err[used]).any():
        return Association(np.array(candidate), X, err, np.inf, np.inf)
    per_view = np.nanmedian(err[used], axis=1)
    return Association(np.array(candidate), X, err, float(np.nanmedian(err[used])), float(np.nanmax(per_view)))


def associate(poses: list[np.ndarray], cameras: list[Camera], max_error_px: float = 30.0,
              min_views: int = 2) -> list[Association]:
    """Match teacher poses across views by triangulation consistency, greedily, best first.

    poses: per view an (N_v, J, 3) array of x, y pixels and confidence (N_v may be 0).
    Every assignment of at most one pose per view is triangulated; the one with the lowest median
    reprojection error among those with the most views wins, its poses are removed, and so on.
    Assignments where any view's median error is above max_error_px are never accepted (a person seen in one view only is dropped,
    like the far-away third person in the Pose2Sim multi-person clip when only one camera finds them).
    """
    assert len(poses) == len(cameras)
    remaining = [set(range(len(p))) for p in poses]
    found: list[Association] = []
    while True:
        choices = [[-1] + sorted(r) for r in remaining]
        best = None
        for cand in product(*choices):
            n = sum(c >= 0 for c in cand)
            if n < min_views:
                continue
            fit = _fit(cand, poses, cameras)
            if fit.worst_view_error > max_error_px:
                continue
            key = (-n, fit.median_error)
            if best is None or key < best[0]:
                best = (key, fit)
        if best is None:
            return found
        fit = best[1]
        found.append(fit)
        for v, c in enumerate(fit.candidate):
            if c >= 0:
                remaining[v].discard(int(c))


def camera_joints(joints_world: np.ndarray, camera: Camera) -> tuple[np.ndarray, np.ndarray]:
    """(J, 3) world mm -> root-relative (J, 3) camera mm and the (3,) root (joint 0) in camera mm."""
    cam = camera.to_camera(joints_world)
    return cam - cam[:1], cam[0].copy()
