"""Reader for the distillation set built by `python main.py distill` (model/data/distill.py): stored person
crops with multi-view / teacher labels, augmented with background replacement, and mocap lifting samples.

DistillCrops yields the same CropSample as model/data/datasets/loader.py (so the shared targets and losses
apply unchanged), with has_3d carrying a per-sample 3D weight: 1 for multi-view triangulated labels,
0.3 for one view's teacher world landmarks.

Augmentation, on top of model/data/augment.py's (the paper's rotation, flip, synthetic occlusion, plus scale
and colour jitter): the person (soft selfie-segmentation mask) is pasted on another background with
probability background_prob, and crops are zoomed out further (people smaller in the crop, as far-away
detections) with probability zoom_out_prob. Pixels outside the stored crop are background too, never
black borders the network could learn to rely on.
"""

from dataclasses import dataclass

import cv2
import numpy as np
from torch.utils.data import Dataset

from model.net.skeleton import NUM_JOINTS
from model.data.augment import AugmentConfig, AugmentParams, augment_sample, crop_matrix, sample_params
from model.data.datasets.common import DatasetError
from model.data.datasets.loader import IMAGENET_MEAN, IMAGENET_STD, CropSample, make_crop_sample


@dataclass(frozen=True)
class DistillAugment:
    """Extra augmentation of the distillation crops (beyond AugmentConfig)."""

    background_prob: float = 0.6  # the footage has three studio backgrounds: replace most of them
    zoom_out_prob: float = 0.25  # crops of far-away people: the person fills less of the crop
    zoom_out_max: float = 1.6  # at most this much extra zoom-out (the person 1/1.6 as large)
    blur_prob: float = 0.2  # low-resolution footage: downscale and upscale again
    crop_padding: float = 1.25  # crop side / person box side, as model/data/datasets/common.crop_box


def load_split(path: str) -> dict:
    """A train.npz / eval.npz of model/data/distill.py as a dict of arrays; one-line DatasetError if unusable."""
    try:
        data = np.load(path)
        arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError) as exc:
        raise DatasetError(f"{path}: cannot read the distillation set ({exc}); run `python main.py distill`") from None
    for key in ("crops", "masks", "affines", "joints_2d", "valid_2d", "joints_3d", "has_3d", "weight_3d"):
        if key not in arrays:
            raise DatasetError(f"{path}: missing '{key}'; rebuild it with `python main.py distill --force`")
    return arrays


def labels_geodesic_mm(path: str) -> float:
    """Mean neck-to-knee geodesic length (Eq. 10, mm) of the triangulated 3D labels (weight_3d 1) of a
    train.npz: the scale the network's outputs should have for people like its training people, in the
    teacher's joint definition (CascadeNet's output_geodesic_mm). One-line DatasetError without such labels."""
    import torch

    from model.data.targets import geodesic_length

    data = load_split(path)
    keep = (data["has_3d"] > 0) & (data["weight_3d"] >= 1.0)
    if not keep.any():
        raise DatasetError(f"{path}: no triangulated 3D labels to measure the neck-to-knee length on")
    return float(geodesic_length(torch.from_numpy(data["joints_3d"][keep]).float()).mean())


def to_crop(affine: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(2, 3) affine and (J, 2) image px -> (J, 2) stored-crop px."""
    return points @ affine[:, :2].T + affine[:, 2]


class DistillCrops(Dataset):
    """Stored crops -> augmented CropSample at the network's input size.

    backgrounds: (M, S, S, 3) uint8 BGR images pasted behind the people (S = stored crop size).
    """

    def __init__(self, data: dict, input_size: int, augment: AugmentConfig, extra: DistillAugment,
                 backgrounds: np.ndarray | None = None, seed: int = 0) -> None:
        self.crops = data["crops"]
        n = len(self.crops)
        # Selfie segmentation is soft and tight at hands and feet: grow it a little before pasting.
        kernel = np.ones((9, 9), np.uint8)
        self.masks = np.stack([cv2.GaussianBlur(cv2.dilate(m, kernel), (7, 7), 0) for m in data["masks"]])
        assert self.crops.shape[1:3] == self.masks.shape[1:3] and self.crops.shape[-1] == 3
        self.joints_2d = np.stack([to_crop(data["affines"][i], data["joints_2d"][i]) for i in range(n)])
        self.valid_2d = data["valid_2d"].astype(bool) & np.isfinite(self.joints_2d).all(-1)
        self.joints_3d = np.nan_to_num(data["joints_3d"])
        self.weight_3d = np.where(data["has_3d"].astype(bool), data["weight_3d"], 0.0)
        self.input_size = int(input_size)
        self.augment, self.extra = augment, extra
        # Background replacement only where the segmentation mask covers the labelled joints: on small
        # or blurry people (vtest.avi) it can miss them, and pasting would erase the person.
        self.mask_ok = np.array([self._mask_covers(i) for i in range(n)])
        self.backgrounds = backgrounds
        self.seed, self.epoch = int(seed), 0

    def _mask_covers(self, i: int, min_fraction: float = 0.8) -> bool:
        pts = np.round(self.joints_2d[i][self.valid_2d[i]]).astype(int)
        size = self.masks.shape[1]
        pts = pts[((pts >= 0) & (pts < size)).all(-1)]
        if len(pts) == 0:
            return False
        return float((self.masks[i][pts[:, 1], pts[:, 0]] > 96).mean()) >= min_fraction

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.crops)

    def _background(self, rng: np.random.Generator, size: int) -> np.ndarray:
        if self.backgrounds is None or len(self.backgrounds) == 0 or rng.random() < 0.1:
            # Flat colour with noise: also teaches that the background is not the person.
            colour = rng.integers(0, 256, 3)
            noise = rng.normal(0, rng.uniform(0, 30), (size, size, 3))
            return np.clip(colour + noise, 0, 255).astype(np.uint8)
        bg = self.backgrounds[rng.integers(len(self.backgrounds))]
        if rng.random() < 0.5:
            bg = bg[:, ::-1]
        return np.ascontiguousarray(cv2.resize(bg, (size, size)) if bg.shape[0] != size else bg)

    def __getitem__(self, index: int) -> CropSample:
        rng = np.random.default_rng([self.seed, self.epoch, int(index)])
        crop, mask = self.crops[index], self.masks[index]
        size = crop.shape[0]
        pts, valid = self.joints_2d[index], self.valid_2d[index]
        box_lo, box_hi = pts[valid].min(0), pts[valid].max(0)
        centre = (box_lo + box_hi) / 2
        side = float((box_hi - box_lo).max()) * self.extra.crop_padding
        out = (self.input_size, self.input_size)
        params = sample_params(self.augment, rng, out) if self.augment.enabled else AugmentParams()
        if self.augment.enabled and rng.random() < self.extra.zoom_out_prob:
            params = AugmentParams(params.scale * rng.uniform(1.0, self.extra.zoom_out_max), params.rotation_deg,
                                   params.flip, params.color_gain, params.occlusion_xywh)
        image = crop
        if self.augment.enabled and self.mask_ok[index] and rng.random() < self.extra.background_prob:
            alpha = (mask.astype(np.float32) / 255.0)[..., None]
            image = (alpha * crop + (1 - alpha) * self._background(rng, size)).astype(np.uint8)
        # Everything outside the stored crop becomes background rather than black.
        matrix = crop_matrix(centre, np.array([side, side]), out, params)
        inside = cv2.warpAffine(np.full((size, size), 255, np.uint8), matrix, out, flags=cv2.INTER_NEAREST)
        image_out, joints_2d, valid_2d, joints_3d, _ = augment_sample(
            image, centre, np.array([side, side]), pts, valid, self.joints_3d[index],
            np.ones(NUM_JOINTS, bool), out, params, rng)
        if self.augment.enabled and (inside == 0).any():
            fill = self._background(rng, self.input_size)
            image_out = np.where(inside[..., None] > 0, image_out, fill)
        if self.augment.enabled and rng.random() < self.extra.blur_prob:
            f = rng.uniform(0.25, 0.6)
            small = cv2.resize(image_out, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
            image_out = cv2.resize(small, out, interpolation=cv2.INTER_LINEAR)
        w3 = float(self.weight_3d[index])
        return make_crop_sample(image_out, IMAGENET_MEAN, IMAGENET_STD, joints_2d, valid_2d, joints_3d,
                                np.full(NUM_JOINTS, float(w3 > 0)), w3, index)


def background_pool(videos: list[str], count: int, size: int, seed: int = 0) -> np.ndarray:
    """(count, size, size, 3) uint8 random square patches of the given videos' frames (random scales)."""
    rng = np.random.default_rng(seed)
    frames = []
    for path in videos:
        cap = cv2.VideoCapture(path)
        total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) or 1
        for target in np.sort(rng.choice(total, size=min(total, max(2, count // max(len(videos), 1) // 4)), replace=False)):
            cap.set(cv2.CAP_PROP_POS_FRAMES, int(target))
            ok, frame = cap.read()
            if ok:
                frames.append(frame)
        cap.release()
    if not frames:
        return np.zeros((0, size, size, 3), np.uint8)
    out = np.zeros((count, size, size, 3), np.uint8)
    for i in range(count):
        frame = frames[rng.integers(len(frames))]
        h, w = frame.shape[:2]
        side = int(rng.uniform(0.2, 0.8) * min(h, w))
        x, y = int(rng.integers(0, w - side + 1)), int(rng.integers(0, h - side + 1))
        out[i] = cv2.resize(frame[y:y + side, x:x + side], (size, size), interpolation=cv2.INTER_AREA)
    return out
