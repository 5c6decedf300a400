"""Synthetic stick figures with exact 2D/3D labels: random articulated 3D poses, a random camera, drawn on noise.

Used by the learning tests and as a smoke-test dataset for training. Each sample is deterministic in
(seed, index). Depth is visible in the images the way it is in photos, only simpler: nearer limbs
are drawn thicker, brighter and on top of farther ones, and every bone has its own colour so left
and right can be told apart.
"""

from dataclasses import dataclass

import cv2
import numpy as np
import torch

from model.net.skeleton import BONES, NUM_JOINTS, PARENTS, ROOT

# Bone lengths in mm (Human3.6M-like adult; thorax->spine->pelvis->hip->knee = 1073 mm geodesic).
BONE_LENGTH_MM: tuple[float, ...] = (
    0.0,    # pelvis (root)
    133.0,  # r_hip
    450.0,  # r_knee
    445.0,  # r_ankle
    133.0,  # l_hip
    450.0,  # l_knee
    445.0,  # l_ankle
    233.0,  # spine
    257.0,  # thorax
    115.0,  # nose
    115.0,  # head
    150.0,  # l_shoulder
    280.0,  # l_elbow
    250.0,  # l_wrist
    150.0,  # r_shoulder
    280.0,  # r_elbow
    250.0,  # r_wrist
)

# Rest direction of the bone ending at each joint, in the body frame (x = the person's left,
# y down, z = the person's back; a person facing the camera has the camera's axes).
REST_DIR: tuple[tuple[float, float, float], ...] = (
    (0, 0, 0), (-1, 0, 0), (0, 1, 0), (0, 1, 0), (1, 0, 0), (0, 1, 0), (0, 1, 0),
    (0, -1, 0), (0, -1, 0), (0, -0.5, -0.85), (0, -0.9, 0.45),
    (1, 0, 0), (0, 1, 0), (0, 1, 0), (-1, 0, 0), (0, 1, 0), (0, 1, 0),
)

# Local joint-angle ranges in degrees, (min, max) about the x, y, z axes, applied at the joint where
# the bone STARTS (its parent). Rough human limits; enough variety for a learning test.
ANGLE_RANGE_DEG: tuple[tuple[tuple[float, float], ...], ...] = (
    ((-25, 25), (-30, 30), (-15, 15)),      # pelvis: trunk sway
    ((-100, 30), (-20, 20), (-10, 40)),     # r_hip: flexion, twist, abduction
    ((0, 120), (0, 0), (0, 0)),             # r_knee: flexion only
    ((0, 0), (0, 0), (0, 0)),
    ((-100, 30), (-20, 20), (-40, 10)),     # l_hip
    ((0, 120), (0, 0), (0, 0)),             # l_knee
    ((0, 0), (0, 0), (0, 0)),
    ((-30, 20), (-25, 25), (-15, 15)),      # spine
    ((-20, 20), (-30, 30), (-15, 15)),      # thorax (neck, shoulders hang from it)
    ((0, 0), (0, 0), (0, 0)),
    ((0, 0), (0, 0), (0, 0)),
    ((-120, 60), (-40, 40), (-80, 80)),     # l_shoulder
    ((-130, 0), (0, 0), (0, 0)),            # l_elbow
    ((0, 0), (0, 0), (0, 0)),
    ((-120, 60), (-40, 40), (-80, 80)),     # r_shoulder
    ((-130, 0), (0, 0), (0, 0)),            # r_elbow
    ((0, 0), (0, 0), (0, 0)),
)

# One RGB colour per bone (BONES order): right side warm, left side cool, centre grey-green.
BONE_COLOURS: tuple[tuple[int, int, int], ...] = (
    (230, 60, 40), (250, 140, 30), (250, 220, 40),     # right leg
    (40, 90, 240), (40, 200, 240), (120, 60, 240),     # left leg
    (120, 230, 120), (60, 160, 60), (230, 230, 230), (200, 120, 200),  # spine, neck, nose, head
    (30, 240, 170), (20, 130, 130), (140, 200, 255),   # left arm
    (250, 80, 160), (170, 40, 40), (255, 180, 140),    # right arm
)

LIMB_RADIUS_MM = 45.0


def _rotation(angles_rad: np.ndarray) -> np.ndarray:
    """Rotation matrix R = Rz @ Ry @ Rx for angles (x, y, z) in radians."""
    cx, cy, cz = np.cos(angles_rad)
    sx, sy, sz = np.sin(angles_rad)
    rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return rz @ ry @ rx


def random_pose(rng: np.random.Generator) -> np.ndarray:
    """A random articulated pose: (17, 3) mm in the body frame, root at the origin.

    Forward kinematics: each joint's frame is its parent's frame times a random local rotation;
    a bone points along its rest direction in its parent's frame.
    """
    ranges = np.deg2rad(np.asarray(ANGLE_RANGE_DEG, dtype=np.float64))  # (J, 3, 2)
    local = rng.uniform(ranges[..., 0], ranges[..., 1])  # (J, 3)
    frames = [np.eye(3)] * NUM_JOINTS
    pos = np.zeros((NUM_JOINTS, 3))
    frames[ROOT] = _rotation(local[ROOT])
    for child in range(1, NUM_JOINTS):
        parent = PARENTS[child]
        rest = np.asarray(REST_DIR[child], dtype=np.float64)
        rest = rest / np.linalg.norm(rest)
        pos[child] = pos[parent] + frames[parent] @ rest * BONE_LENGTH_MM[child]
        frames[child] = frames[parent] @ _rotation(local[child])
    return pos


@dataclass(frozen=True)
class StickFigure:
    """One rendered sample.

    image:        (S, S, 3) uint8 RGB crop.
    keypoints_2d: (17, 2) float32 crop pixels (pixel centres at integers).
    joints_3d:    (17, 3) float32 camera-space mm (x right, y down, z forward), absolute.
    """

    image: np.ndarray
    keypoints_2d: np.ndarray
    joints_3d: np.ndarray


def render_sample(rng: np.random.Generator, input_size: int, focal_px: float = 1000.0) -> StickFigure:
    """Pose, place in front of a random camera, crop a square around the person, draw."""
    body = random_pose(rng)
    yaw = rng.uniform(-np.pi, np.pi)
    tilt = rng.uniform(-0.25, 0.25, size=2)
    rot = _rotation(np.array([tilt[0], yaw, tilt[1]]))
    root = np.array([rng.uniform(-800, 800), rng.uniform(-300, 300), rng.uniform(3500, 7000)])
    cam = body @ rot.T + root
    uv = focal_px * cam[:, :2] / cam[:, 2:3]

    # Square crop around the 2D joints with a random margin and jitter, as a detector box would be.
    lo, hi = uv.min(0), uv.max(0)
    side = (hi - lo).max() * rng.uniform(1.15, 1.4)
    centre = (lo + hi) / 2 + rng.uniform(-0.06, 0.06, size=2) * side
    scale = input_size / side
    kp = (uv - (centre - side / 2)) * scale - 0.5

    image = _background(rng, input_size)
    depth_px = focal_px * scale  # pixels per mm at 1 mm distance
    order = sorted(range(len(BONES)), key=lambda k: -(cam[BONES[k][0], 2] + cam[BONES[k][1], 2]))
    z_near, z_far = cam[:, 2].min(), cam[:, 2].max()
    for k in order:
        p, c = BONES[k]
        z = 0.5 * (cam[p, 2] + cam[c, 2])
        shade = 1.0 - 0.45 * (z - z_near) / max(z_far - z_near, 1.0)
        colour = tuple(int(v * shade) for v in BONE_COLOURS[k])
        thickness = max(1, int(round(2 * LIMB_RADIUS_MM * depth_px / z)))
        a = tuple(int(round(v * 4)) for v in kp[p])
        b = tuple(int(round(v * 4)) for v in kp[c])
        # Sub-pixel endpoints (shift=2) keep thin limbs from snapping to the pixel grid.
        cv2.line(image, a, b, colour, thickness, cv2.LINE_AA, shift=2)
    head = kp[10]
    radius = max(1, int(round(90.0 * depth_px / cam[10, 2])))
    cv2.circle(image, (int(round(head[0] * 4)), int(round(head[1] * 4))), radius * 4, (235, 200, 170), -1, cv2.LINE_AA, shift=2)
    return StickFigure(image, kp.astype(np.float32), cam.astype(np.float32))


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    """Low-frequency colour blobs plus pixel noise, uint8 (size, size, 3)."""
    coarse = rng.uniform(0, 255, size=(4, 4, 3)).astype(np.float32)
    smooth = cv2.resize(coarse, (size, size), interpolation=cv2.INTER_CUBIC)
    noise = rng.normal(0, 18, size=(size, size, 3)).astype(np.float32)
    return np.clip(0.6 * smooth + noise + 40, 0, 255).astype(np.uint8)


def to_tensor(image: np.ndarray, mean: tuple[float, ...], std: tuple[float, ...]) -> torch.Tensor:
    """(S, S, 3) uint8 RGB -> (3, S, S) float32 normalised with the network's mean/std."""
    x = torch.from_numpy(image).float().div_(255.0).permute(2, 0, 1)
    return (x - torch.tensor(mean)[:, None, None]) / torch.tensor(std)[:, None, None]


class StickFigureDataset(torch.utils.data.Dataset):
    """`length` synthetic samples; item i is a dict of tensors (the training loop's sample format).

    image (3, S, S) float32 normalised RGB; keypoints_2d (17, 2) crop px; visibility (17,) all ones;
    joints_3d (17, 3) camera mm root-relative; root_mm (3,) camera mm; has_3d () = 1.
    """

    def __init__(
        self,
        length: int,
        input_size: int,
        seed: int = 0,
        mean: tuple[float, ...] = (0.485, 0.456, 0.406),
        std: tuple[float, ...] = (0.229, 0.224, 0.225),
    ) -> None:
        self.length, self.input_size, self.seed = length, input_size, seed
        self.mean, self.std = tuple(mean), tuple(std)

    def __len__(self) -> int:
        return self.length

    def sample(self, index: int) -> StickFigure:
        """The raw rendered sample (uint8 image, absolute camera joints)."""
        if not 0 <= index < self.length:
            raise IndexError(index)
        return render_sample(np.random.default_rng((self.seed, index)), self.input_size)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        s = self.sample(index)
        joints = torch.from_numpy(s.joints_3d)
        return {
            "image": to_tensor(s.image, self.mean, self.std),
            "keypoints_2d": torch.from_numpy(s.keypoints_2d),
            "visibility": torch.ones(NUM_JOINTS),
            "joints_3d": joints - joints[ROOT],
            "root_mm": joints[ROOT].clone(),
            "has_3d": torch.tensor(1.0),
        }


def stack(dataset: StickFigureDataset, indices: range | list[int] | None = None) -> dict[str, torch.Tensor]:
    """All (or the given) items of a dataset stacked into one batch dict."""
    items = [dataset[i] for i in (range(len(dataset)) if indices is None else indices)]
    return {k: torch.stack([it[k] for it in items]) for k in items[0]}
