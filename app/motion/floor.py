"""The floor under the people, from their feet over time, and the world frame it defines.

Frames and units (millimetres throughout):
- camera: x right, y down, z forward, the camera at the origin (app.types).
- floor plane, in camera coordinates: height(X) = normal . X + offset is the height of point X above
  the floor; `normal` (3,) is the unit up direction (for a level camera about (0, -1, 0)) and `offset`
  is therefore the camera's height above the floor.
- world: Y up (the floor normal), the floor at Y = 0, the origin on the floor straight below the
  camera, Z pointing back towards the camera's side (the camera's forward direction laid flat on the
  floor is -Z), X = Y x Z (about the camera's right). It is right-handed and, for a level camera,
  equals the project's BVH axes (X = x, Y = -y, Z = -z) shifted up by the camera height. So a person
  facing the camera faces +Z, and the camera sits at (0, height, 0).
  X_world = R @ X_camera + t with R = WorldFrame.rotation (rows: X, Y, Z axes in camera coordinates)
  and t = (0, height, 0).
- camera pose: height_mm above the floor; pitch_deg, the angle of the camera's forward axis below the
  horizon (positive = looking down); roll_deg, the angle of the camera's x axis (image right) above the
  horizon (positive = the image's right edge is higher than its left).

Estimation (FloorEstimator): every person's lower ankle in every frame is a sample (stance feet are on
the floor; the lower ankle of a person is the one most likely to be). Samples are kept in a bounded
reservoir over the whole history. The floor's tilt comes from the people's up direction: the median, over
people and frames, of the axis from the midpoint of their ankles to their pelvis (legs swing about the
vertical, so it averages to "up" while walking, where a trunk leaning forward would not). The plane is
then fitted to the feet by iteratively reweighted least squares (Tukey weights, so feet in the air during
jumps, on a chair rung while sitting, or badly placed, drop out) with a tight Gaussian prior (prior_deg)
that its normal is that up direction: monocular foot depths are too noisy to tilt it (measured on the
calibrated Pose2Sim clips, bench/motion_quality.py), so in practice the feet set the height. The ankle
joint is ANKLE_HEIGHT_MM above the sole, so the floor is that far below the fitted ankle plane.
"""

from dataclasses import dataclass, replace

import numpy as np

ANKLE_HEIGHT_MM = 80.0  # ankle joint (malleolus) above the floor when standing
MIN_TRACK_SHARE = 0.1  # a track counts among the floor's people with this share of its inlier feet
PELVIS, R_ANKLE, L_ANKLE = 0, 3, 6


@dataclass(frozen=True)
class FloorConfig:
    """How the floor is estimated."""

    max_samples: int = 4000  # reservoir size: bounded memory and cost over any clip length
    min_samples: int = 15  # no floor before this many feet were seen
    # How far the floor normal may lean from the people's up direction (1 std). Small: on the calibrated
    # Pose2Sim clips (bench/motion_quality.py) the people's median up axis was within 3-6 degrees of the true
    # vertical, while letting monocular feet tilt the plane (8 degrees) cost 5-20 degrees of pitch and roll.
    prior_deg: float = 0.5
    noise_mm: float = 60.0  # typical foot-height scatter of monocular estimates, for the prior's weight
    # Feet of nearby frames share their errors (depth, bone scale), so this many samples count as one
    # independent measurement against the prior.
    correlated_samples: float = 10.0
    tukey_c: float = 4.685  # Tukey biweight cut-off, in robust standard deviations
    min_scale_mm: float = 25.0  # below this spread every foot counts fully
    iterations: int = 12
    seed: int = 0


@dataclass(frozen=True, eq=False)
class WorldFrame:
    """The floor and the world frame it defines (module docstring): all in mm, camera coordinates.

    normal (3,): unit up direction of the floor; offset: camera height above the floor (mm).
    rotation (3, 3): world-from-camera rotation, rows = world X, Y, Z axes in camera coordinates.
    samples: feet the estimate rests on; inlier_scale_mm: robust spread of their heights; tracks: how many
    people's feet it rests on (tracks with at least MIN_TRACK_SHARE of its inlier feet; 0 = unknown, as for
    a floor read from a file).
    """

    normal: np.ndarray
    offset: float
    rotation: np.ndarray
    samples: int = 0
    inlier_scale_mm: float = 0.0
    tracks: int = 0

    @classmethod
    def from_plane(cls, normal: np.ndarray, offset: float, samples: int = 0, scale: float = 0.0) -> "WorldFrame":
        n = np.asarray(normal, dtype=np.float64)
        n = n / np.linalg.norm(n)
        forward = np.array([0.0, 0.0, 1.0])
        flat = forward - (forward @ n) * n
        if np.linalg.norm(flat) < 1e-6:  # camera looking straight down or up: use its y axis instead
            flat = np.array([0.0, 1.0, 0.0]) - n[1] * n
        z = -flat / np.linalg.norm(flat)
        x = np.cross(n, z)
        return cls(n, float(offset), np.stack([x, n, z]), int(samples), float(scale))

    @property
    def translation(self) -> np.ndarray:
        """(3,) t of X_world = R @ X_camera + t: the camera is at (0, height, 0)."""
        return np.array([0.0, self.offset, 0.0])

    @property
    def height_mm(self) -> float:
        return self.offset

    @property
    def pitch_deg(self) -> float:
        return float(np.degrees(np.arcsin(np.clip(-self.normal[2], -1.0, 1.0))))

    @property
    def roll_deg(self) -> float:
        return float(np.degrees(np.arcsin(np.clip(self.normal[0], -1.0, 1.0))))

    def height(self, points_camera: np.ndarray) -> np.ndarray:
        """(...,) height above the floor, mm, of camera points (..., 3) mm."""
        return np.asarray(points_camera, dtype=np.float64) @ self.normal + self.offset

    def to_world(self, points_camera: np.ndarray) -> np.ndarray:
        """(..., 3) camera mm -> world mm."""
        return np.asarray(points_camera, dtype=np.float64) @ self.rotation.T + self.translation

    def directions_to_world(self, vectors_camera: np.ndarray) -> np.ndarray:
        """(..., 3) camera-frame vectors (e.g. root-relative joints) -> world axes, no translation."""
        return np.asarray(vectors_camera, dtype=np.float64) @ self.rotation.T

    def to_camera(self, points_world: np.ndarray) -> np.ndarray:
        """(..., 3) world mm -> camera mm."""
        return (np.asarray(points_world, dtype=np.float64) - self.translation) @ self.rotation

    def to_dict(self) -> dict:
        """The JSON `world` block: the floor plane and the camera pose (units in the keys' names)."""
        return {
            "floor": {"normal": [round(float(v), 6) for v in self.normal], "offset_mm": round(self.offset, 1)},
            "camera": {"height_mm": round(self.height_mm, 1), "pitch_deg": round(self.pitch_deg, 3),
                       "roll_deg": round(self.roll_deg, 3),
                       "world_from_camera": {"rotation": np.round(self.rotation, 6).tolist(),
                                             "translation_mm": np.round(self.translation, 1).tolist()}},
            "samples": self.samples,
        }

    @classmethod
    def from_dict(cls, d: dict) -> "WorldFrame":
        return cls.from_plane(np.array(d["floor"]["normal"], dtype=np.float64), float(d["floor"]["offset_mm"]),
                              int(d.get("samples", 0)))


def lowest_ankle(joints_camera: np.ndarray, up: np.ndarray) -> np.ndarray:
    """(3,) the lower of a person's two ankles along `up`; joints_camera (17, 3) absolute mm."""
    ankles = joints_camera[[R_ANKLE, L_ANKLE]]
    return ankles[int(np.argmin(ankles @ up))]


def body_up(joints_camera: np.ndarray) -> np.ndarray:
    """(3,) unit direction from the ankles' midpoint to the pelvis: a person's up axis when standing."""
    axis = joints_camera[PELVIS] - 0.5 * (joints_camera[R_ANKLE] + joints_camera[L_ANKLE])
    return axis / max(float(np.linalg.norm(axis)), 1e-9)


class FloorEstimator:
    """Accumulates feet (camera mm) from every person and frame; estimate() fits the floor (module docstring)."""

    def __init__(self, config: FloorConfig = FloorConfig()):
        self.config = config
        self._rng = np.random.default_rng(config.seed)
        self._feet = np.zeros((config.max_samples, 3))
        self._ups = np.zeros((config.max_samples, 3))
        self._tracks = np.full(config.max_samples, -1)  # whose foot each sample is (-1: not said)
        self.seen = 0  # people-frames offered so far
        self._prior: np.ndarray | None = None  # up_prior() as of the last estimate(): a median is not free

    @property
    def count(self) -> int:
        return min(self.seen, self.config.max_samples)

    def up_prior(self) -> np.ndarray:
        """(3,) unit median up axis of the people seen (camera coordinates); (0, -1, 0) before any."""
        if self.count == 0:
            return np.array([0.0, -1.0, 0.0])
        up = np.median(self._ups[: self.count], axis=0)
        return up / max(float(np.linalg.norm(up)), 1e-9)

    def add_person(self, joints_camera: np.ndarray, track_id: int = -1) -> None:
        """One person in one frame: joints_camera (17, 3) absolute camera mm (NaN-free), and whose they are."""
        joints_camera = np.asarray(joints_camera, dtype=np.float64)
        if not np.isfinite(joints_camera).all():
            return
        up = body_up(joints_camera)
        foot = lowest_ankle(joints_camera, up if self._prior is None else self._prior)
        # Reservoir sampling: every person-frame of the history is equally likely to be kept.
        slot = self.seen if self.seen < self.config.max_samples else int(self._rng.integers(0, self.seen + 1))
        if slot < self.config.max_samples:
            self._feet[slot], self._ups[slot], self._tracks[slot] = foot, up, track_id
        self.seen += 1

    def estimate(self) -> WorldFrame | None:
        """The floor from the feet so far, or None before config.min_samples of them."""
        if self.count < self.config.min_samples:
            return None
        self._prior = self.up_prior()
        feet = self._feet[: self.count]
        world = fit_floor(feet, self._prior, self.config)
        residual = world.height(feet) - ANKLE_HEIGHT_MM
        owners = self._tracks[: self.count][np.abs(residual) < self.config.tukey_c * max(world.inlier_scale_mm, 1e-9)]
        _, counts = np.unique(owners[owners >= 0], return_counts=True)
        return replace(world, tracks=int(np.count_nonzero(counts >= MIN_TRACK_SHARE * max(len(owners), 1))))


def _basis(up: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    helper = np.array([1.0, 0.0, 0.0]) if abs(up[0]) < 0.9 else np.array([0.0, 0.0, 1.0])
    e1 = np.cross(up, helper)
    e1 /= np.linalg.norm(e1)
    return e1, np.cross(up, e1)


def fit_floor(feet: np.ndarray, up: np.ndarray, config: FloorConfig = FloorConfig()) -> WorldFrame:
    """Robust floor through ankle samples feet (N, 3) camera mm, its normal near the unit `up` (3,).

    The plane is parametrised about the prior: normal ~ up + a e1 + b e2, so ankle heights
    h_i = up.p_i + a e1.p_i + b e2.p_i + d are linear in (a, b, d); the prior adds (noise/prior)^2 (a^2 + b^2).
    """
    up = np.asarray(up, dtype=np.float64) / np.linalg.norm(up)
    e1, e2 = _basis(up)
    s, q1, q2 = feet @ up, feet @ e1, feet @ e2
    # Centre the tilt columns so the prior's pull is about the feet's own centre, not the camera.
    m1, m2 = np.median(q1), np.median(q2)
    design = np.stack([q1 - m1, q2 - m2, np.ones_like(s)], axis=1)
    ridge = config.correlated_samples * (config.noise_mm / np.radians(config.prior_deg)) ** 2
    params = np.array([0.0, 0.0, -np.median(s)])
    scale = config.min_scale_mm
    weights = np.ones_like(s)
    for _ in range(config.iterations):
        residual = s + design @ params
        mad = 1.4826 * np.median(np.abs(residual - np.median(residual)))
        scale = max(mad, config.min_scale_mm)
        u = residual / (config.tukey_c * scale)
        weights = np.where(np.abs(u) < 1.0, (1.0 - u ** 2) ** 2, 0.0)
        a = design.T @ (design * weights[:, None]) + np.diag([ridge, ridge, 0.0])
        b = -design.T @ (weights * s)
        params = np.linalg.solve(a + 1e-9 * np.eye(3), b)
    a_, b_, d = params
    normal = up + a_ * e1 + b_ * e2
    offset = d - a_ * m1 - b_ * m2
    norm = np.linalg.norm(normal)
    return WorldFrame.from_plane(normal / norm, offset / norm + ANKLE_HEIGHT_MM, int(np.count_nonzero(weights > 0)),
                                 float(scale))
