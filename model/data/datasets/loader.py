"""PyTorch side of the data: records -> augmented crop samples, and half-3D/half-2D batches."""

import math
import os
from typing import Iterator, NamedTuple, Sequence

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from model.net.skeleton import ROOT
from model.data.augment import AugmentConfig, augment_sample, sample_params
from model.data.datasets.common import DatasetError, PoseRecord, crop_box

IMAGENET_MEAN: tuple[float, float, float] = (0.485, 0.456, 0.406)  # RGB, on pixel / 255
IMAGENET_STD: tuple[float, float, float] = (0.229, 0.224, 0.225)


class CropSample(NamedTuple):
    """One crop (or, after default collation, a batch of B crops) ready for the network.

    image: (3, H, W) float32, RGB, (pixel / 255 - mean) / std.
    joints_2d: (17, 2) float32 crop px (x right, y down) of the input image.
    valid_2d: (17,) float32 1/0: labelled and inside the crop.
    joints_3d: (17, 3) float32 root-relative mm, camera axes, augmented like the image.
    valid_3d: (17,) float32 1/0. has_3d: () float32 1/0 (0: a 2D-only sample, z losses off).
    index: () int64 position of the record in its dataset (for evaluation tables).
    """

    image: torch.Tensor
    joints_2d: torch.Tensor
    valid_2d: torch.Tensor
    joints_3d: torch.Tensor
    valid_3d: torch.Tensor
    has_3d: torch.Tensor
    index: torch.Tensor


def make_crop_sample(
    crop_bgr: np.ndarray, mean: Sequence[float], std: Sequence[float], joints_2d: np.ndarray,
    valid_2d: np.ndarray, joints_3d: np.ndarray, valid_3d: np.ndarray, has_3d: float, index: int,
) -> CropSample:
    """A CropSample from numpy arrays (shapes as in CropSample), the image normalised on the way."""
    return CropSample(
        image=torch.from_numpy(normalize_image(crop_bgr, mean, std)),
        joints_2d=torch.from_numpy(np.asarray(joints_2d, np.float32)),
        valid_2d=torch.from_numpy(np.asarray(valid_2d, np.float32)),
        joints_3d=torch.from_numpy(np.asarray(joints_3d, np.float32)),
        valid_3d=torch.from_numpy(np.asarray(valid_3d, np.float32)),
        has_3d=torch.tensor(float(has_3d), dtype=torch.float32),
        index=torch.tensor(int(index), dtype=torch.int64),
    )


def normalize_image(crop_bgr: np.ndarray, mean: Sequence[float], std: Sequence[float]) -> np.ndarray:
    """HxWx3 uint8 BGR -> (3, H, W) float32 RGB normalised with mean/std (on pixel / 255)."""
    rgb = crop_bgr[:, :, ::-1].astype(np.float32) / 255.0
    rgb = (rgb - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    return np.ascontiguousarray(rgb.transpose(2, 0, 1))


def read_image(path: str) -> np.ndarray:
    """HxWx3 uint8 BGR; a missing or unreadable file is a one-line DatasetError."""
    if not os.path.isfile(path):
        raise DatasetError(f"{path}: image not found")
    image = cv2.imread(path, cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
    if image is None:
        raise DatasetError(f"{path}: image unreadable")
    return image


class CropDataset(Dataset):
    """Person records -> CropSample, cutting and augmenting crops on the fly.

    Each item's augmentation is drawn from a generator seeded by (seed, epoch, index), so a run is
    reproducible with any number of workers; call set_epoch before each epoch.
    """

    def __init__(
        self, records: Sequence[PoseRecord], input_size: tuple[int, int], augment: AugmentConfig,
        seed: int = 0, padding: float = 1.25,
        mean: Sequence[float] = IMAGENET_MEAN, std: Sequence[float] = IMAGENET_STD,
    ) -> None:
        self.records = list(records)
        self.input_size = (int(input_size[0]), int(input_size[1]))  # (width, height)
        self.augment = augment
        self.seed = int(seed)
        self.padding = float(padding)
        self.mean, self.std = tuple(mean), tuple(std)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> CropSample:
        record = self.records[index]
        rng = np.random.default_rng([self.seed, self.epoch, int(index)])
        image = read_image(record.image_path)
        aspect = self.input_size[0] / self.input_size[1]
        centre, size = crop_box(record.box_xywh, aspect, self.padding)
        params = sample_params(self.augment, rng, self.input_size)
        root_relative = record.joints_3d - record.joints_3d[ROOT] if record.has_3d else record.joints_3d
        crop, joints_2d, valid_2d, joints_3d, valid_3d = augment_sample(
            image, centre, size, record.joints_2d, record.valid_2d, root_relative, record.valid_3d,
            self.input_size, params, rng,
        )
        return make_crop_sample(crop, self.mean, self.std, joints_2d, valid_2d, joints_3d, valid_3d,
                                record.has_3d, index)


def batch_share(counts: Sequence[int], share: int, shares: int) -> list[int]:
    """Positions of share `share` (0-based) of `shares` in a batch laid out part by part (counts[p]
    samples of part p, in order): counts[p] / shares samples of every part, so that each share keeps
    the batch's mix of 3D and 2D samples. A process's share of a global batch under torchrun, or a
    micro-batch. Raises ValueError when a count does not divide by `shares`."""
    if any(count % shares for count in counts):
        raise ValueError(f"batch of {' + '.join(map(str, counts))} samples per part does not split into "
                         f"{shares} equal shares")
    positions, offset = [], 0
    for count in counts:
        size = count // shares
        positions += range(offset + share * size, offset + (share + 1) * size)
        offset += count
    return positions


class MixedBatchSampler(Sampler[list[int]]):
    """Batches with a fixed number of samples from each part of a ConcatDataset.

    sizes: the length of each part, in ConcatDataset order; counts: how many samples of each part go
    into every batch (the paper: half 3D, half 2D, i.e. counts = (32, 32) for batch 64). One epoch
    is one pass over part 0 (the 3D data); the other parts are drawn from reshuffled cycles, so a
    small 2D set repeats and a large one is sampled. Call set_epoch before each epoch.

    rank, world_size: under torchrun every process draws the same global batches (same seed) and
    keeps its share of each (batch_share: counts[p] / world_size samples of every part), so the
    processes together see exactly the batches one process would, each sample once.
    """

    def __init__(self, sizes: Sequence[int], counts: Sequence[int], seed: int = 0, drop_last: bool = True,
                 rank: int = 0, world_size: int = 1) -> None:
        assert len(sizes) == len(counts) and len(sizes) >= 1, (sizes, counts)
        assert all(s > 0 for s, c in zip(sizes, counts) if c > 0), "a part with samples per batch is empty"
        assert counts[0] > 0, "part 0 defines the epoch and needs samples in every batch"
        assert 0 <= rank < world_size, (rank, world_size)
        self.sizes, self.counts = tuple(int(s) for s in sizes), tuple(int(c) for c in counts)
        self.offsets = tuple(int(o) for o in np.cumsum((0,) + self.sizes[:-1]))
        self.seed, self.drop_last, self.epoch = int(seed), bool(drop_last), 0
        self.rank, self.world_size = int(rank), int(world_size)
        self.share = batch_share(self.counts, self.rank, self.world_size)

    @property
    def rank_counts(self) -> tuple[int, ...]:
        """Samples of each part in this process's batches."""
        return tuple(c // self.world_size for c in self.counts)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        steps = self.sizes[0] / self.counts[0]
        return int(steps) if self.drop_last else math.ceil(steps)

    def _stream(self, part: int, rng: np.random.Generator) -> Iterator[int]:
        while True:
            yield from (self.offsets[part] + i for i in rng.permutation(self.sizes[part]))

    def __iter__(self) -> Iterator[list[int]]:
        rng = np.random.default_rng([self.seed, self.epoch])
        streams = [self._stream(p, rng) for p in range(len(self.sizes))]
        for _ in range(len(self)):
            batch = [next(streams[p]) for p, count in enumerate(self.counts) for _ in range(count)]
            yield [int(batch[i]) for i in self.share]


def mixed_counts(batch_size: int, fraction_first: float, parts: int) -> tuple[int, ...]:
    """Samples per batch of each part: part 0 gets round(batch * fraction), the rest share the remainder."""
    if parts == 1:
        return (batch_size,)
    first = max(1, min(batch_size - 1, round(batch_size * fraction_first)))
    rest = batch_size - first
    share = [rest // (parts - 1) + (1 if i < rest % (parts - 1) else 0) for i in range(parts - 1)]
    return (first, *share)

