"""Where each person stands: on the floor (placed by it) or on a support of their own (kept at its height).

Frames and units: camera mm (x right, y down, z forward); heights along the floor's normal
(app.motion.floor.WorldFrame), measured as in app.motion.contact: an ankle's height above where it is
when standing on the floor (ANKLE_HEIGHT_MM taken off).

A monocular root depth comes from the body's size and is never exact; people do not all stand on one
plane either (a block, stairs, a stage). So the floor decides where a person is, never how they stand:
- Each frame, the lower ankle's camera ray (its 2D keypoint and the intrinsics) is intersected with the
  floor raised by the ankle height (app.people.placement.ray_onto_plane): the root that puts that ankle
  there has a depth of its own, and its ratio to the network's depth is a sample of the track's depth
  scale (the network's depth error is mostly a scale over a track: the body's size is one wrong number).
- Over the last window_s of the track, the median of those ratios decides: within max_depth_change of
  1, the person stands on the floor and the root moves along its own camera ray (the image does not
  change) to a depth between the network's and the floor's (floor_weight: the floor is itself found from
  monocular feet, and on the calibrated Pose2Sim views trusting both equally placed people best); a floor
  that rests on fewer than min_floor_tracks people's feet places nobody (one person's floor carries that
  person's own depth error). Further off (or no ankle seen), the root stays where the network put it, and the person's support height is the median height of their
  lower ankle over the window (a per-track support plane, parallel to the floor): someone standing on
  something else, or 0 (the floor) when that is within min_support_mm. Both are smoothed over
  smoothing_s, so a change of support does not jump.
"""

from collections import deque
from dataclasses import dataclass

import numpy as np

from app.motion.floor import ANKLE_HEIGHT_MM, L_ANKLE, R_ANKLE, WorldFrame
from app.people.placement import ray_onto_plane
from app.types import CameraIntrinsics


@dataclass(frozen=True)
class SupportConfig:
    """How people are placed on the floor or on a support of their own."""

    place_on_floor: bool = True  # False: every root stays the network's; support heights are still tracked
    window_s: float = 1.0  # decisions rest on the median over this much of the track ("for a while")
    # The floor may move a person along their ray by at most this share of their depth. Monocular depths are
    # off by 10-20 % on the calibrated Pose2Sim clips; a larger disagreement is someone on another support.
    max_depth_change: float = 0.3
    smoothing_s: float = 0.3  # time constant of the depth scale and the support height
    # Feet this close to the floor (median over the window) stand on it: pinning's snap absorbs the rest.
    min_support_mm: float = 50.0
    min_confidence: float = 0.3  # an ankle keypoint below this places nobody
    # The floor's depth and the network's are two estimates of comparable error (measured on the calibrated
    # Pose2Sim views, bench/motion_quality.py): on the floor, depth = network's x (floor's / network's) ** this.
    floor_weight: float = 0.5
    # A floor found from one person's feet carries their own depth error: it places people only when it rests
    # on at least this many people's feet (WorldFrame.tracks; 0 there = unknown, e.g. read from a file: used).
    min_floor_tracks: int = 2


@dataclass(frozen=True, eq=False)
class Placement:
    """One person in one frame: root (3,) camera mm, placed; support_mm, the height (mm, along the floor's
    normal) of the plane they stand on above the floor (0 on the floor); on_floor: placed by the floor;
    scale: placed depth / the network's depth."""

    root: np.ndarray
    support_mm: float
    on_floor: bool
    scale: float


class TrackSupport:
    """One track's support, frame by frame: __call__(joints (17, 3) root-relative camera mm, root (3,) mm,
    keypoints_2d (17, 3) px + confidence or None, camera or None, world, t s) -> Placement."""

    def __init__(self, config: SupportConfig = SupportConfig()):
        self.config = config
        self._samples: deque = deque()  # (t, depth ratio or NaN, lower ankle's height mm)
        self._scale = 1.0
        self._support = 0.0
        self._t: float | None = None

    @property
    def scale(self) -> float:
        """The current depth scale (placed / network depth), for frames the track is only held through."""
        return self._scale

    def __call__(self, joints: np.ndarray, root: np.ndarray, keypoints_2d: np.ndarray | None,
                 camera: CameraIntrinsics | None, world: WorldFrame, t: float) -> Placement:
        c = self.config
        absolute = joints + root
        ankles = (R_ANKLE, L_ANKLE)
        heights = world.height(absolute[list(ankles)]) - ANKLE_HEIGHT_MM
        lower = ankles[int(np.argmin(heights))]
        ratio = np.nan
        if camera is not None and keypoints_2d is not None and root[2] > 0 \
                and keypoints_2d[lower, 2] >= c.min_confidence:
            ankle = ray_onto_plane(keypoints_2d[lower, :2], camera, world.normal, world.offset - ANKLE_HEIGHT_MM)
            if ankle is not None:
                ratio = float((ankle - joints[lower])[2] / root[2])
        self._samples.append((t, ratio, float(heights.min())))
        while self._samples and self._samples[0][0] < t - c.window_s:
            self._samples.popleft()
        ratios = np.array([s[1] for s in self._samples])
        ratios = ratios[np.isfinite(ratios)]
        median = float(np.median(ratios)) if len(ratios) else np.nan
        independent = world.tracks == 0 or world.tracks >= c.min_floor_tracks
        on_floor = bool(c.place_on_floor and independent and np.isfinite(median) and median > 0
                        and abs(np.log(median)) <= np.log1p(c.max_depth_change))
        target_scale = median ** c.floor_weight if on_floor else 1.0
        target_support = 0.0 if on_floor else float(np.median([s[2] for s in self._samples]))
        if abs(target_support) <= c.min_support_mm:
            target_support = 0.0
        dt = 0.0 if self._t is None else max(t - self._t, 0.0)
        if self._t is None:
            self._scale, self._support = target_scale, target_support
        else:
            alpha = dt / (c.smoothing_s + dt) if dt > 0 else 0.0
            self._scale += alpha * (target_scale - self._scale)
            self._support += alpha * (target_support - self._support)
        self._t = t
        return Placement(root * self._scale, self._support, on_floor, self._scale)
