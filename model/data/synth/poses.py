"""Body poses for the synthetic people: explicit pose families with random joint angles, and DeepMimic clips retargeted.

A pose is body-model independent: rotations of body segments in the person's own frame "RFU" (x to the
person's right, y forward, z up; right-handed; metres where lengths appear), each relative to the
NEUTRAL pose (standing upright, arms hanging by the sides, elbows and knees straight):

  root      body frame -> world (Z up): which way the person faces, or lies
  chest     torso above the pelvis (spine bend and twist), absolute in the body frame
  head      head and neck, absolute in the body frame
  upperarm.L/R, lowerarm.L/R, upperleg.L/R, lowerleg.L/R, foot.L/R: each segment's absolute rotation

Elbows flex about the upper arm's x axis (R_lower = R_upper Rx(b), forearm forward for b > 0), knees
about the thigh's x axis the other way (R_lower = R_upper Rx(-k), shin backward). Angle ranges stay within
ordinary joint limits (elbow 0-150, knee 0-155, hip flexion -30..130, shoulder elevation 0-180 degrees).

Families (FAMILIES) cover what the footage lacks: raised and outstretched arms, crouching, sitting,
kneeling, kicking, lying, bending over, hands on the head or face ('touch': hair, ears, face, the back of the
head; what webcam users do all the time); plus 'mocap' (a DeepMimic frame, model/data/mocap.py) and 'random'.
"""

from dataclasses import dataclass, field

import numpy as np

FAMILIES = ("stand", "walk", "arms_up", "arms_out", "arms_forward", "reach", "crouch", "sit_chair",
            "sit_ground", "kneel", "kick", "lunge", "bend", "lying", "random", "touch", "mocap")
SEGMENTS = ("chest", "head", "upperarm.L", "lowerarm.L", "upperarm.R", "lowerarm.R", "upperleg.L", "lowerleg.L",
            "upperleg.R", "lowerleg.R", "foot.L", "foot.R")


@dataclass(frozen=True)
class BodyPose:
    """root (3, 3) body RFU -> world; segments: {name: (3, 3) absolute rotation in RFU, from neutral}; how it was made."""

    root: np.ndarray
    segments: dict = field(default_factory=dict)
    family: str = "stand"
    source: str = ""  # e.g. the DeepMimic clip and frame


def rot(axis, degrees: float) -> np.ndarray:
    """(3, 3) rotation by `degrees` about `axis` (right-hand rule)."""
    a = np.asarray(axis, np.float64)
    a = a / np.linalg.norm(a)
    t = np.radians(degrees)
    k = np.array([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]])
    return np.eye(3) + np.sin(t) * k + (1 - np.cos(t)) * (k @ k)


def swing(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The smallest rotation taking direction a to direction b (3, 3)."""
    a = a / np.linalg.norm(a)
    b = b / np.linalg.norm(b)
    axis = np.cross(a, b)
    s, c = np.linalg.norm(axis), float(np.clip(a @ b, -1.0, 1.0))
    if s < 1e-9:
        if c > 0:
            return np.eye(3)
        # Opposite directions: half a turn about any axis perpendicular to a.
        perp = np.cross(a, [1.0, 0.0, 0.0])
        if np.linalg.norm(perp) < 1e-6:
            perp = np.cross(a, [0.0, 1.0, 0.0])
        return rot(perp, 180.0)
    return rot(axis, np.degrees(np.arctan2(s, c)))


def frame(x: np.ndarray, z_hint: np.ndarray) -> np.ndarray:
    """(3, 3) rotation with columns x, y = z cross x, z: x exact, z the hint made perpendicular."""
    x = x / np.linalg.norm(x)
    z = z_hint - (z_hint @ x) * x
    z = z / np.linalg.norm(z)
    return np.stack([x, np.cross(z, x), z], axis=1)


X, Y, Z = np.eye(3)
DOWN = -Z


def arm(side: int, elevation: float, plane: float, twist: float, elbow: float) -> tuple[np.ndarray, np.ndarray]:
    """Upper and lower arm rotations. side +1 right, -1 left; elevation 0 (down) .. 180 (up); plane 0 sideways,
    90 forward, negative behind; twist (humeral rotation, + turns the forearm inwards); elbow flexion."""
    p = np.array([side * np.cos(np.radians(plane)), np.sin(np.radians(plane)), 0.0])
    raise_ = rot(np.cross(DOWN, p), elevation) if elevation > 1e-6 else np.eye(3)
    d = raise_ @ DOWN
    upper = rot(d, -side * twist) @ raise_
    lower = upper @ rot(X, elbow)
    return upper, lower


def leg(side: int, flexion: float, abduction: float, twist: float, knee: float, ankle: float = 0.0):
    """Thigh, shin and foot rotations. flexion + swings the thigh forward; abduction + outwards; knee flexion
    bends the shin backward; ankle + lifts the toes."""
    upper = rot(Y, -side * abduction) @ rot(X, flexion) @ rot(Z, side * twist)
    lower = upper @ rot(X, -knee)
    foot = lower @ rot(X, ankle)
    return upper, lower, foot


def torso(flexion: float, lateral: float, twist: float) -> np.ndarray:
    """Chest rotation: flexion + bends forward, lateral + to the person's right, twist + turns left."""
    return rot(Z, twist) @ rot(Y, lateral) @ rot(X, -flexion)


def head(nod: float, turn: float, tilt: float) -> np.ndarray:
    return rot(Z, turn) @ rot(Y, tilt) @ rot(X, -nod)


def _u(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(rng.uniform(lo, hi))


def _arm_random(rng, side: int, kind: str) -> tuple[np.ndarray, np.ndarray]:
    if kind == "touch":
        return _touch_arm(rng, side)
    if kind == "down":
        return arm(side, _u(rng, 0, 45), _u(rng, -30, 90), _u(rng, -30, 60), _u(rng, 0, 100))
    if kind == "up":
        return arm(side, _u(rng, 125, 180), _u(rng, -10, 90), _u(rng, -40, 60), _u(rng, 0, 70))
    if kind == "out":
        return arm(side, _u(rng, 65, 115), _u(rng, -25, 35), _u(rng, -40, 60), _u(rng, 0, 45))
    if kind == "forward":
        return arm(side, _u(rng, 55, 125), _u(rng, 55, 105), _u(rng, -30, 60), _u(rng, 0, 100))
    if kind == "head":  # hands to the head or face
        return arm(side, _u(rng, 90, 150), _u(rng, 10, 70), _u(rng, -20, 40), _u(rng, 110, 150))
    # any: elevation and plane together within reach (far behind the back only low)
    elevation = _u(rng, 0, 180)
    plane = _u(rng, -40 if elevation < 80 else -10, 110)
    return arm(side, elevation, plane, _u(rng, -60, 90), _u(rng, 0, 150))


# Where a hand lands in 'touch': the head's centre in the body frame (RFU, m, from the shoulders' midpoint) and
# how far from it; a straight-line arm model (shoulder half-width, upper arm, forearm) is close enough for that.
HEAD_CENTRE = np.array([0.0, 0.03, 0.22])
TOUCH_REACH_M = 0.16
_SHOULDER_HALF, _UPPER_ARM, _FOREARM = 0.19, 0.29, 0.26


def _touch_arm(rng, side: int) -> tuple[np.ndarray, np.ndarray]:
    """An arm whose hand is on the head (within TOUCH_REACH_M of HEAD_CENTRE): rejection sampling over ranges
    that hold about 10 % of such arms; the last draw if none lands (rare)."""
    for _ in range(100):
        upper, lower = arm(side, _u(rng, 80, 175), _u(rng, 0, 100), _u(rng, -40, 70), _u(rng, 75, 155))
        hand = np.array([side * _SHOULDER_HALF, 0, 0]) + _UPPER_ARM * (upper @ DOWN) + _FOREARM * (lower @ DOWN)
        if np.linalg.norm(hand - HEAD_CENTRE) < TOUCH_REACH_M:
            break
    return upper, lower


def _arm_kind(rng) -> str:
    return str(rng.choice(["down", "up", "out", "forward", "head", "any"], p=[0.3, 0.15, 0.15, 0.15, 0.1, 0.15]))


def sample_pose(family: str, rng: np.random.Generator) -> BodyPose:
    """One random pose of a family (not 'mocap': see retarget_17)."""
    seg: dict[str, np.ndarray] = {}
    chest = torso(_u(rng, -10, 25), _u(rng, -12, 12), _u(rng, -25, 25))
    hd = head(_u(rng, -25, 35), _u(rng, -50, 50), _u(rng, -15, 15))
    kinds = {1: _arm_kind(rng), -1: _arm_kind(rng)}
    legs = {s: leg(s, _u(rng, -10, 15), _u(rng, -5, 12), _u(rng, -15, 20), _u(rng, 0, 15), _u(rng, -10, 10))
            for s in (1, -1)}
    tilt = np.eye(3)  # extra whole-body rotation about the pelvis (lying)
    if family == "walk":
        a = _u(rng, 10, 40)
        legs = {1: leg(1, a, _u(rng, 0, 8), _u(rng, -10, 15), _u(rng, 0, 40)),
                -1: leg(-1, -_u(rng, 5, 25), _u(rng, 0, 8), _u(rng, -10, 15), _u(rng, 10, 70))}
    elif family == "arms_up":
        kinds = {1: "up", -1: "up" if rng.random() < 0.7 else _arm_kind(rng)}
    elif family == "arms_out":
        kinds = {1: "out", -1: "out" if rng.random() < 0.7 else _arm_kind(rng)}
    elif family == "arms_forward":
        kinds = {1: "forward", -1: "forward" if rng.random() < 0.6 else _arm_kind(rng)}
    elif family == "reach":  # one arm up or out far, body leaning
        kinds = {1: str(rng.choice(["up", "out", "forward"])), -1: _arm_kind(rng)}
        chest = torso(_u(rng, -10, 40), _u(rng, -30, 30), _u(rng, -40, 40))
    elif family == "crouch":
        legs = {s: leg(s, _u(rng, 80, 125), _u(rng, 5, 35), _u(rng, 0, 25), _u(rng, 110, 150), _u(rng, 10, 30))
                for s in (1, -1)}
        chest = torso(_u(rng, 10, 50), _u(rng, -10, 10), _u(rng, -20, 20))
    elif family == "sit_chair":
        legs = {s: leg(s, _u(rng, 75, 100), _u(rng, 0, 20), _u(rng, -10, 20), _u(rng, 60, 110)) for s in (1, -1)}
    elif family == "sit_ground":
        if rng.random() < 0.5:  # legs stretched out
            legs = {s: leg(s, _u(rng, 75, 95), _u(rng, 0, 25), _u(rng, -10, 20), _u(rng, 0, 40)) for s in (1, -1)}
        else:  # cross-legged
            legs = {s: leg(s, _u(rng, 55, 85), _u(rng, 35, 55), _u(rng, 25, 45), _u(rng, 120, 150)) for s in (1, -1)}
    elif family == "kneel":
        both = rng.random() < 0.5
        legs = {1: leg(1, _u(rng, -10, 25), _u(rng, 0, 12), _u(rng, -10, 10), _u(rng, 80, 125), _u(rng, -30, 0))}
        legs[-1] = (leg(-1, _u(rng, -10, 25), _u(rng, 0, 12), _u(rng, -10, 10), _u(rng, 80, 125), _u(rng, -30, 0))
                    if both else leg(-1, _u(rng, 70, 100), _u(rng, 0, 15), _u(rng, -10, 10), _u(rng, 70, 100)))
    elif family == "kick":
        if rng.random() < 0.6:  # front kick
            kicking = leg(1, _u(rng, 50, 120), _u(rng, 0, 20), _u(rng, -10, 20), _u(rng, 0, 60), _u(rng, -20, 30))
        else:  # side kick
            kicking = leg(1, _u(rng, 0, 40), _u(rng, 40, 75), _u(rng, -30, 10), _u(rng, 0, 50), _u(rng, -20, 20))
        legs = {1: kicking, -1: leg(-1, _u(rng, -10, 15), _u(rng, 0, 10), _u(rng, -10, 10), _u(rng, 0, 30))}
        kinds = {1: str(rng.choice(["out", "forward", "down"])), -1: str(rng.choice(["out", "forward", "down"]))}
        chest = torso(_u(rng, -25, 15), _u(rng, -20, 20), _u(rng, -30, 30))
    elif family == "lunge":
        legs = {1: leg(1, _u(rng, 55, 90), _u(rng, 0, 15), _u(rng, -10, 10), _u(rng, 60, 100)),
                -1: leg(-1, -_u(rng, 10, 30), _u(rng, 0, 10), _u(rng, -10, 10), _u(rng, 0, 40), _u(rng, 0, 30))}
    elif family == "bend":
        chest = torso(_u(rng, 40, 95), _u(rng, -20, 20), _u(rng, -30, 30))
        kinds = {1: str(rng.choice(["down", "forward", "any"])), -1: str(rng.choice(["down", "forward", "any"]))}
        legs = {s: leg(s, _u(rng, 0, 40), _u(rng, 0, 15), _u(rng, -10, 10), _u(rng, 0, 40)) for s in (1, -1)}
    elif family == "lying":
        # On the back, front or side, legs and arms anywhere within their limits.
        tilt = rot(X, float(rng.choice([-90.0, 90.0]))) @ rot(Z, float(rng.choice([0.0, 90.0, 180.0, -90.0])))
        tilt = rot(Y, _u(rng, -10, 10)) @ tilt if rng.random() < 0.5 else tilt
        legs = {s: leg(s, _u(rng, -10, 90), _u(rng, 0, 40), _u(rng, -20, 30), _u(rng, 0, 120)) for s in (1, -1)}
        kinds = {1: str(rng.choice(["down", "up", "out", "any"])), -1: str(rng.choice(["down", "up", "out", "any"]))}
    elif family == "touch":  # one hand (or both) on the hair, face, ear or the back of the head
        kinds = {1: "touch", -1: "touch" if rng.random() < 0.4 else _arm_kind(rng)}
        hd = head(_u(rng, -30, 40), _u(rng, -70, 70), _u(rng, -30, 30))
    elif family == "random":
        kinds = {1: "any", -1: "any"}
        legs = {s: leg(s, _u(rng, -25, 120), _u(rng, -10, 50), _u(rng, -30, 40), _u(rng, 0, 150), _u(rng, -30, 30))
                for s in (1, -1)}
        chest = torso(_u(rng, -25, 60), _u(rng, -25, 25), _u(rng, -40, 40))
    elif family != "stand":
        raise ValueError(f"unknown pose family '{family}'")
    if rng.random() < 0.5 and family not in ("walk", "lunge"):  # mirror: the sampler favours the right side
        kinds = {1: kinds[-1], -1: kinds[1]}
        legs = {1: _mirror_leg(legs[-1]), -1: _mirror_leg(legs[1])}
    for s, name in ((1, "R"), (-1, "L")):
        seg[f"upperarm.{name}"], seg[f"lowerarm.{name}"] = _arm_random(rng, s, kinds[s])
        seg[f"upperleg.{name}"], seg[f"lowerleg.{name}"], seg[f"foot.{name}"] = legs[s]
    # Arms and head move with the chest; legs stay in the pelvis frame.
    for name in ("upperarm.L", "lowerarm.L", "upperarm.R", "lowerarm.R"):
        seg[name] = chest @ seg[name]
    seg["chest"], seg["head"] = chest, chest @ hd
    yaw = rot(Z, _u(rng, -180, 180))
    return BodyPose(root=yaw @ tilt, segments=seg, family=family)


_MIRROR = np.diag([-1.0, 1.0, 1.0])


def _mirror_leg(rotations):
    """A leg's rotations for the other side (mirror about the sagittal plane: M R M)."""
    return tuple(_MIRROR @ r @ _MIRROR for r in rotations)


# model/data/mocap.py's 17-joint order (model.net.skeleton).
_PELVIS, _RHIP, _RKNEE, _RANKLE, _LHIP, _LKNEE, _LANKLE, _SPINE, _THORAX, _NOSE, _HEAD = range(11)
_LSHOULDER, _LELBOW, _LWRIST, _RSHOULDER, _RELBOW, _RWRIST = range(11, 17)


def _limb(parent: np.ndarray, d_upper: np.ndarray, d_lower: np.ndarray, sign: float) -> tuple[np.ndarray, np.ndarray]:
    """Upper and lower rotations (absolute, body frame) giving these segment directions, the hinge from the bend.

    sign +1: the lower segment bends towards the upper's +y (elbow), -1: towards -y (knee).
    A nearly straight limb keeps its parent's twist (smallest swing from the parent's neutral direction).
    """
    d_upper = d_upper / np.linalg.norm(d_upper)
    d_lower = d_lower / np.linalg.norm(d_lower)
    bend = np.degrees(np.arccos(np.clip(d_upper @ d_lower, -1, 1)))
    if bend < 8.0:
        upper = swing(parent @ DOWN, d_upper) @ parent
        return upper, swing(d_upper, d_lower) @ upper
    else:
        perp = d_lower - (d_lower @ d_upper) * d_upper
        y = sign * perp / np.linalg.norm(perp)
        z = -d_upper
        upper = np.stack([np.cross(y, z), y, z], axis=1)
    lower = upper @ rot(X, sign * bend)
    return upper, lower


def retarget_17(joints: np.ndarray, source: str = "") -> BodyPose:
    """A BodyPose from 17 joint positions in RFU-like world axes (x, y horizontal, z up; any unit; model.net.skeleton order).

    Root from the hips and the spine, chest from the shoulders, head from thorax -> head top and the nose,
    limbs from their joint directions with the hinge planes of the elbows and knees.
    """
    j = np.asarray(joints, np.float64)
    up = j[_THORAX] - j[_PELVIS]
    root = frame(j[_RHIP] - j[_LHIP], up)
    chest_w = frame(j[_RSHOULDER] - j[_LSHOULDER], j[_THORAX] - j[_SPINE])
    head_up = j[_HEAD] - j[_THORAX]
    head_w = frame(np.cross(j[_NOSE] - j[_THORAX], head_up), head_up)  # forward x up = right
    to_body = root.T
    seg = {"chest": to_body @ chest_w, "head": to_body @ head_w}
    for s, (sh, el, wr) in (("L", (_LSHOULDER, _LELBOW, _LWRIST)), ("R", (_RSHOULDER, _RELBOW, _RWRIST))):
        seg[f"upperarm.{s}"], seg[f"lowerarm.{s}"] = _limb(seg["chest"], to_body @ (j[el] - j[sh]),
                                                           to_body @ (j[wr] - j[el]), 1.0)
    for s, (hip, kn, an) in (("L", (_LHIP, _LKNEE, _LANKLE)), ("R", (_RHIP, _RKNEE, _RANKLE))):
        seg[f"upperleg.{s}"], seg[f"lowerleg.{s}"] = _limb(np.eye(3), to_body @ (j[kn] - j[hip]),
                                                           to_body @ (j[an] - j[kn]), -1.0)
        seg[f"foot.{s}"] = seg[f"lowerleg.{s}"]
    return BodyPose(root=root, segments=seg, family="mocap", source=source)


def deepmimic_to_rfu(joints_humanoid: np.ndarray) -> np.ndarray:
    """model/data/mocap.py's humanoid frame (x forward, y up, z right) -> x right, y forward, z up."""
    return joints_humanoid[..., [2, 0, 1]]
