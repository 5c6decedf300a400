"""Synthetic people walking on a floor seen by a tilted camera, with known bones, floor and foot contacts."""

from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

from model.net.skeleton import JOINT_NAMES, NUM_JOINTS

# True bone lengths (mm) of the bone ending at each joint, symmetric.
BONES_MM = {"r_hip": 130, "r_knee": 450, "r_ankle": 430, "l_hip": 130, "l_knee": 450, "l_ankle": 430,
            "spine": 230, "thorax": 250, "nose": 115, "head": 115, "l_shoulder": 150, "l_elbow": 280,
            "l_wrist": 250, "r_shoulder": 150, "r_elbow": 280, "r_wrist": 250}
TRUE_LENGTHS = np.array([0.0] + [BONES_MM[n] for n in JOINT_NAMES[1:]])
ANKLE_MM = 80.0  # ankle above the floor when the foot is down


@dataclass(frozen=True, eq=False)
class Walk:
    """world (F, 17, 3) mm, Y up, floor at Y=0; camera (F, 17, 3) mm camera axes; stance (F, 2) bool (right, left);
    R, t: camera-from-world (X_cam = R X_world + t); height_mm, pitch_deg of the camera."""

    world: np.ndarray
    camera: np.ndarray
    stance: np.ndarray
    R: np.ndarray
    t: np.ndarray
    height_mm: float
    pitch_deg: float
    roll_deg: float


def camera_pose(height_mm: float, pitch_deg: float, roll_deg: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Camera-from-world rotation and translation: camera at (0, height, 0) looking along world -Z, pitched down."""
    # A level camera: x = X, y = -Y, z = -Z.
    level = np.diag([1.0, -1.0, -1.0])
    # Pitch down (positive) turns the camera about its x axis; roll about its z axis.
    tilt = Rotation.from_euler("x", pitch_deg, degrees=True).as_matrix()
    roll = Rotation.from_euler("z", roll_deg, degrees=True).as_matrix()
    R = roll @ tilt @ level
    centre = np.array([0.0, height_mm, 0.0])
    return R, -R @ centre


def _leg(hip: np.ndarray, ankle: np.ndarray, forward: np.ndarray) -> np.ndarray:
    """Knee for a leg from hip to ankle bending forward (lengths BONES_MM)."""
    thigh, shin = BONES_MM["r_knee"], BONES_MM["r_ankle"]
    d = ankle - hip
    dist = min(np.linalg.norm(d), thigh + shin - 1.0)
    u = d / np.linalg.norm(d)
    bend = forward - (forward @ u) * u
    bend /= np.linalg.norm(bend)
    cos = (thigh ** 2 + dist ** 2 - shin ** 2) / (2 * thigh * dist)
    return hip + thigh * (cos * u + np.sqrt(1 - cos ** 2) * bend)


def walk(frames: int = 120, fps: float = 30.0, start=(0.0, -4000.0), direction_deg: float = 20.0,
         speed_mm_s: float = 1200.0, step_s: float = 1.0, height_mm: float = 1600.0, pitch_deg: float = 20.0,
         roll_deg: float = 0.0, phase: float = 0.0) -> Walk:
    """A person walking in a straight line on the floor (feet alternate: stance planted, swing lifted)."""
    heading = np.radians(direction_deg)
    forward = np.array([np.sin(heading), 0.0, -np.cos(heading)])  # walking away from the camera, turned a bit
    left = np.cross(np.array([0.0, 1.0, 0.0]), forward)
    left /= np.linalg.norm(left)
    origin = np.array([start[0], 0.0, start[1]])
    world = np.zeros((frames, NUM_JOINTS, 3))
    stance = np.zeros((frames, 2), dtype=bool)
    half = 0.5 * step_s  # each foot: stance for half a cycle, swing for the other half
    stride = speed_mm_s * step_s  # a foot moves this far in one swing
    for f in range(frames):
        t = f / fps
        pelvis = origin + forward * speed_mm_s * t + np.array([0.0, 880.0 + 15 * np.cos(4 * np.pi * t / step_s), 0.0])
        j = {"pelvis": pelvis}
        feet = []
        for side, sign, shift in (("r", -1.0, 0.0), ("l", 1.0, 0.5)):
            cycle = (t / step_s + shift + phase) % 1.0  # 0..0.5 stance, 0.5..1 swing
            k = np.floor(t / step_s + shift + phase)
            planted = (k + 0.25 - shift - phase) * stride
            if cycle < 0.5:
                along, lift = planted, 0.0
                stance[f, 0 if side == "r" else 1] = True
            else:
                s = (cycle - 0.5) / 0.5
                along = planted + stride * s
                lift = 120.0 * np.sin(np.pi * s)
            feet.append(origin + forward * along + sign * left * 100.0 + np.array([0.0, ANKLE_MM + lift, 0.0]))
        for (side, sign), foot in zip((("r", -1.0), ("l", 1.0)), feet):
            hip = pelvis + sign * left * BONES_MM[f"{side}_hip"]
            # Keep the ankle reachable: a planted foot far behind pulls the hip only as far as the leg allows.
            knee = _leg(hip, foot, forward)
            shin_dir = (foot - knee) / np.linalg.norm(foot - knee)
            j[f"{side}_hip"], j[f"{side}_knee"], j[f"{side}_ankle"] = hip, knee, knee + BONES_MM[f"{side}_ankle"] * shin_dir
        up = np.array([0.0, 1.0, 0.0])
        lean = Rotation.from_rotvec(0.08 * left).as_matrix() @ up
        j["spine"] = pelvis + BONES_MM["spine"] * lean
        j["thorax"] = j["spine"] + BONES_MM["thorax"] * up
        j["nose"] = j["thorax"] + BONES_MM["nose"] * (0.6 * up - 0.8 * forward) / np.linalg.norm(0.6 * up - 0.8 * forward)
        j["head"] = j["nose"] + BONES_MM["head"] * up
        swing = 0.4 * np.sin(2 * np.pi * t / step_s)
        for side, sign in (("l", 1.0), ("r", -1.0)):
            j[f"{side}_shoulder"] = j["thorax"] + sign * left * BONES_MM[f"{side}_shoulder"]
            arm = Rotation.from_rotvec(sign * swing * left).as_matrix() @ -up
            j[f"{side}_elbow"] = j[f"{side}_shoulder"] + BONES_MM[f"{side}_elbow"] * arm
            fore = (arm + 0.5 * forward) / np.linalg.norm(arm + 0.5 * forward)
            j[f"{side}_wrist"] = j[f"{side}_elbow"] + BONES_MM[f"{side}_wrist"] * fore
        world[f] = np.array([j[n] for n in JOINT_NAMES])
    R, t_ = camera_pose(height_mm, pitch_deg, roll_deg)
    camera = world @ R.T + t_
    return Walk(world, camera, stance, R, t_, height_mm, pitch_deg, roll_deg)


def _noise(rng: np.random.Generator, shape: tuple, std: float, correlation: float) -> np.ndarray:
    """Gaussian noise of standard deviation std, AR(1)-correlated over the first axis (frames)."""
    white = rng.normal(0.0, std, shape)
    out = white.copy()
    for f in range(1, shape[0]):
        out[f] = correlation * out[f - 1] + np.sqrt(1.0 - correlation ** 2) * white[f]
    return out


def noisy(camera_joints: np.ndarray, joint_noise_mm: float, root_noise_mm: float, seed: int = 0,
          bone_scale_noise: float = 0.0, correlation: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """(root-relative joints (F, 17, 3), root (F, 3)) with per-joint noise, a jittering root and (optionally)
    per-frame bone-length scaling, like a network's output: lengths vary from frame to frame. correlation:
    frame-to-frame correlation of the noise (a smoothed pipeline's noise is slow, not white)."""
    rng = np.random.default_rng(seed)
    rel = camera_joints - camera_joints[:, :1]
    if bone_scale_noise:
        rel = rel * (1.0 + _noise(rng, (len(rel), 1, 1), bone_scale_noise, correlation))
    rel = rel + _noise(rng, rel.shape, joint_noise_mm, correlation) * (np.arange(NUM_JOINTS) > 0)[None, :, None]
    root = camera_joints[:, 0] + _noise(rng, (len(rel), 3), root_noise_mm, correlation)
    return rel, root


def walk_results(frames: int = 90, fps: float = 30.0, pitch_deg: float = 25.0, height_mm: float = 1700.0,
                 noise_mm: float = 15.0, seed: int = 0, camera=None) -> tuple[list, Walk]:
    """FrameResults of one walking person (track 1) seen by a pitched camera, with network-like noise;
    and the true walk. camera: CameraIntrinsics (default 1280 x 720, 60 degrees)."""
    from app.types import CameraIntrinsics, Frame, FrameResult, PersonPose, Track

    camera = camera or CameraIntrinsics.from_fov(1280, 720, 60.0)
    w = walk(frames=frames, fps=fps, start=(-300.0, -3000.0), direction_deg=60.0, pitch_deg=pitch_deg,
             height_mm=height_mm)
    rel, root = noisy(w.camera, noise_mm, noise_mm, seed=seed, bone_scale_noise=0.03, correlation=0.7)
    image = np.zeros((4, 4, 3), np.uint8)
    results = []
    for f in range(frames):
        absolute = w.camera[f]
        uv = absolute[:, :2] / absolute[:, 2:] * np.array([camera.fx, camera.fy]) + np.array([camera.cx, camera.cy])
        keypoints = np.concatenate([uv, np.full((NUM_JOINTS, 1), 0.9)], axis=1)
        box = np.array([uv[:, 0].min(), uv[:, 1].min(), uv[:, 0].max(), uv[:, 1].max()])
        pose = PersonPose(box, keypoints, rel[f], root[f], 0.9)
        results.append(FrameResult(Frame(f, f / fps, image), (Track(1, pose, f),), camera, {}, "synthetic", "cpu"))
    return results, w
