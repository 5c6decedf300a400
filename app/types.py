"""The small frozen records that flow through the pipeline, with their shapes, units and frames.

Coordinate frames used throughout:
- image: pixels, origin at the top-left of the full frame, x right, y down.
- camera: millimetres, pinhole camera at the origin, x right, y down, z forward (away from the
  camera), the same axes as OpenCV. "Root-relative" means the pelvis (joint 0) is at the origin.
"""

from dataclasses import dataclass, field

import numpy as np

from app.motion.floor import WorldFrame
from model.net.skeleton import NUM_JOINTS


def _check_shape(name: str, array: np.ndarray, shape: tuple[int, ...]) -> None:
    if array.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {array.shape}")


@dataclass(frozen=True, eq=False)
class Frame:
    """One captured video frame.

    index: 0-based frame number in its source. time_s: presentation time in seconds from the
    source's start. image: (H, W, 3) uint8 BGR. captured_at: time.perf_counter() when it was read,
    for end-to-end latency.
    """

    index: int
    time_s: float
    image: np.ndarray
    captured_at: float = 0.0

    @property
    def height(self) -> int:
        return int(self.image.shape[0])

    @property
    def width(self) -> int:
        return int(self.image.shape[1])


@dataclass(frozen=True, eq=False)
class Detection:
    """A person box in image pixels: box_xyxy (4,) float = x1, y1, x2, y2; score in [0, 1]."""

    box_xyxy: np.ndarray
    score: float

    def __post_init__(self) -> None:
        _check_shape("box_xyxy", self.box_xyxy, (4,))


@dataclass(frozen=True)
class CameraIntrinsics:
    """Pinhole intrinsics in pixels: focal lengths fx, fy and principal point cx, cy."""

    fx: float
    fy: float
    cx: float
    cy: float

    @classmethod
    def from_fov(cls, width: int, height: int, horizontal_fov_deg: float) -> "CameraIntrinsics":
        """Square pixels, principal point at the image centre, f = (W/2) / tan(FOV/2)."""
        f = (width / 2.0) / np.tan(np.radians(horizontal_fov_deg) / 2.0)
        return cls(float(f), float(f), width / 2.0, height / 2.0)

    def to_dict(self) -> dict:
        return {"fx": self.fx, "fy": self.fy, "cx": self.cx, "cy": self.cy}


@dataclass(frozen=True, eq=False)
class PersonPose:
    """One person's pose in one frame.

    box_xyxy: (4,) person box in image pixels.
    keypoints_2d: (17, 3) float: x, y in image pixels and a confidence in [0, 1], Human3.6M order.
    joints_3d: (17, 3) float, millimetres, camera axes, root-relative (joint 0 is 0, 0, 0). After the
      motion layer (app.motion): fitted to the track's constant bone lengths, feet in contact pinned.
    root: (3,) float, millimetres, camera space: where the pelvis is. After the motion layer: placed
      (moved along its camera ray onto the floor where the person stands on it, app.motion.support).
    score: detection/pose confidence in [0, 1].
    joints_3d_raw: (17, 3) the network's joints before the motion layer (same units), or None when
      the motion layer did not run (then joints_3d is the network's).
    root_raw: (3,) the root before the motion layer placed it (from the body's size), or None when the
      motion layer did not run (then root is that one).
    world_root: (3,) float, millimetres, world frame (app.motion.floor: Y up, floor at Y=0, origin
      below the camera), or None while the floor is unknown.
    contact: (2,) bool, right foot then left foot on the floor, or None (motion layer off).
    is_person: the backend's own verdict that the crop holds a person (its person score reached its
      threshold: app.backends.base.PoseEstimate), or None where the backend has no such score.
    """

    box_xyxy: np.ndarray
    keypoints_2d: np.ndarray
    joints_3d: np.ndarray
    root: np.ndarray
    score: float
    joints_3d_raw: np.ndarray | None = None
    root_raw: np.ndarray | None = None
    world_root: np.ndarray | None = None
    contact: np.ndarray | None = None
    is_person: bool | None = None

    def __post_init__(self) -> None:
        _check_shape("box_xyxy", self.box_xyxy, (4,))
        _check_shape("keypoints_2d", self.keypoints_2d, (NUM_JOINTS, 3))
        _check_shape("joints_3d", self.joints_3d, (NUM_JOINTS, 3))
        _check_shape("root", self.root, (3,))
        if self.joints_3d_raw is not None:
            _check_shape("joints_3d_raw", self.joints_3d_raw, (NUM_JOINTS, 3))
        if self.root_raw is not None:
            _check_shape("root_raw", self.root_raw, (3,))
        if self.world_root is not None:
            _check_shape("world_root", self.world_root, (3,))
        if self.contact is not None:
            _check_shape("contact", self.contact, (2,))

    @property
    def joints_camera(self) -> np.ndarray:
        """(17, 3) absolute joint positions in camera space, millimetres."""
        return self.joints_3d + self.root[None, :]


@dataclass(frozen=True)
class Track:
    """A person followed over time: a stable track_id and its (optionally smoothed) pose this frame.

    age: frames since the track was created. missed: frames since it was last matched to a
    detection (0 when seen this frame). smoothed: whether pose went through the One-Euro filter.
    """

    track_id: int
    pose: PersonPose
    age: int
    missed: int = 0
    smoothed: bool = False


@dataclass(frozen=True)
class FrameResult:
    """Everything the UI and the recorders receive for one processed frame.

    timings_ms: stage name -> milliseconds (e.g. 'detect', 'pose', 'track', 'total'); latency_ms
    is capture-to-result. camera: the intrinsics used for placement. backend/device: what ran.
    world: the floor and world frame estimated so far (app.motion.floor.WorldFrame), or None.
    """

    frame: Frame
    tracks: tuple[Track, ...]
    camera: CameraIntrinsics
    timings_ms: dict = field(default_factory=dict)
    backend: str = ""
    device: str = ""
    world: WorldFrame | None = None


# Frame rates a file or camera can have; a header outside them is damage (2147483647 and 1e-05 fps were seen).
MIN_FPS, MAX_FPS = 1.0, 1000.0


@dataclass(frozen=True)
class SourceInfo:
    """Where the frames came from: path (or a description for cameras), size in pixels, fps, frame count (0 = unknown)."""

    path: str
    width: int
    height: int
    fps: float
    frames: int = 0

    @classmethod
    def from_source(cls, source) -> "SourceInfo":
        """From an app.sources.FrameSource."""
        return cls(source.path or source.description, int(source.width), int(source.height),
                   float(source.fps), int(source.frame_count))

    def to_dict(self) -> dict:
        return {"path": self.path, "width": self.width, "height": self.height, "fps": self.fps,
                "frames": self.frames}

    @classmethod
    def from_dict(cls, d: dict) -> "SourceInfo":
        return cls(str(d["path"]), int(d["width"]), int(d["height"]), float(d["fps"]), int(d["frames"]))
