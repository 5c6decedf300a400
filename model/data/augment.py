"""Crop and augmentation, applied consistently to the image, the 2D keypoints and the 3D joints.

The crop is one affine warp from the original image (no intermediate images): a person box is grown
to the input aspect ratio and padded by 1.25 (model/data/datasets/common.crop_box), then

    p_crop = out_centre + s * R(theta) * F * (p - box_centre),   s = out_width / (box_width * scale)

where F = diag(-1, 1) when flipping (a mirror about the box centre) and R(theta) is the 2D rotation
[[cos, -sin], [sin, cos]] in image axes (x right, y down), so a positive angle turns the person
clockwise on screen. The same matrix moves the keypoints.

The 3D joints (camera axes x right, y down, z forward, root-relative mm) get the same flip (x -> -x)
and the same in-plane rotation of (x, y) about the camera's z axis, so the 2D and 3D labels stay
consistent. This is exact for a rotation about the optical axis and the usual approximation for a
crop away from the image centre. A flip also swaps left and right joints (model.net.skeleton.FLIP_INDEX):
the joint that was the left hip is the right hip of the mirrored person.

Colour jitter scales each channel; synthetic occlusion paints a random rectangle of noise over the
crop (it leaves the labels alone: the network should still locate hidden joints).
"""

import math
from dataclasses import dataclass

import cv2
import numpy as np

from model.net.skeleton import FLIP_INDEX, NUM_JOINTS


@dataclass(frozen=True)
class AugmentConfig:
    """Training augmentation; AugmentConfig(enabled=False) is the plain test-time crop."""

    enabled: bool = True  # False: centre crop only (evaluation)
    rotation_deg: float = 30.0  # the paper: rotation +-30 degrees
    rotation_prob: float = 0.6  # as the public 3DMPPE code: many samples stay upright, like test images
    flip_prob: float = 0.5  # the paper: horizontal flip; half the samples mirrored
    scale_jitter: float = 0.25  # box size x (1 +- 0.25): detector boxes vary in tightness
    color_jitter: float = 0.2  # per-channel gain in [0.8, 1.2]: lighting and camera colour vary
    occlusion_prob: float = 0.5  # the paper: synthetic occlusion; half the samples get a patch
    occlusion_max_area: float = 0.5  # the largest patch covers half the crop; more hides the person


@dataclass(frozen=True)
class AugmentParams:
    """One draw of augmentation parameters; the defaults are the identity."""

    scale: float = 1.0
    rotation_deg: float = 0.0
    flip: bool = False
    color_gain: tuple[float, float, float] = (1.0, 1.0, 1.0)
    occlusion_xywh: tuple[int, int, int, int] | None = None  # crop px


def sample_params(cfg: AugmentConfig, rng: np.random.Generator, out_size: tuple[int, int]) -> AugmentParams:
    """Draw one set of parameters; out_size = (width, height) of the crop in px."""
    if not cfg.enabled:
        return AugmentParams()
    scale = 1.0 + cfg.scale_jitter * float(np.clip(rng.standard_normal(), -1.0, 1.0))
    rotation = float(rng.uniform(-cfg.rotation_deg, cfg.rotation_deg)) if rng.random() < cfg.rotation_prob else 0.0
    flip = bool(rng.random() < cfg.flip_prob)
    gain = tuple(float(g) for g in rng.uniform(1.0 - cfg.color_jitter, 1.0 + cfg.color_jitter, size=3))
    occlusion = None
    if rng.random() < cfg.occlusion_prob:
        width, height = out_size
        area = rng.uniform(0.05, cfg.occlusion_max_area) * width * height
        ratio = rng.uniform(0.3, 1.0 / 0.3)
        w = int(min(width - 1, math.sqrt(area / ratio)))
        h = int(min(height - 1, math.sqrt(area * ratio)))
        x = int(rng.integers(0, width - w))
        y = int(rng.integers(0, height - h))
        occlusion = (x, y, w, h)
    return AugmentParams(scale, rotation, flip, gain, occlusion)


def crop_matrix(
    centre: np.ndarray, size: np.ndarray, out_size: tuple[int, int], params: AugmentParams = AugmentParams(),
) -> np.ndarray:
    """The (2, 3) affine matrix from original image px to crop px (see the module docstring).

    centre, size: (2,) px, the padded crop box (crop_box); out_size: (width, height) px.
    """
    s = out_size[0] / (float(size[0]) * params.scale)
    t = math.radians(params.rotation_deg)
    rotation = np.array([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]])
    mirror = np.diag([-1.0 if params.flip else 1.0, 1.0])
    linear = s * rotation @ mirror
    out_centre = np.array([out_size[0] / 2.0, out_size[1] / 2.0])
    offset = out_centre - linear @ np.asarray(centre, dtype=np.float64)
    return np.concatenate([linear, offset[:, None]], axis=1)


def transform_points(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Apply a (2, 3) affine matrix to (N, 2) points."""
    assert matrix.shape == (2, 3) and points.shape[-1] == 2, (matrix.shape, points.shape)
    return points @ matrix[:, :2].T + matrix[:, 2]


def transform_joints_3d(joints_3d: np.ndarray, params: AugmentParams) -> np.ndarray:
    """Flip (x -> -x) then rotate (x, y) about the camera z axis, as the image was; no joint swap.

    joints_3d: (N, 3) mm camera axes. Returns a new (N, 3) array.
    """
    out = np.array(joints_3d, dtype=np.float64, copy=True)
    if params.flip:
        out[:, 0] = -out[:, 0]
    t = math.radians(params.rotation_deg)
    x, y = out[:, 0].copy(), out[:, 1].copy()
    out[:, 0] = math.cos(t) * x - math.sin(t) * y
    out[:, 1] = math.sin(t) * x + math.cos(t) * y
    return out


def augment_sample(
    image: np.ndarray, centre: np.ndarray, size: np.ndarray, joints_2d: np.ndarray, valid_2d: np.ndarray,
    joints_3d: np.ndarray, valid_3d: np.ndarray, out_size: tuple[int, int], params: AugmentParams,
    rng: np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Cut one augmented crop and move the labels with it.

    image: HxWx3 uint8; joints_2d: (17, 2) image px; valid_2d, valid_3d: (17,) bool;
    joints_3d: (17, 3) root-relative mm camera axes. Returns (crop out_h x out_w x 3 uint8,
    joints_2d (17, 2) crop px, valid_2d (17,) bool (also False outside the crop), joints_3d (17, 3),
    valid_3d (17,)). rng draws the occlusion noise (only needed when params.occlusion_xywh is set).
    """
    assert image.ndim == 3 and image.dtype == np.uint8, (image.shape, image.dtype)
    assert joints_2d.shape == (NUM_JOINTS, 2) and joints_3d.shape == (NUM_JOINTS, 3)
    matrix = crop_matrix(centre, size, out_size, params)
    crop = cv2.warpAffine(image, matrix, out_size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    if params.color_gain != (1.0, 1.0, 1.0):
        crop = np.clip(crop.astype(np.float32) * np.asarray(params.color_gain, np.float32), 0, 255).astype(np.uint8)
    if params.occlusion_xywh is not None:
        x, y, w, h = params.occlusion_xywh
        noise_rng = rng if rng is not None else np.random.default_rng(0)
        crop[y:y + h, x:x + w] = noise_rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
    points = transform_points(matrix, joints_2d)
    points_3d = transform_joints_3d(joints_3d, params)
    valid = np.asarray(valid_2d, dtype=bool).copy()
    valid_3 = np.asarray(valid_3d, dtype=bool).copy()
    if params.flip:
        index = list(FLIP_INDEX)
        points, valid, points_3d, valid_3 = points[index], valid[index], points_3d[index], valid_3[index]
    inside = (points[:, 0] >= 0) & (points[:, 0] < out_size[0]) & (points[:, 1] >= 0) & (points[:, 1] < out_size[1])
    return crop, points, valid & inside, points_3d, valid_3
