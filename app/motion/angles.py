"""Joint angles of the 17-joint skeleton, in degrees: the one place where each angle is defined.

Input: joints (..., 17, 3) in the Human3.6M order of model.net.skeleton, any unit (mm in the app), any
right-handed frame (camera or world): every angle below is between two segments of the body, except
trunk flexion, which is measured against an `up` direction given in the same frame as the joints (default
(0, -1, 0), the camera's up: camera y points down; pass (0, 1, 0) for the world frame of app.motion.floor).

ANGLE_NAMES (output columns of joint_angles, in this order), all in degrees:
- r_knee, l_knee: angle at the knee between thigh (knee->hip) and shank (knee->ankle); 180 = straight leg,
  90 = right angle.
- r_hip, l_hip (hip flexion): angle at the hip between the trunk (pelvis->thorax) and the thigh (hip->knee);
  180 = standing straight, 90 = thigh horizontal in front (sitting), smaller = knee towards the chest.
- r_elbow, l_elbow: angle at the elbow between upper arm (elbow->shoulder) and forearm (elbow->wrist);
  180 = straight arm.
- r_shoulder, l_shoulder: angle between the trunk's down direction (thorax->pelvis) and the upper arm
  (shoulder->elbow); 0 = arm hanging along the trunk, 90 = arm horizontal, 180 = arm straight up.
- trunk: trunk flexion, angle between pelvis->thorax and `up`; 0 = upright, 90 = trunk horizontal.
- neck: neck flexion, angle between the neck (thorax->head top) and the trunk (pelvis->thorax); 0 = head
  in line with the trunk.

Angles are unsigned (the angle between two directions, 0..180): they say how far a joint is bent, not in
which plane. A segment of zero length gives NaN for the angles it takes part in.

every_joint_angle: for every joint with a parent and at least one child, the angle at that joint between
the bone to its parent and the bone to each child (EVERY_ANGLE_NAMES, "joint>child"); 180 = in line.
It is what "every joint angle" comparisons (fitted vs raw motion) are measured over.
"""

import numpy as np

from model.net.skeleton import JOINT_NAMES, PARENTS

PELVIS, R_HIP, R_KNEE, R_ANKLE, L_HIP, L_KNEE, L_ANKLE, SPINE, THORAX, NOSE, HEAD = range(11)
L_SHOULDER, L_ELBOW, L_WRIST, R_SHOULDER, R_ELBOW, R_WRIST = range(11, 17)

ANGLE_NAMES: tuple[str, ...] = (
    "r_knee", "l_knee", "r_hip", "l_hip", "r_elbow", "l_elbow", "r_shoulder", "l_shoulder", "trunk", "neck",
)

CAMERA_UP = (0.0, -1.0, 0.0)  # camera axes: y points down
WORLD_UP = (0.0, 1.0, 0.0)  # the world frame of app.motion.floor: Y up


def angle_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(...,) degrees between vectors a and b (..., 3); NaN where either has zero length."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    norms = np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cos = np.sum(a * b, axis=-1) / norms
    cos = np.where(norms > 1e-12, np.clip(cos, -1.0, 1.0), np.nan)
    return np.degrees(np.arccos(cos))


def joint_angles(joints_3d: np.ndarray, up=CAMERA_UP) -> np.ndarray:
    """(..., len(ANGLE_NAMES)) degrees, in ANGLE_NAMES order (module docstring), of joints (..., 17, 3)."""
    j = np.asarray(joints_3d, dtype=np.float64)
    if j.shape[-2:] != (len(JOINT_NAMES), 3):
        raise ValueError(f"joints must be (..., {len(JOINT_NAMES)}, 3), got {j.shape}")
    up = np.broadcast_to(np.asarray(up, dtype=np.float64), j[..., 0, :].shape)

    def at(joint: int, first: int, second: int) -> np.ndarray:
        return angle_between(j[..., first, :] - j[..., joint, :], j[..., second, :] - j[..., joint, :])

    trunk = j[..., THORAX, :] - j[..., PELVIS, :]
    columns = {
        "r_knee": at(R_KNEE, R_HIP, R_ANKLE),
        "l_knee": at(L_KNEE, L_HIP, L_ANKLE),
        "r_hip": angle_between(trunk, j[..., R_KNEE, :] - j[..., R_HIP, :]),
        "l_hip": angle_between(trunk, j[..., L_KNEE, :] - j[..., L_HIP, :]),
        "r_elbow": at(R_ELBOW, R_SHOULDER, R_WRIST),
        "l_elbow": at(L_ELBOW, L_SHOULDER, L_WRIST),
        "r_shoulder": angle_between(-trunk, j[..., R_ELBOW, :] - j[..., R_SHOULDER, :]),
        "l_shoulder": angle_between(-trunk, j[..., L_ELBOW, :] - j[..., L_SHOULDER, :]),
        "trunk": angle_between(trunk, up),
        "neck": angle_between(j[..., HEAD, :] - j[..., THORAX, :], trunk),
    }
    return np.stack([columns[name] for name in ANGLE_NAMES], axis=-1)


def _every_triplets() -> tuple[tuple[int, int, int], ...]:
    """(parent, joint, child) for every joint that has a parent and a child, children in index order."""
    return tuple((PARENTS[joint], joint, child) for joint in range(len(PARENTS)) if PARENTS[joint] >= 0
                 for child in range(len(PARENTS)) if PARENTS[child] == joint)


EVERY_TRIPLETS: tuple[tuple[int, int, int], ...] = _every_triplets()
EVERY_ANGLE_NAMES: tuple[str, ...] = tuple(f"{JOINT_NAMES[j]}>{JOINT_NAMES[c]}" for _, j, c in EVERY_TRIPLETS)


def every_joint_angle(joints_3d: np.ndarray) -> np.ndarray:
    """(..., len(EVERY_ANGLE_NAMES)) degrees at every joint between its parent bone and each child bone."""
    j = np.asarray(joints_3d, dtype=np.float64)
    if j.shape[-2:] != (len(JOINT_NAMES), 3):
        raise ValueError(f"joints must be (..., {len(JOINT_NAMES)}, 3), got {j.shape}")
    parent, joint, child = (list(column) for column in zip(*EVERY_TRIPLETS))
    return angle_between(j[..., parent, :] - j[..., joint, :], j[..., child, :] - j[..., joint, :])
