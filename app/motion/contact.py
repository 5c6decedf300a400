"""Foot contact per foot per frame, and foot pinning: a foot in contact stays put (two-bone IK on the leg).

Frames and units: joints are absolute camera coordinates, (17, 3) mm (x right, y down, z forward);
heights and speeds are measured in the floor's frame (app.motion.floor.WorldFrame): height = how far the
ankle is above where it is when standing (the floor's ANKLE_HEIGHT_MM is already taken off), speed = how
fast it moves along the floor, mm/s.

Contact (hysteresis, so a flag does not flicker on noise): a foot comes into contact when it is lower
than on_height_mm and slower than on_speed_mm_s (speed of its low-passed position), and leaves it when it rises above off_height_mm or
moves faster than off_speed_mm_s.

Pinning: when a foot comes into contact its ankle position is stored (its height set to standing
height above the floor when snap_to_floor); while the contact lasts the leg is solved so the ankle stays
there (on a leash: once the network's ankle is more than leash_mm away along the floor, the pin is dragged
after it, so pinning removes jitter and small slides but never fights real motion such as a shuffle):
two-bone analytic IK with the hip fixed, thigh and shin lengths kept, the knee turning in the
plane of the current leg (its bend direction kept). When contact ends the ankle would jump back to the
network's position, so the offset fades out linearly over release_s instead. A target the leg cannot
reach (longer than thigh + shin) is approached along the hip-target line as far as the leg reaches.
With no_penetration, a foot not in contact that is below standing height (noise, a floor slightly
off) is lifted onto the floor the same way, so feet never sink into it.
"""

import math
from dataclasses import dataclass

import numpy as np

from app.motion.floor import ANKLE_HEIGHT_MM, WorldFrame

# (hip, knee, ankle) joint indices of each leg, right then left; FEET names them in that order.
LEGS = ((1, 2, 3), (4, 5, 6))
FEET = ("right", "left")
POLE_WEIGHT = 0.25  # the knee's offset (in thighs) that the pole direction counts for


@dataclass(frozen=True)
class ContactConfig:
    """Contact thresholds (hysteresis) and pinning."""

    on_height_mm: float = 70.0
    off_height_mm: float = 130.0
    on_speed_mm_s: float = 450.0
    off_speed_mm_s: float = 900.0
    speed_smoothing_s: float = 0.05  # time constant of the low-pass on ankle positions before speeds are taken
    release_s: float = 0.2  # a released foot returns to the network's position over this long
    snap_to_floor: bool = True  # a pinned ankle sits at standing height above the floor
    leash_mm: float = 100.0  # a pin follows the network's foot once it is further than this along the floor
    no_penetration: bool = True  # an ankle below standing height is lifted onto the floor (feet never sink in)
    pin: bool = True


def two_bone_ik(hip: np.ndarray, knee: np.ndarray, ankle: np.ndarray, target: np.ndarray,
                pole: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(knee, ankle) moved so the ankle reaches `target` (or as close as the leg reaches), lengths kept.

    All (3,) mm. The hip stays; the knee keeps bending the way it bends now (its offset from the
    hip-ankle line), biased towards `pole` (a unit direction, e.g. the person's forward for a knee), which
    decides for a leg too straight to have a bend of its own.
    """
    thigh = _norm(knee - hip)
    shin = _norm(ankle - knee)
    to_target = target - hip
    dist = _norm(to_target)
    if dist < 1e-6 or thigh < 1e-6 or shin < 1e-6:
        return knee.copy(), ankle.copy()
    direction = to_target / dist
    dist = float(np.clip(dist, abs(thigh - shin) + 1e-3, thigh + shin - 1e-3))
    # The bend is taken about the current hip-ankle line: about the target line, a nearly straight knee
    # could fall on the wrong side and the solve would bend the leg backwards.
    along = ankle - hip
    along = along / max(_norm(along), 1e-9)
    bend = (knee - hip) - ((knee - hip) @ along) * along
    if pole is not None:
        # A nearly straight leg's bend direction is noise; knees do not bend backwards. The pole weighs as
        # much as a bend of about 15 degrees, so only a clearly bent leg keeps a bend of its own.
        bend = bend + POLE_WEIGHT * thigh * np.asarray(pole, dtype=np.float64)
    bend = bend - (bend @ direction) * direction
    if _norm(bend) < 1e-6:
        helper = np.array([0.0, 0.0, -1.0]) if abs(direction[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
        bend = _cross(direction, _cross(helper, direction))
    bend = bend / _norm(bend)
    cos = (thigh ** 2 + dist ** 2 - shin ** 2) / (2.0 * thigh * dist)
    sin = np.sqrt(max(0.0, 1.0 - cos ** 2))
    new_knee = hip + thigh * (cos * direction + sin * bend)
    new_ankle = hip + dist * direction
    return new_knee, new_ankle


def forward_of(joints: np.ndarray) -> np.ndarray:
    """(3,) unit direction a person faces (where knees bend): left-hip line x spine, camera axes."""
    forward = _cross(joints[4] - joints[1], joints[7] - joints[0])
    return forward / max(_norm(forward), 1e-9)


# Plain-float helpers: numpy's cross and norm cost ~10 us each on 3-vectors, and these run per foot per frame.
def _norm(v: np.ndarray) -> float:
    return math.sqrt(float(v @ v))


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.array([a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]])


class FootContact:
    """One track's two feet: contact flags and pinning, frame by frame.

    __call__(joints_camera, t, world) -> (joints (17, 3) camera mm with pinned legs, contact (2,) bool right,
    left). Without a world frame (floor not known yet) nothing is in contact and nothing moves.
    """

    def __init__(self, config: ContactConfig = ContactConfig()):
        self.config = config
        self.contact = np.zeros(2, dtype=bool)
        self._anchor = np.zeros((2, 3))  # camera mm: where a pinned ankle is held
        self._release = np.zeros((2, 3))  # offset (mm) a released ankle still carries
        self._release_left = np.zeros(2)  # seconds of fading left
        self._smoothed: np.ndarray | None = None  # (2, 3) low-passed unpinned ankles, world mm
        self._t: float | None = None

    def reset(self) -> None:
        self.__init__(self.config)

    def __call__(self, joints_camera: np.ndarray, t: float, world: WorldFrame | None) -> tuple[np.ndarray, np.ndarray]:
        joints = np.array(joints_camera, dtype=np.float64)
        if world is None or not np.isfinite(joints).all():
            self.reset()
            return joints, self.contact.copy()
        c = self.config
        ankles = joints[[leg[2] for leg in LEGS]]
        heights = world.height(ankles) - ANKLE_HEIGHT_MM
        world_ankles = world.to_world(ankles)
        dt = None if self._t is None else t - self._t
        if dt is not None and dt > 0 and self._smoothed is not None:
            # Per-frame position noise divided by a frame's duration would swamp the speed: low-pass first.
            alpha = dt / (c.speed_smoothing_s + dt)
            smoothed = self._smoothed + alpha * (world_ankles - self._smoothed)
            speeds = np.linalg.norm((smoothed - self._smoothed)[:, [0, 2]], axis=1) / dt
        else:
            smoothed = world_ankles
            speeds = np.full(2, np.inf)  # unknown speed: no new contact on a track's first frame
        self._smoothed, self._t = smoothed, t
        for foot, (hip, knee, ankle) in enumerate(LEGS):
            was = bool(self.contact[foot])
            if was:
                now = not (heights[foot] > c.off_height_mm or speeds[foot] > c.off_speed_mm_s)
            else:
                now = bool(heights[foot] < c.on_height_mm and speeds[foot] < c.on_speed_mm_s)
            self.contact[foot] = now
            if not c.pin:
                continue
            if now and not was:
                anchor = joints[ankle].copy()
                if c.snap_to_floor:
                    anchor -= heights[foot] * world.normal
                self._anchor[foot] = anchor
            elif was and not now:
                self._release[foot] = self._anchor[foot] - joints[ankle]
                self._release_left[foot] = c.release_s
            if now:
                offset = self._anchor[foot] - joints[ankle]
                along = offset - (offset @ world.normal) * world.normal  # the leash is along the floor only
                distance = _norm(along)
                if distance > c.leash_mm:
                    self._anchor[foot] -= along * (1.0 - c.leash_mm / distance)
                target = self._anchor[foot]
            elif self._release_left[foot] > 0 and dt is not None and dt > 0:
                fade = self._release_left[foot] / c.release_s
                target = joints[ankle] + fade * self._release[foot]
                self._release_left[foot] = max(0.0, self._release_left[foot] - dt)
            else:
                target = None
            if c.no_penetration:
                below = float(world.height(joints[ankle] if target is None else target)) - ANKLE_HEIGHT_MM
                if below < 0.0:
                    target = (joints[ankle] if target is None else target) - below * world.normal
            if target is None:
                continue
            joints[knee], joints[ankle] = two_bone_ik(joints[hip], joints[knee], joints[ankle], target,
                                                      forward_of(joints))
        return joints, self.contact.copy()
