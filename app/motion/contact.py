"""Foot contact per foot per frame, and foot pinning: a foot in contact stays put, the pose stays the network's.

Frames and units: joints are absolute camera coordinates, (17, 3) mm (x right, y down, z forward);
heights and speeds are measured in the floor's frame (app.motion.floor.WorldFrame): height = how far the
ankle is above where it is when standing on the person's support (the floor, or the plane of their own
that app.motion.support keeps, support_mm above it; ANKLE_HEIGHT_MM is already taken off), speed = how
fast it moves along the floor, mm/s.

Contact (hysteresis, so a flag does not flicker on noise): a foot comes into contact when it is lower
than on_height_mm and slower than on_speed_mm_s (speed of its low-passed position), and leaves it when it
rises above off_height_mm or moves faster than off_speed_mm_s.

Pinning never changes the body's posture. When a foot comes into contact, where its ankle is shown is
stored as its pin: along the floor where it is drawn, in height the network's or, when snap_to_floor and
that is at most max_ik_mm away, standing height on the support. While feet are in contact the whole body
is shifted (a translation: no joint angle changes) by the mean of their pins' offsets, so a single stance
foot stays exactly put; the pins are on a leash (once the network's ankle is more than leash_mm away
along the floor, the pin is dragged after it), so the shift stays a few centimetres and pinning removes
jitter and small slides but never fights real motion. When no foot is in contact any more the shift fades
out linearly over release_s. What is left with both feet down (their offsets differ) is corrected by
two-bone IK (hip fixed, thigh and shin lengths kept, the knee turning in the plane of the current leg),
only where it moves the ankle by at most max_ik_mm and changes no joint angle
(app.motion.angles.every_joint_angle) by more than max_angle_deg: a pin further than max_ik_mm moves to
where the foot is shown (the network's leg is kept); one the leg cannot reach within the angle limit is
approached along the floor (what sliding is) as far as the limit allows. With no_penetration, a foot not
in contact that is below standing height is lifted onto its support the same way (the same limits).
Large disagreements between feet and floor are the placement's (app.motion.support), never the legs'.
"""

import math
from dataclasses import dataclass

import numpy as np

from app.motion.angles import every_joint_angle
from app.motion.floor import ANKLE_HEIGHT_MM, WorldFrame

# (hip, knee, ankle) joint indices of each leg, right then left; FEET names them in that order.
LEGS = ((1, 2, 3), (4, 5, 6))
FEET = ("right", "left")
POLE_WEIGHT = 0.25  # the knee's offset (in thighs) that the pole direction counts for
IK_HALVINGS = 4  # a pin IK cannot reach within the angle limit is approached to 1/16 of the way


@dataclass(frozen=True)
class ContactConfig:
    """Contact thresholds (hysteresis) and pinning."""

    on_height_mm: float = 70.0
    off_height_mm: float = 130.0
    on_speed_mm_s: float = 450.0
    off_speed_mm_s: float = 900.0
    speed_smoothing_s: float = 0.05  # time constant of the low-pass on ankle positions before speeds are taken
    release_s: float = 0.2  # once no foot is in contact, the body returns to the network's position over this long
    snap_to_floor: bool = True  # a pinned ankle sits at standing height above the floor
    # A pin follows the network's foot once it is further than this along the floor. 150, not 100, since the
    # weights fine-tuned with hands on the head (2026-12-07, late): their planted ankles wander a little further,
    # and at 100 the pins were dragged on the bundled clip (sliding p90 0.9 mm, issue 23's bar 0.6; 0.0 at 150).
    # bench.motion_quality at 150: sliding p90 0.1 -> 0.0 mm, worst per-track angle change 1.9 -> 2.3 degrees,
    # floor-placed root error 202 -> 208 mm.
    leash_mm: float = 150.0
    no_penetration: bool = True  # an ankle below standing height is lifted onto the floor (feet never sink in)
    pin: bool = True
    max_ik_mm: float = 50.0  # IK moves an ankle at most this far; larger gaps are left to the placement
    # IK is skipped when it would change any joint angle by more than this. 5, not 3: with both feet down the
    # BlazePose-backbone network's feet disagree by a little more, and at 3 degrees the nearly straight knees
    # could not take it (sliding p90 3.5 mm on bench.motion_quality's clips; 0.0 at 5, per-track median
    # angle change unchanged at 2.5 degrees, placement unchanged).
    max_angle_deg: float = 5.0


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

    __call__(joints_camera, t, world, support_mm) -> (joints (17, 3) camera mm, shifted and pinned, contact
    (2,) bool right, left); support_mm: height of the plane the person stands on above the floor (0: the
    floor). Without a world frame (floor not known yet) nothing is in contact and nothing moves.
    """

    def __init__(self, config: ContactConfig = ContactConfig()):
        self.config = config
        self.contact = np.zeros(2, dtype=bool)
        self._anchor = np.zeros((2, 3))  # camera mm: where a pinned ankle is held
        self._shift = np.zeros(3)  # camera mm: the body's translation towards its pins
        self._release_shift = np.zeros(3)  # the shift when the last foot left the ground
        self._release_left = 0.0  # seconds of fading left
        self._smoothed: np.ndarray | None = None  # (2, 3) low-passed unpinned ankles, world mm
        self._t: float | None = None

    def reset(self) -> None:
        self.__init__(self.config)

    def __call__(self, joints_camera: np.ndarray, t: float, world: WorldFrame | None,
                 support_mm: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        joints = np.array(joints_camera, dtype=np.float64)
        if world is None or not np.isfinite(joints).all():
            self.reset()
            return joints, self.contact.copy()
        c = self.config
        ankles = joints[[leg[2] for leg in LEGS]]
        heights = world.height(ankles) - ANKLE_HEIGHT_MM - support_mm
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
        was = self.contact.copy()
        for foot in range(2):
            if was[foot]:
                self.contact[foot] = not (heights[foot] > c.off_height_mm or speeds[foot] > c.off_speed_mm_s)
            else:
                self.contact[foot] = bool(heights[foot] < c.on_height_mm and speeds[foot] < c.on_speed_mm_s)
        if not c.pin:
            return joints, self.contact.copy()
        normal = world.normal
        for foot in range(2):
            if self.contact[foot] and not was[foot]:
                # Along the floor the pin is where the foot is shown; its height is the network's or, snapped,
                # the support's: a shift inherited from the other foot must not pile up heights step after step.
                along = self._shift - (self._shift @ normal) * normal
                snap = c.snap_to_floor and abs(heights[foot]) <= c.max_ik_mm
                self._anchor[foot] = ankles[foot] + along - (heights[foot] * normal if snap else 0.0)
            if self.contact[foot]:
                offset = self._anchor[foot] - ankles[foot]
                along = offset - (offset @ normal) * normal  # the leash is along the floor only
                distance = _norm(along)
                if distance > c.leash_mm:
                    self._anchor[foot] -= along * (1.0 - c.leash_mm / distance)
        if self.contact.any():
            self._shift = (self._anchor[self.contact] - ankles[self.contact]).mean(axis=0)
            self._release_left = 0.0
        elif was.any():
            self._release_shift, self._release_left = self._shift, c.release_s
        elif self._release_left > 0 and dt is not None and dt > 0:
            self._release_left = max(0.0, self._release_left - dt)
            self._shift = self._release_shift * (self._release_left / c.release_s)
        joints += self._shift
        network_angles = None
        for foot, (hip, knee, ankle) in enumerate(LEGS):
            if self.contact[foot]:
                target = self._anchor[foot]
            elif c.no_penetration and float(world.height(joints[ankle])) - ANKLE_HEIGHT_MM - support_mm < 0.0:
                target = joints[ankle] - (float(world.height(joints[ankle])) - ANKLE_HEIGHT_MM - support_mm) * normal
            else:
                continue
            if _norm(target - joints[ankle]) < 1e-6:
                continue
            if _norm(target - joints[ankle]) > c.max_ik_mm:
                self._give_up(foot, joints[ankle])
                continue
            if network_angles is None:
                network_angles = every_joint_angle(joints)
            joints = self._leg_towards(joints, (hip, knee, ankle), target, network_angles, normal)
        return joints, self.contact.copy()

    def _leg_towards(self, joints: np.ndarray, leg: tuple[int, int, int], target: np.ndarray,
                     network_angles: np.ndarray, normal: np.ndarray) -> np.ndarray:
        """joints with the leg solved for the ankle to go to `target`, or as far towards it as keeps every joint
        angle within max_angle_deg of network_angles; unchanged if no way does.

        Failing the whole way, only the part along the floor is taken (what sliding is; a nearly straight knee
        would bend a lot to move its ankle a few mm up or down, but swings about the hip to move it sideways),
        as far as the limit allows (halving the way, IK_HALVINGS times)."""
        hip, knee, ankle = leg
        forward = forward_of(joints)
        limit = self.config.max_angle_deg
        legged = joints.copy()
        legged[knee], legged[ankle] = two_bone_ik(joints[hip], joints[knee], joints[ankle], target, forward)
        if np.nan_to_num(np.abs(every_joint_angle(legged) - network_angles)).max() <= limit:
            return legged
        offset = target - joints[ankle]
        target = joints[ankle] + offset - (offset @ normal) * normal
        fraction, step, best = 1.0, 0.5, None
        for _ in range(IK_HALVINGS + 1):
            legged = joints.copy()
            goal = joints[ankle] + fraction * (target - joints[ankle])
            legged[knee], legged[ankle] = two_bone_ik(joints[hip], joints[knee], joints[ankle], goal, forward)
            if np.nan_to_num(np.abs(every_joint_angle(legged) - network_angles)).max() <= self.config.max_angle_deg:
                if fraction == 1.0:
                    return legged
                best, fraction = legged, fraction + step
            else:
                fraction -= step
            step *= 0.5
        return joints if best is None else best

    def _give_up(self, foot: int, shown: np.ndarray) -> None:
        """The leg stays the network's: a foot in contact is pinned where it is shown from now on."""
        if self.contact[foot]:
            self._anchor[foot] = shown
