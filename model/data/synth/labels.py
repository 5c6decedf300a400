"""The 17-joint labels of a body in the teacher's definition, and moving them by the teacher offsets.

The teacher (MediaPipe BlazePose -> Human3.6M, app/backends/mediapipe_backend.blazepose_to_h36m) observes
13 joints directly (hips, knees, ankles, shoulders, elbows, wrists, nose) and derives the rest:
pelvis = mid-hips, thorax = mid-shoulders, spine = mid(pelvis, thorax), head top = mid-ears +
0.5 (mid-ears - thorax). The synthetic labels are built the same way (model/data/synth/body.py), so the
derived joints follow the direct ones when those move by their offsets.

Offsets are mm in the frame of the body segment each joint rides on (body.JOINT_SEGMENT; the
segment's neutral RFU frame: x the person's right, y forward, z up when standing in the neutral pose),
so one number per joint and axis holds for every pose and view.
"""

import numpy as np

DIRECT = (1, 2, 3, 4, 5, 6, 9, 11, 12, 13, 14, 15, 16)
HEAD, THORAX, SPINE, PELVIS = 10, 8, 7, 0


def derive(joints: np.ndarray, ears: np.ndarray) -> np.ndarray:
    """Fill pelvis, spine, thorax and head top of (17, 3) joints (in place) from the direct joints and mid-ears (3,)."""
    joints[PELVIS] = (joints[1] + joints[4]) / 2
    joints[THORAX] = (joints[11] + joints[14]) / 2
    joints[SPINE] = (joints[PELVIS] + joints[THORAX]) / 2
    joints[HEAD] = ears + 0.5 * (ears - joints[THORAX])
    return joints


def apply_offsets(joints: np.ndarray, frames: np.ndarray, offsets_mm: np.ndarray, unit_mm: float) -> np.ndarray:
    """Move (..., 17, 3) joints (unit_mm mm per unit: 1 for mm, 1000 for m) by offsets (17, 3) mm given in each
    joint's segment frame; frames: (..., 17, 3, 3) rotations of those frames into the joints' axes.

    Direct joints move by their own offsets, the derived ones follow (the head top also moves by its own
    offset and by -0.5 x the thorax's move, as mid-ears + 0.5 (mid-ears - thorax) does).
    """
    out = np.array(joints, dtype=np.float64, copy=True)
    move = np.einsum("...jab,jb->...ja", frames, np.asarray(offsets_mm, np.float64)) / unit_mm
    thorax_before = out[..., THORAX, :].copy()
    for i in DIRECT:
        out[..., i, :] += move[..., i, :]
    out[..., PELVIS, :] = (out[..., 1, :] + out[..., 4, :]) / 2
    out[..., THORAX, :] = (out[..., 11, :] + out[..., 14, :]) / 2
    out[..., SPINE, :] = (out[..., PELVIS, :] + out[..., THORAX, :]) / 2
    out[..., HEAD, :] += move[..., HEAD, :] - 0.5 * (out[..., THORAX, :] - thorax_before)
    return out


def corrected(labels: dict, delta_mm: np.ndarray, crop_size: int) -> dict:
    """Shard labels (model/data/synth/shards.SHARD_ARRAYS, N samples) with the joints moved by further offsets delta_mm
    (17, 3): 3D, root, 2D (re-projected with each crop's K) and `inside`; `occluded` is kept as it was."""
    absolute = labels["joints_3d"].astype(np.float64) + labels["root_mm"][:, None, :]
    moved = apply_offsets(absolute, labels["frames"].astype(np.float64), delta_mm, 1.0)
    root = moved[:, PELVIS, :]
    K = labels["K"].astype(np.float64)
    uv = moved[..., :2] / moved[..., 2:3]
    joints_2d = np.einsum("nab,njb->nja", K[:, :2, :2], uv) + K[:, None, :2, 2]
    inside = ((joints_2d >= 0) & (joints_2d <= crop_size - 1)).all(-1) & (moved[..., 2] > 0)
    out = dict(labels)
    out.update(joints_3d=(moved - root[:, None]).astype(np.float32), root_mm=root.astype(np.float32),
               joints_2d=joints_2d.astype(np.float32), inside=inside)
    return out
