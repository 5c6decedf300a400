"""Who is streamed (one performer) and their pose as a VMC frame in Unity's axes; the glue the CLI and the app share.

Joints: the pipeline's fitted joints (PersonPose.joints_3d after app.motion: constant bone lengths per track).
Axes: the pipeline's joints are millimetres in camera axes (x right, y down, z forward; app.types). The
stream is in metres, Unity axes (x right, y up, z forward): camera (x, y, z) -> (x, -y, z), so the camera
is at the origin looking along +z and a person facing the camera faces -z, as a Unity camera at the
origin would see them. Once the floor is known (app.motion's WorldFrame: Y up, floor at 0, Z towards the
camera's side) the world frame is used instead: world (X, Y, Z) -> (X, Y, -Z), the floor at y = 0 and
the camera at (0, camera height, 0). Both maps flip one axis: that is the change of handedness, done on
the positions before any rotation is solved, so no quaternion needs converting afterwards.

Root and Hips: the root is sent at the pelvis minus the rest pose's hip height (on the floor under the
person while standing, in the world frame) and the Hips bone at the rest hip height above it, so the
person's trajectory arrives whether a receiver applies bone positions or only the root's.
"""

import numpy as np

from app.stream.humanoid import BONE_NAMES, BONES, HIP_HEIGHT, local_rotations, quaternions_xyzw, rest_offset, \
    solve_world_rotations
from app.motion.floor import WorldFrame
from app.stream.vmc import VmcFrame, VmcSender
from app.types import FrameResult, Track

MM_PER_M = 1000.0
CAMERA_TO_UNITY = np.diag([1.0, -1.0, 1.0])
WORLD_TO_UNITY = np.diag([1.0, 1.0, -1.0])
IDENTITY_XYZW = np.array([0.0, 0.0, 0.0, 1.0])
_REST_OFFSETS = np.array([rest_offset(bone) for bone in BONES])


def unity_joints(joints_camera_mm: np.ndarray, world: WorldFrame | None = None) -> np.ndarray:
    """(..., 17, 3) absolute camera-space mm -> Unity axes, metres; `world` (the floor, when known) puts them
    in the floor's world frame first."""
    joints = np.asarray(joints_camera_mm, dtype=np.float64)
    if world is None:
        return joints @ CAMERA_TO_UNITY.T / MM_PER_M
    return world.to_world(joints) @ WORLD_TO_UNITY.T / MM_PER_M


def vmc_frames(joints_unity: np.ndarray) -> list[VmcFrame | None]:
    """VMC frames for joints (N, 17, 3) in Unity axes, metres (see the module docstring for root and Hips);
    None for a frame whose joints are missing (NaN) or degenerate (bones of zero length): nobody is sent."""
    joints_unity = np.asarray(joints_unity, dtype=np.float64)
    frames: list[VmcFrame | None] = [None] * len(joints_unity)
    finite = np.isfinite(joints_unity).all(axis=(1, 2))
    if not finite.any():
        return frames
    world = solve_world_rotations(joints_unity[finite])
    proper = np.all(np.abs(np.linalg.det(world) - 1.0) < 1e-6, axis=1)  # a zero-length bone gives no rotation
    local = quaternions_xyzw(local_rotations(world[proper]))
    for n, rotations in zip(np.flatnonzero(finite)[proper], local):
        root = joints_unity[n, 0] - np.array([0.0, HIP_HEIGHT, 0.0])
        frames[n] = VmcFrame(BONE_NAMES, _REST_OFFSETS, rotations, root, IDENTITY_XYZW)
    return frames


class PerformerPicker:
    """The one person to stream: track_id if given, else the largest person (box area) seen, kept while
    their track lives and chosen again when it ends."""

    def __init__(self, track_id: int | None = None):
        self.track_id = track_id
        self.current: int | None = track_id

    def pick(self, tracks: tuple[Track, ...]) -> Track | None:
        by_id = {t.track_id: t for t in tracks}
        if self.current in by_id:
            return by_id[self.current]
        if self.track_id is not None:
            return None  # the requested person is not in this frame
        seen = [t for t in tracks if t.missed == 0]
        if not seen:
            self.current = None
            return None
        best = max(seen, key=lambda t: _box_area(t.pose.box_xyxy))
        self.current = best.track_id
        return best


def _box_area(box: np.ndarray) -> float:
    return float(max(box[2] - box[0], 0.0) * max(box[3] - box[1], 0.0))


class Streamer:
    """Per processed frame: pick the performer, solve their humanoid pose, send one VMC bundle."""

    def __init__(self, sender: VmcSender, track_id: int | None = None):
        self.sender = sender
        self.picker = PerformerPicker(track_id)
        self.frames_seen = 0

    def send(self, result: FrameResult) -> Track | None:
        """Stream one result (in its floor's world frame once known); returns the performer's track or None."""
        track = self.picker.pick(result.tracks)
        frame = None
        if track is not None:
            frame = vmc_frames(unity_joints(track.pose.joints_camera, result.world)[None])[0]
        self.sender.send(frame)
        self.frames_seen += 1
        return track

    def close(self) -> None:
        self.sender.close()
