"""DeepMimic motion-capture clips (shipped in pybullet_data) as 17-joint 3D sequences, seen by random cameras.

pybullet==3.2.7 (zlib licence) ships 15 humanoid clips (`pybullet_data/data/motions/humanoid3d_*.txt`,
from the DeepMimic project) and the humanoid they drive (`pybullet_data/humanoid/humanoid.urdf`). Each
frame holds the root position (m), the root and joint rotations (quaternions w, x, y, z) and the knee and
elbow angles. pybullet's forward kinematics (DIRECT mode, no window) turns them into joint positions.

The humanoid's frame: y up, x forward (the feet point along +x), z to the person's right; metres.
Mapping to the 17 Human3.6M joints (model.net.skeleton), kept consistent with the teacher's BlazePose mapping:
hips, knees, ankles, shoulders, elbows, wrists = the URDF joints of the same name; pelvis = mid-hips;
thorax = the neck joint; spine = mid(pelvis, thorax); head (top) and nose from the neck link's head
sphere (centre 0.175 m above the neck joint, radius 0.1025 m at the humanoid's 0.25 scale).

Virtual cameras (random_views) look at the person from a random azimuth, elevation and distance, with
a random roll; the result is what the lifting block sees: the 2.5D joints of a square person crop
(model.net.network.normalise_uvz's input) and the root-relative 3D joints in that camera's axes.
"""

import contextlib
import glob
import json
import os
import sys
from dataclasses import dataclass

import numpy as np

from model.atomic import atomic_open
from model.net.skeleton import NUM_JOINTS

# Motion-file layout after the duration: root pos (3), root rot (4), then per joint 4 (spherical) or 1
# (revolute) numbers, in this order. pybullet numbers the URDF joints differently: looked up by name.
_MOTION_JOINTS = (("chest", 4), ("neck", 4), ("right_hip", 4), ("right_knee", 1), ("right_ankle", 4),
                  ("right_shoulder", 4), ("right_elbow", 1), ("left_hip", 4), ("left_knee", 1),
                  ("left_ankle", 4), ("left_shoulder", 4), ("left_elbow", 1))
GLOBAL_SCALING = 0.25  # DeepMimic's own scale for this URDF: about 1.6 m tall
HEAD_CENTRE_M = 0.7 * GLOBAL_SCALING
HEAD_RADIUS_M = 0.41 * GLOBAL_SCALING


def motion_files() -> list[str]:
    """Paths of the DeepMimic humanoid clips in pybullet_data (empty if pybullet is not installed)."""
    try:
        import pybullet_data
    except ImportError:
        return []
    return sorted(glob.glob(os.path.join(pybullet_data.getDataPath(), "data", "motions", "humanoid3d_*.txt")))


def _xyzw(q_wxyz) -> list[float]:
    w, x, y, z = q_wxyz
    return [x, y, z, w]


def load_clip(path: str) -> np.ndarray:
    """One DeepMimic clip -> (T, 17, 3) joint positions in mm, humanoid frame (y up, x forward).

    Raises ValueError (one line, naming the file) for a file that is not a DeepMimic humanoid clip.
    """
    import pybullet
    import pybullet_data

    try:
        with open(path, "r", encoding="utf-8") as f:
            frames = np.asarray(json.load(f)["Frames"], dtype=np.float64)
    except (OSError, ValueError, KeyError) as exc:
        raise ValueError(f"{path}: not a DeepMimic motion file ({exc})") from None
    if frames.ndim != 2 or frames.shape[1] != 44:
        raise ValueError(f"{path}: expected 44 numbers per frame, got shape {frames.shape}")
    client = pybullet.connect(pybullet.DIRECT)
    try:
        urdf = os.path.join(pybullet_data.getDataPath(), "humanoid", "humanoid.urdf")
        with _quiet_stdout():  # the URDF importer prints a warning per joint without an axis
            body = pybullet.loadURDF(urdf, [0, 0, 0], globalScaling=GLOBAL_SCALING, useFixedBase=False,
                                     physicsClientId=client)
        index = {pybullet.getJointInfo(body, i, physicsClientId=client)[1].decode(): i
                 for i in range(pybullet.getNumJoints(body, physicsClientId=client))}
        out = np.zeros((len(frames), NUM_JOINTS, 3))
        for t, fr in enumerate(frames):
            pybullet.resetBasePositionAndOrientation(body, fr[1:4].tolist(), _xyzw(fr[4:8]), physicsClientId=client)
            i = 8
            for name, n in _MOTION_JOINTS:
                joint = index[name]
                if n == 4:
                    pybullet.resetJointStateMultiDof(body, joint, _xyzw(fr[i:i + 4]), physicsClientId=client)
                else:
                    pybullet.resetJointState(body, joint, float(fr[i]), physicsClientId=client)
                i += n
            out[t] = _joints_17(pybullet, body, client, index)
    finally:
        pybullet.disconnect(client)
    return out * 1000.0


@contextlib.contextmanager
def _quiet_stdout():
    """Silence C-level stdout (file descriptor 1) for a moment."""
    sys.stdout.flush()
    saved = os.dup(1)
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 1)
        try:
            yield
        finally:
            os.dup2(saved, 1)
            os.close(saved)


def _joints_17(pybullet, body: int, client: int, index: dict[str, int]) -> np.ndarray:
    names = list(index)
    links = pybullet.getLinkStates(body, [index[n] for n in names], computeForwardKinematics=True,
                                   physicsClientId=client)
    pos = {n: np.asarray(s[4]) for n, s in zip(names, links)}  # link frame origin = the joint
    neck_rot = np.asarray(pybullet.getMatrixFromQuaternion(links[names.index("neck")][5])).reshape(3, 3)
    pelvis = (pos["right_hip"] + pos["left_hip"]) / 2
    thorax = pos["neck"]
    head_centre = thorax + neck_rot @ np.array([0.0, HEAD_CENTRE_M, 0.0])
    j = np.zeros((NUM_JOINTS, 3))
    j[0] = pelvis
    j[1], j[2], j[3] = pos["right_hip"], pos["right_knee"], pos["right_ankle"]
    j[4], j[5], j[6] = pos["left_hip"], pos["left_knee"], pos["left_ankle"]
    j[8] = thorax
    j[7] = (pelvis + thorax) / 2
    j[9] = head_centre + neck_rot @ np.array([HEAD_RADIUS_M, 0.0, 0.0])  # nose: front of the head
    j[10] = head_centre + neck_rot @ np.array([0.0, HEAD_RADIUS_M, 0.0])
    j[11], j[12], j[13] = pos["left_shoulder"], pos["left_elbow"], pos["left_wrist"]
    j[14], j[15], j[16] = pos["right_shoulder"], pos["right_elbow"], pos["right_wrist"]
    return j


def load_all(cache: str = "") -> dict[str, np.ndarray]:
    """Every clip as {name: (T, 17, 3) mm}; cached in an .npz when a path is given."""
    if cache and os.path.isfile(cache):
        data = np.load(cache)
        return {k: data[k] for k in data.files}
    clips = {os.path.basename(p)[len("humanoid3d_"):-4]: load_clip(p) for p in motion_files()}
    if cache and clips:
        with atomic_open(cache, text=False) as f:
            np.savez_compressed(f, **clips)
    return clips


def humanoid_to_camera_axes(joints: np.ndarray) -> np.ndarray:
    """(..., 3) humanoid frame (y up) -> a world frame with y down, same handedness (x forward kept)."""
    return joints * np.array([1.0, -1.0, -1.0])


@dataclass(frozen=True)
class ViewConfig:
    """How random virtual cameras are drawn."""

    distance_m: tuple[float, float] = (2.5, 9.0)  # camera to pelvis: close webcam to across a room
    elevation_deg: tuple[float, float] = (-10.0, 35.0)  # a little below the hips to looking down
    roll_deg: float = 10.0  # tilted cameras
    focal_px: tuple[float, float] = (500.0, 2000.0)  # webcams to phone portrait video
    crop_padding: float = 1.25  # the crop a top-down pipeline cuts: box side x 1.25 (model/data/datasets/common)


def _rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """World (y down) -> camera: look along the horizontal direction at azimuth yaw, tilted by pitch."""
    cy, sy, cp, sp, cr, sr = np.cos(yaw), np.sin(yaw), np.cos(pitch), np.sin(pitch), np.cos(roll), np.sin(roll)
    ry = np.array([[cy, 0, -sy], [0, 1, 0], [sy, 0, cy]])
    rx = np.array([[1, 0, 0], [0, cp, sp], [0, -sp, cp]])
    rz = np.array([[cr, -sr, 0], [sr, cr, 0], [0, 0, 1]])
    return rz @ rx @ ry


def random_views(joints_world: np.ndarray, rng: np.random.Generator, cfg: ViewConfig = ViewConfig()):
    """Project N poses through one random camera each.

    joints_world: (N, 17, 3) mm in a y-down world frame (humanoid_to_camera_axes).
    Returns (keypoints_2d (N, 17, 2) image px, joints_cam (N, 17, 3) camera mm, absolute, x right,
    y down, z forward). The camera looks at each pose's pelvis.
    """
    n = joints_world.shape[0]
    assert joints_world.shape[1:] == (NUM_JOINTS, 3)
    yaw = rng.uniform(0, 2 * np.pi, n)
    pitch = np.radians(rng.uniform(*cfg.elevation_deg, n))
    roll = np.radians(rng.uniform(-cfg.roll_deg, cfg.roll_deg, n))
    dist = rng.uniform(*cfg.distance_m, n) * 1000.0
    focal = rng.uniform(*cfg.focal_px, n)
    cam = np.zeros_like(joints_world)
    for i in range(n):
        R = _rotation(yaw[i], pitch[i], roll[i])
        rel = joints_world[i] - joints_world[i, 0]
        cam[i] = rel @ R.T + np.array([0.0, 0.0, dist[i]])
    # Pelvis off the optical axis, as people are in real frames (perspective skews their 2D pose).
    cam[:, :, 0] += (rng.uniform(-0.3, 0.3, n) * dist)[:, None]
    cam[:, :, 1] += (rng.uniform(-0.2, 0.2, n) * dist)[:, None]
    uv = cam[..., :2] / cam[..., 2:3] * focal[:, None, None]
    return uv, cam


def crop_uv(keypoints_2d: np.ndarray, input_size: int, padding: float = 1.25) -> np.ndarray:
    """(N, J, 2) image px -> (N, J, 2) crop px of the square box-centred crop a detector would give."""
    lo, hi = keypoints_2d.min(1), keypoints_2d.max(1)
    centre = (lo + hi) / 2
    side = (hi - lo).max(-1) * padding
    scale = input_size / side
    return (keypoints_2d - centre[:, None]) * scale[:, None, None] + input_size / 2.0
