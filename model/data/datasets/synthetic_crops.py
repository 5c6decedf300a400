"""The synthetic stick-figure set (model/data/synthetic.py) as CropSamples, through the same augmentation.

Lets training and evaluation run end to end on machines without the real datasets. Each rendered
figure is already a crop around the person; the identity crop box (centre S/2, size S) plus the
usual augmentation gives exactly the sample format of CropDataset. With has_3d False the figures act
as a 2D-only dataset (their 3D labels dropped), so mixed 3D/2D batches can be exercised too.
"""

import numpy as np
from torch.utils.data import Dataset

from model.net.skeleton import NUM_JOINTS, ROOT
from model.data.augment import AugmentConfig, augment_sample, sample_params
from model.data.datasets.loader import IMAGENET_MEAN, IMAGENET_STD, CropSample, make_crop_sample
from model.data.synthetic import StickFigureDataset

# Seed of the held-out evaluation figures; training uses TrainConfig.seed (3D) and seed + 1 (2D).
EVAL_SEED = 987_654


class SyntheticCrops(Dataset):
    """`length` stick figures of side `input_size`, deterministic in (seed, index) and the epoch."""

    def __init__(
        self, length: int, input_size: int, augment: AugmentConfig, seed: int = 0, has_3d: bool = True,
        mean=IMAGENET_MEAN, std=IMAGENET_STD,
    ) -> None:
        self.figures = StickFigureDataset(length, input_size, seed=seed)
        self.input_size = int(input_size)
        self.augment, self.seed, self.has_3d = augment, int(seed), bool(has_3d)
        self.mean, self.std = tuple(mean), tuple(std)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.figures)

    def __getitem__(self, index: int) -> CropSample:
        figure = self.figures.sample(int(index))
        size = self.input_size
        rng = np.random.default_rng([self.seed, self.epoch, int(index), 7])
        params = sample_params(self.augment, rng, (size, size))
        joints_3d = figure.joints_3d.astype(np.float64)
        joints_3d = joints_3d - joints_3d[ROOT]
        valid_3d = np.full(NUM_JOINTS, self.has_3d)
        crop, joints_2d, valid_2d, joints_3d, valid_3d = augment_sample(
            np.ascontiguousarray(figure.image[:, :, ::-1]),  # the renderer draws RGB; crops are BGR like cv2
            np.array([size / 2.0, size / 2.0]), np.array([float(size), float(size)]),
            figure.keypoints_2d.astype(np.float64), np.ones(NUM_JOINTS, bool), joints_3d, valid_3d,
            (size, size), params, rng,
        )
        if not self.has_3d:
            joints_3d = np.zeros_like(joints_3d)
        return make_crop_sample(crop, self.mean, self.std, joints_2d, valid_2d, joints_3d, valid_3d,
                                self.has_3d, index)
