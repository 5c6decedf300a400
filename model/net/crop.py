"""Person crops for the cascaded network: one affine warp per box into a normalised N x 3 x S x S batch.

The recipe is the one the network was trained with (model/data/augment.crop_matrix with no augmentation,
model/data/datasets/common.crop_box); the app and export take its numbers from the model card:

  box (x1, y1, x2, y2) -> centre c = box centre, (w, h) grown to aspect `crop_aspect` (w / h)
  without squashing, times `crop_padding`;
  crop px = s * (image px - c) + (S / 2, S / 2),  s = S / padded width.

Inference outputs (u, v) in crop px (pixel centres at integers) go back to image px by the inverse.
"""

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class CropSpec:
    """How to cut and normalise one crop: the card's input size, colour order, mean/std and padding."""

    input_size: int  # S: square crop side in px
    channel_order: str  # 'RGB' or 'BGR': the network's channel order (frames are BGR)
    pixel_scale: float  # pixels are divided by this first (255 -> [0, 1])
    pixel_mean: tuple[float, float, float]  # per-channel mean, in the network's channel order
    pixel_std: tuple[float, float, float]  # per-channel std, in the network's channel order
    crop_padding: float  # padded crop side / tight box side (1.25 as in training)
    crop_aspect: float  # crop width / height before padding (1 for the square input)

    @classmethod
    def from_card(cls, card) -> "CropSpec":
        """From an export.card.ModelCard."""
        return cls(
            card.input_size, card.channel_order, card.pixel_scale, tuple(card.pixel_mean), tuple(card.pixel_std),
            card.crop_padding, card.crop_aspect,
        )


@dataclass(frozen=True, eq=False)
class CropBatch:
    """images: (N, 3, S, S) float32 network input. to_crop: (N, 2, 3) float64 affine image px -> crop px."""

    images: np.ndarray
    to_crop: np.ndarray

    def __len__(self) -> int:
        return int(self.images.shape[0])


def crop_region(box_xyxy: np.ndarray, padding: float, aspect: float) -> tuple[np.ndarray, np.ndarray]:
    """A person box (4,) x1, y1, x2, y2 px -> the padded crop's centre (2,) and size (2,) = (w, h) px."""
    x1, y1, x2, y2 = (float(v) for v in box_xyxy)
    w, h = max(x2 - x1, 1.0), max(y2 - y1, 1.0)
    centre = np.array([0.5 * (x1 + x2), 0.5 * (y1 + y2)])
    if w > aspect * h:
        h = w / aspect
    else:
        w = h * aspect
    return centre, np.array([w * padding, h * padding])


def crop_affine(centre: np.ndarray, size: np.ndarray, input_size: int) -> np.ndarray:
    """(2, 3) affine from image px to crop px: s * (p - centre) + S / 2 with s = S / size[0]."""
    s = input_size / float(size[0])
    half = input_size / 2.0
    return np.array([[s, 0.0, half - s * centre[0]], [0.0, s, half - s * centre[1]]], dtype=np.float64)


def invert_affine(matrices: np.ndarray) -> np.ndarray:
    """Invert (..., 2, 3) affine matrices."""
    linear = matrices[..., :2]
    inverse = np.linalg.inv(linear)
    offset = -np.einsum("...ij,...j->...i", inverse, matrices[..., 2])
    return np.concatenate([inverse, offset[..., None]], axis=-1)


def cut_crops(image_bgr: np.ndarray, boxes_xyxy: np.ndarray, spec: CropSpec) -> CropBatch:
    """Cut and normalise one crop per box with a single cv2.warpAffine each.

    image_bgr: (H, W, 3) uint8. boxes_xyxy: (N, 4) px. Returns a CropBatch with N crops; outside the
    image the crop is black (before normalisation), as in training.
    """
    assert image_bgr.ndim == 3 and image_bgr.shape[2] == 3 and image_bgr.dtype == np.uint8, (image_bgr.shape, image_bgr.dtype)
    boxes = np.asarray(boxes_xyxy, dtype=np.float64).reshape(-1, 4)
    n, size = len(boxes), spec.input_size
    pixels = np.empty((n, size, size, 3), dtype=np.uint8)
    to_crop = np.empty((n, 2, 3), dtype=np.float64)
    for i, box in enumerate(boxes):
        centre, region = crop_region(box, spec.crop_padding, spec.crop_aspect)
        to_crop[i] = crop_affine(centre, region, size)
        cv2.warpAffine(
            image_bgr, to_crop[i], (size, size), dst=pixels[i], flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT
        )
    if spec.channel_order == "RGB":
        pixels = pixels[..., ::-1]
    scale = 1.0 / (spec.pixel_scale * np.asarray(spec.pixel_std, dtype=np.float32))
    shift = np.asarray(spec.pixel_mean, dtype=np.float32) / np.asarray(spec.pixel_std, dtype=np.float32)
    images = pixels.astype(np.float32) * scale - shift
    return CropBatch(np.ascontiguousarray(images.transpose(0, 3, 1, 2)), to_crop)


def crop_to_image(points_crop: np.ndarray, to_crop: np.ndarray) -> np.ndarray:
    """Map (N, J, 2) crop px back to image px with each crop's inverse affine; to_crop: (N, 2, 3)."""
    assert points_crop.ndim == 3 and points_crop.shape[-1] == 2 and to_crop.shape == (len(points_crop), 2, 3)
    to_image = invert_affine(to_crop)
    return np.einsum("nij,nkj->nki", to_image[..., :2], points_crop) + to_image[:, None, :, 2]


def box_crop_affine(box_xyxy: np.ndarray, padding: float, input_size: int) -> np.ndarray:
    """(2, 3) affine from image px to a square input_size crop centred on the box, side = padding x its larger side."""
    return crop_affine(*crop_region(box_xyxy, padding, 1.0), input_size)
