"""Synthetic moving people with constant bone lengths, as FrameResults, for the recorder and writer tests."""

import numpy as np
from scipy.spatial.transform import Rotation

from model.net.skeleton import JOINT_NAMES, NUM_JOINTS, PARENTS
from app.formats.tracks_json import FORMAT
from app.types import CameraIntrinsics, Frame, FrameResult, PersonPose, Track

CAMERA = CameraIntrinsics(800.0, 800.0, 320.0, 240.0)
BONE_MM = {"r_hip": 130, "r_knee": 450, "r_ankle": 440, "l_hip": 130, "l_knee": 450, "l_ankle": 440,
           "spine": 230, "thorax": 250, "nose": 115, "head": 115, "l_shoulder": 150, "l_elbow": 280,
           "l_wrist": 250, "r_shoulder": 150, "r_elbow": 280, "r_wrist": 250}


def _rot(axis: str, angle: float) -> np.ndarray:
    return Rotation.from_euler(axis, angle).as_matrix()


def body_pose(t: float, phase: float = 0.0) -> np.ndarray:
    """(17, 3) joints in a Y-up body frame (person faces +Z, left is +X), pelvis at 0, mm: a walking-ish motion."""
    s = np.sin(2 * np.pi * t / 1.2 + phase)
    c = np.cos(2 * np.pi * t / 1.2 + phase)
    down, up = np.array([0, -1.0, 0]), np.array([0, 1.0, 0])
    dirs = {
        "r_hip": np.array([-1.0, 0, 0]), "l_hip": np.array([1.0, 0, 0]),
        "r_knee": _rot("x", -0.5 * s) @ down, "l_knee": _rot("x", 0.5 * s) @ down,
        "spine": _rot("x", 0.1 + 0.05 * c) @ up, "thorax": _rot("x", 0.15) @ up,
        "nose": _rot("x", 0.6 + 0.3 * s) @ up, "head": _rot("x", 0.2 + 0.3 * s) @ up,
        "l_shoulder": _rot("z", -0.15) @ np.array([1.0, 0, 0]),
        "r_shoulder": _rot("z", 0.15) @ np.array([-1.0, 0, 0]),
    }
    # Knees bend up to ~100 degrees (past the ZXY gimbal's 90), elbows up to ~110.
    dirs["r_ankle"] = _rot("x", 0.9 * (1 + s)) @ dirs["r_knee"]
    dirs["l_ankle"] = _rot("x", 0.9 * (1 - s)) @ dirs["l_knee"]
    # Arms hang and swing; elbows flex forward (towards +Z) by 6 to 110 degrees.
    dirs["l_elbow"] = _rot("x", -0.4 * c) @ _rot("z", 0.3) @ down
    dirs["r_elbow"] = _rot("x", 0.4 * c) @ _rot("z", -0.3) @ down
    forward = np.array([0, 0, 1.0])
    for side, flex in (("l", 1.0 + 0.9 * s), ("r", 1.0 - 0.9 * s)):
        upper = dirs[f"{side}_elbow"]
        axis = np.cross(upper, forward)
        dirs[f"{side}_wrist"] = Rotation.from_rotvec(axis / np.linalg.norm(axis) * flex).as_matrix() @ upper
    joints = np.zeros((NUM_JOINTS, 3))
    for j in range(1, NUM_JOINTS):
        name = JOINT_NAMES[j]
        joints[j] = joints[PARENTS[j]] + BONE_MM[name] * dirs[name] / np.linalg.norm(dirs[name])
    return joints


def person_at(t: float, person: int, noise_mm: float, rng: np.random.Generator) -> PersonPose:
    """Person `person` at time t in camera space: turning, walking sideways, facing the camera roughly."""
    body = body_pose(t, phase=1.3 * person)
    yaw = _rot("y", 0.8 * np.sin(t / 1.5 + person))
    body = body @ yaw.T + rng.normal(0.0, noise_mm, body.shape) * (np.arange(NUM_JOINTS) > 0)[:, None]
    joints_3d = body * np.array([1.0, -1.0, -1.0])  # Y-up body frame -> camera axes (y down, z forward)
    root = np.array([-600.0 + 1200 * person + 300 * np.sin(t), 150.0, 3500.0 + 200 * t])
    camera_points = joints_3d + root
    uv = camera_points[:, :2] / camera_points[:, 2:] * CAMERA.fx + np.array([CAMERA.cx, CAMERA.cy])
    keypoints = np.concatenate([uv, np.full((NUM_JOINTS, 1), 0.9)], axis=1)
    box = np.array([uv[:, 0].min(), uv[:, 1].min(), uv[:, 0].max(), uv[:, 1].max()])
    return PersonPose(box, keypoints, joints_3d - joints_3d[0], root + joints_3d[0], 0.8 + 0.01 * person)


def synthetic_results(n_frames: int = 40, fps: float = 30.0, noise_mm: float = 8.0, people: int = 2,
                      gap: tuple[int, int] = (10, 14), seed: int = 0) -> list[FrameResult]:
    """Two people; person 1 is unseen in frames gap[0]..gap[1]-1 (and held once by the tracker, missed=1)."""
    rng = np.random.default_rng(seed)
    image = np.zeros((4, 4, 3), np.uint8)
    results = []
    for i in range(n_frames):
        t = i / fps
        tracks = []
        for person in range(people):
            pose = person_at(t, person, noise_mm, rng)
            if person == 1 and gap[0] <= i < gap[1]:
                if i == gap[0]:
                    tracks.append(Track(7, results[-1].tracks[1].pose, i, missed=1))
                continue
            tracks.append(Track(3 if person == 0 else 7, pose, i))
        results.append(FrameResult(Frame(i, t, image), tuple(tracks), CAMERA, {"total": 1.0}, "synthetic", "cpu"))
    return results


def _axis_matrix(axis: str, degrees: float) -> np.ndarray:
    a = np.radians(degrees)
    c, s = np.cos(a), np.sin(a)
    return {"X": np.array([[1, 0, 0], [0, c, -s], [0, s, c]]),
            "Y": np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]]),
            "Z": np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])}[axis]


def forward_kinematics(path: str) -> tuple[dict[str, np.ndarray], object]:
    """Joint name -> (F, 3) world positions, using only the parser's offsets, channels and frame values.

    Standard BVH semantics: a joint's local transform is translation(offset [+ position channels])
    times the rotation channels multiplied in the order they are listed.
    """
    import bvh as bvh_parser  # independent parser from PyPI (bvh==0.3); callers skip when it is missing

    with open(path) as f:
        mocap = bvh_parser.Bvh(f.read())
    names = mocap.get_joints_names()
    frames = np.array(mocap.frames, dtype=np.float64)
    positions, rotations = {}, {}
    for name in names:
        channels = mocap.joint_channels(name)
        start = mocap.get_joint_channels_index(name)
        values = frames[:, start:start + len(channels)]
        local_t = np.tile(np.array(mocap.joint_offset(name)), (len(frames), 1))
        local_r = np.tile(np.eye(3), (len(frames), 1, 1))
        for k, channel in enumerate(channels):
            if channel.endswith("position"):
                local_t[:, "XYZ".index(channel[0])] += values[:, k]
            else:
                local_r = local_r @ np.stack([_axis_matrix(channel[0], v) for v in values[:, k]])
        parent = mocap.joint_parent(name)
        if parent is None:
            positions[name], rotations[name] = local_t, local_r
        else:
            p = parent.name
            positions[name] = positions[p] + np.einsum("nij,nj->ni", rotations[p], local_t)
            rotations[name] = rotations[p] @ local_r
        for end in mocap.get_joint(name).filter("End"):  # its End Site, as "NAME/End Site"
            offset = np.array([float(v) for v in end["OFFSET"]])
            positions[f"{name}/End Site"] = positions[name] + rotations[name] @ offset
    return positions, mocap


def skeleton_positions(positions: dict[str, np.ndarray]) -> np.ndarray:
    """(F, 17, 3): the 17 skeleton joints (JOINT_NAMES order) out of forward_kinematics' positions, where
    app.formats.bvh documents them (JOINT_NODES; the head top is the Head's End Site)."""
    from app.formats.bvh import HEAD_TOP, JOINT_NODES

    return np.stack([positions[JOINT_NODES[name] + ("/End Site" if name == HEAD_TOP else "")]
                     for name in JOINT_NAMES], axis=1)


def reference_cm(joints_camera_mm: np.ndarray) -> np.ndarray:
    """The track's joints with each bone set to its median length (directions kept), in BVH axes (Y up, cm).

    Written here from the documented conventions, independently of app.formats.bvh.
    """
    lengths = [np.median(np.linalg.norm(joints_camera_mm[:, j] - joints_camera_mm[:, PARENTS[j]], axis=-1))
               for j in range(NUM_JOINTS)]
    out = joints_camera_mm.astype(np.float64).copy()
    for j in range(1, NUM_JOINTS):
        bone = joints_camera_mm[:, j] - joints_camera_mm[:, PARENTS[j]]
        out[:, j] = out[:, PARENTS[j]] + lengths[j] * bone / np.linalg.norm(bone, axis=-1, keepdims=True)
    return out * np.array([1.0, -1.0, -1.0]) / 10.0


def validate_track_json(data: dict) -> None:
    """The documented schema, checked field by field (written from the README, not from the writer)."""
    assert set(data) == {"format", "version", "source", "camera", "skeleton", "backend", "world", "frames"}
    assert data["format"] == FORMAT and isinstance(data["version"], int)
    assert set(data["source"]) == {"path", "width", "height", "fps", "frames"}
    assert set(data["camera"]) == {"fx", "fy", "cx", "cy"}
    assert data["skeleton"] == {"joints": list(JOINT_NAMES), "parents": list(PARENTS)}
    assert isinstance(data["backend"], dict)
    previous = -1
    for frame in data["frames"]:
        assert set(frame) == {"index", "time", "people"}
        assert frame["index"] > previous
        previous = frame["index"]
        for person in frame["people"]:
            assert set(person) == {"track_id", "bbox", "score", "keypoints_2d", "joints_3d", "joints_3d_raw", "root",
                                   "root_raw", "world_root", "contact"}
            assert isinstance(person["track_id"], int)
            assert np.array(person["bbox"]).shape == (4,)
            assert np.array(person["keypoints_2d"]).shape == (17, 3)
            assert np.array(person["joints_3d"]).shape == (17, 3)
            assert np.array(person["root"]).shape == (3,) and np.array(person["root_raw"]).shape == (3,)
            assert np.allclose(person["joints_3d"][0], 0.0, atol=0.1)  # root-relative
            assert np.array(person["joints_3d_raw"]).shape == (17, 3)
            assert person["world_root"] is None or np.array(person["world_root"]).shape == (3,)
            assert person["contact"] is None or (len(person["contact"]) == 2
                                                 and all(isinstance(c, bool) for c in person["contact"]))
    world = data["world"]
    if world is not None:
        assert set(world) == {"floor", "camera", "samples"}
        assert set(world["floor"]) == {"normal", "offset_mm"} and len(world["floor"]["normal"]) == 3
        assert set(world["camera"]) == {"height_mm", "pitch_deg", "roll_deg", "world_from_camera"}
        assert np.array(world["camera"]["world_from_camera"]["rotation"]).shape == (3, 3)
