"""Mined crops for the person-score head: without a person (background, detector false positives), or detector boxes on people.

Reads OUT/train.npz or OUT/heldout.npz of bench/mine_negatives.py (crops (N, S, S, 3) uint8 BGR cut
by the app's crop recipe, kind, score, source, frame). The negatives add flat images: random colours
with noise, and random crops of extra people-free images (e.g. the synthetic renderer's backgrounds).
Items are CropSample with no labels (valid_2d = 0, has_3d = 0), so every pose loss ignores them; the
person target is 0 for the negatives and 1 for the mined people (kind 'person', positives of the head
only). Augmentation (mirror, zoom 0.8-1.25 about a jittered centre, colour gain +-20%, blur) is seeded
by (seed, epoch, index) like the other training sets.
"""

import cv2
import numpy as np
from torch.utils.data import Dataset

from model.net.checkpoint import DEFAULT_CROP_PADDING
from model.net.crop import box_crop_affine
from model.data.datasets.common import DatasetError
from model.data.datasets.loader import IMAGENET_MEAN, IMAGENET_STD, CropSample, make_crop_sample
from model.net.skeleton import NUM_JOINTS

# Items each people-free picture stands for (different cuts of it). 100 instead of 20 did not help the person
# head tell textured pictures from synthetic people wearing clothes cut from such pictures (assets/README.md).
CUTS_PER_PICTURE = 20


def load_negatives(path: str) -> dict:
    """A negatives .npz as a dict of arrays; a missing or broken file is a one-line DatasetError."""
    try:
        data = np.load(path)
        arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError) as exc:
        raise DatasetError(f"{path}: cannot read the negatives ({exc}); run `python -m bench.mine_negatives`") from None
    for key in ("crops", "kind"):
        if key not in arrays:
            raise DatasetError(f"{path}: missing '{key}'; rebuild it with `python -m bench.mine_negatives`")
    return arrays


def random_box(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A person-shaped box (4,) x1, y1, x2, y2 px at random in a width x height picture: height 15-95 % of the
    picture's, width 0.3-1.0 x its height (at most 95 % of the picture's width), wholly inside."""
    h = rng.uniform(0.15, 0.95) * height
    w = min(rng.uniform(0.3, 1.0) * h, 0.95 * width)
    x = rng.uniform(0, width - w)
    y = rng.uniform(0, height - h)
    return np.array([x, y, x + w, y + h])


def cut_box(image: np.ndarray, box: np.ndarray, size: int) -> np.ndarray:
    """One (size, size, 3) uint8 crop of `box` (4,) xyxy px as the app cuts a person box (model.net.crop: a square
    of DEFAULT_CROP_PADDING x the box's longer side), black outside the image."""
    matrix = box_crop_affine(box, DEFAULT_CROP_PADDING, size)
    return cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)


def picture_cut(image: np.ndarray, rng: np.random.Generator, size: int) -> np.ndarray:
    """A random_box in a people-free picture (H, W, 3), cut by cut_box -> (size, size, 3).

    Square cuts from inside the picture (as before 2026-12-02) never show the black border that the app's
    crops of boxes near an edge do; adding cuts made this way raised the person head's rejection of the
    held-out pictures' crops from 85 to 91 % in a like-for-like comparison (assets/README.md, "The person
    head, shipped").
    """
    h, w = image.shape[:2]
    return cut_box(image, random_box(rng, w, h), size)


class MinedCrops(Dataset):
    """Mined crops without pose labels at the network's input size (set .input_size before fetching a batch).

    crops: (N, S, S, 3) uint8 BGR mined crops. images: optional (M, H, W, 3) uint8 BGR people-free
    pictures, cut at random person-shaped boxes (picture_cut), each standing for CUTS_PER_PICTURE items.
    flat_fraction: share of the items that are a flat noisy colour.
    """

    def __init__(self, crops: np.ndarray, input_size: int, images: list[np.ndarray] | None = None,
                 flat_fraction: float = 0.05, seed: int = 0) -> None:
        self.crops = crops
        self.images = list(images or [])
        self.input_size = int(input_size)
        self.flat = int(round(flat_fraction * (len(crops) + len(self.images) * CUTS_PER_PICTURE)))
        self.seed, self.epoch = int(seed), 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.crops) + CUTS_PER_PICTURE * len(self.images) + self.flat

    def _source(self, index: int, rng: np.random.Generator) -> np.ndarray:
        if index < len(self.crops):
            return self.crops[index]
        index -= len(self.crops)
        if index < CUTS_PER_PICTURE * len(self.images):
            return picture_cut(self.images[index // CUTS_PER_PICTURE], rng, self.input_size)
        colour = rng.integers(0, 256, 3)
        noise = rng.normal(0, rng.uniform(0, 30), (64, 64, 3))
        return np.clip(colour + noise, 0, 255).astype(np.uint8)

    def __getitem__(self, index: int) -> CropSample:
        if not 0 <= index < len(self):
            raise IndexError(index)
        rng = np.random.default_rng([self.seed, self.epoch, int(index), 7])
        image = self._source(index, rng)
        size = self.input_size
        h, w = image.shape[:2]
        zoom = rng.uniform(0.8, 1.25)
        scale = size / max(h, w) * zoom
        centre = np.array([w, h]) / 2 + rng.normal(0, 0.05, 2) * np.array([w, h])
        flip = -1.0 if rng.random() < 0.5 else 1.0
        matrix = np.array([[flip * scale, 0, size / 2 - flip * scale * centre[0]],
                           [0, scale, size / 2 - scale * centre[1]]])
        out = cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        out = np.clip(out.astype(np.float32) * rng.uniform(0.8, 1.2, 3), 0, 255).astype(np.uint8)
        if rng.random() < 0.2:
            f = rng.uniform(0.25, 0.6)
            small = cv2.resize(out, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
            out = cv2.resize(small, (size, size), interpolation=cv2.INTER_LINEAR)
        zeros = np.zeros((NUM_JOINTS, 2))
        return make_crop_sample(out, IMAGENET_MEAN, IMAGENET_STD, zeros, np.zeros(NUM_JOINTS), np.zeros((NUM_JOINTS, 3)),
                                np.zeros(NUM_JOINTS), 0.0, index)


def mined_datasets(path: str, input_size: int, images: list[np.ndarray] | None = None,
                   seed: int = 0) -> tuple[MinedCrops, MinedCrops | None]:
    """(negatives, people) of one mined file: the crops without a person (every kind but 'person') plus cuts
    of `images` and flat colours; and the detector boxes on people (kind 'person'), or None where the file
    has none (files mined before they were kept)."""
    data = load_negatives(path)
    person = data["kind"] == "person"
    negatives = MinedCrops(data["crops"][~person], input_size, images, seed=seed)
    people = MinedCrops(data["crops"][person], input_size, flat_fraction=0.0, seed=seed) if person.any() else None
    return negatives, people
