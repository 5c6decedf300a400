"""Reader for the synthetic people of `python main.py synth` (model/data/synth/): rendered crops with exact labels.

SyntheticPeople yields the same CropSample as model/data/datasets/distill.DistillCrops (and loader.CropDataset),
so the distillation trainer's targets and losses apply unchanged; set `input_size` between batches to
change the crop side, and call set_epoch before each epoch, as with DistillCrops.

Labels of a stored crop (model/data/synth/shards.py): 2D joints in stored-crop px, 3D joints in root-relative
mm (camera axes), exact for every joint; `inside` (in the stored crop) and `occluded` (another person in
front). valid_2d = inside the (augmented) crop, occluded joints included: their positions are exact and
the network should learn to place hidden joints (the paper's synthetic occlusion does the same).
valid_3d is all ones and has_3d 1 (the body model's 3D is exact, weight 1 like triangulated footage).

The stored crop is rendered with margin STORED_MARGIN around the padded person crop, so augmentation's
zoom-out and rotation see real scene pixels rather than borders. Augmentation: model/data/augment.py's
(rotation, flip, scale, colour, synthetic occlusion) and DistillAugment's low-resolution blur.
"""

import numpy as np
from torch.utils.data import Dataset

from model.data.augment import AugmentConfig, AugmentParams, augment_sample, sample_params
from model.data.datasets.distill import DistillAugment
from model.data.datasets.loader import IMAGENET_MEAN, IMAGENET_STD, CropSample, make_crop_sample
from model.net.skeleton import NUM_JOINTS
from model.data.synth.body import load_offsets
from model.data.synth.labels import corrected
from model.data.synth.shards import ShardSet, baked_offsets

# Stored crop side / the padded person crop's side (the crop a detector box x 1.25 gives): see model/data/synth/scene.py.
STORED_MARGIN = 1.3


class SyntheticPeople(Dataset):
    """Synthetic set folder(s) of `main.py synth` -> augmented CropSample at the network's input size."""

    def __init__(self, folder: str, input_size: int, augment: AugmentConfig = AugmentConfig(),
                 extra: DistillAugment = DistillAugment(), seed: int = 0, margin: float = STORED_MARGIN,
                 offsets_mm: np.ndarray | None = None) -> None:
        self.folder = folder
        # Teacher offsets (17, 3) mm measured after the set was made are applied here (labels.corrected);
        # None: the committed model/data/synth/teacher_offsets.json.
        self.offsets_mm = load_offsets() if offsets_mm is None else np.asarray(offsets_mm, np.float64)
        self.shards = self._load()
        self.input_size = int(input_size)
        self.augment, self.extra = augment, extra
        self.margin = float(margin)
        self.seed, self.epoch = int(seed), 0

    def _load(self) -> ShardSet:
        shards = ShardSet(self.folder)
        delta = self.offsets_mm - baked_offsets(self.folder)
        if np.any(np.abs(delta) > 1e-6):
            shards.labels = corrected(shards.labels, delta, shards.image(0).shape[0])
        return shards

    def refresh(self) -> int:
        """Pick up shards the generator has written since (a long training run beside `main.py synth`); new length.
        Indices of the samples already there do not change (shards are read in order)."""
        self.shards.close()
        self.shards = self._load()
        return len(self.shards)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.shards)

    def __getitem__(self, index: int) -> CropSample:
        rng = np.random.default_rng([self.seed, self.epoch, int(index), 7])
        labels = self.shards.labels
        image = self.shards.image(index)
        size = image.shape[0]
        side = size / self.margin
        out = (self.input_size, self.input_size)
        params = sample_params(self.augment, rng, out) if self.augment.enabled else AugmentParams()
        if self.augment.enabled and rng.random() < self.extra.zoom_out_prob:
            params = AugmentParams(params.scale * rng.uniform(1.0, min(self.extra.zoom_out_max, self.margin)),
                                   params.rotation_deg, params.flip, params.color_gain, params.occlusion_xywh)
        joints_2d = labels["joints_2d"][index].astype(np.float64)
        valid = labels["inside"][index].astype(bool)
        image_out, joints_2d, valid_2d, joints_3d, _ = augment_sample(
            image, np.array([size / 2.0, size / 2.0]), np.array([side, side]), joints_2d, valid,
            labels["joints_3d"][index].astype(np.float64), np.ones(NUM_JOINTS, bool), out, params, rng)
        if self.augment.enabled and rng.random() < self.extra.blur_prob:
            import cv2

            f = rng.uniform(0.25, 0.6)
            small = cv2.resize(image_out, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
            image_out = cv2.resize(small, out, interpolation=cv2.INTER_LINEAR)
        return make_crop_sample(image_out, IMAGENET_MEAN, IMAGENET_STD, joints_2d, valid_2d, joints_3d,
                                np.ones(NUM_JOINTS), 1.0, index)
