"""Person crops: the same affine recipe as training, exact inverse mapping, normalisation and channel order."""

import numpy as np
import pytest

from model.net.crop import CropSpec, box_crop_affine, crop_affine, crop_region, crop_to_image, cut_crops, invert_affine
from model.data.augment import crop_matrix
from model.data.datasets.common import crop_box

SPEC = CropSpec(
    input_size=64, channel_order="RGB", pixel_scale=255.0, pixel_mean=(0.485, 0.456, 0.406),
    pixel_std=(0.229, 0.224, 0.225), crop_padding=1.25, crop_aspect=1.0,
)


@pytest.mark.parametrize("box", [(100.0, 50.0, 180.0, 290.0), (10.0, 20.0, 330.0, 90.0), (5.5, 7.25, 6.5, 8.0)])
def test_crop_recipe_matches_training(box):
    x1, y1, x2, y2 = box
    centre, size = crop_region(np.array(box), 1.25, 1.0)
    train_centre, train_size = crop_box(np.array([x1, y1, x2 - x1, y2 - y1]), aspect=1.0, padding=1.25)
    if x2 - x1 >= 1.0 and y2 - y1 >= 1.0:
        np.testing.assert_allclose(centre, train_centre)
        np.testing.assert_allclose(size, train_size)
    np.testing.assert_allclose(crop_affine(centre, size, 64), crop_matrix(centre, size, (64, 64)), atol=1e-12)
    assert size[0] == pytest.approx(size[1])  # square, nothing squashed


def test_inverse_mapping_round_trips():
    rng = np.random.default_rng(0)
    boxes = np.array([[100.0, 50.0, 180.0, 290.0], [300.0, 10.0, 500.0, 200.0]])
    to_crop = np.stack([crop_affine(*crop_region(b, 1.25, 1.0), 64) for b in boxes])
    points = rng.uniform(0, 500, size=(2, 17, 2))
    in_crop = np.einsum("nij,nkj->nki", to_crop[..., :2], points) + to_crop[:, None, :, 2]
    np.testing.assert_allclose(crop_to_image(in_crop, to_crop), points, atol=1e-9)
    np.testing.assert_allclose(invert_affine(invert_affine(to_crop)), to_crop, atol=1e-12)


def test_a_marked_spot_lands_where_the_affine_says():
    image = np.zeros((400, 600, 3), dtype=np.uint8)
    image[206:215, 146:155] = 255  # a 9 x 9 spot centred on x = 150, y = 210
    box = np.array([[100.0, 100.0, 200.0, 300.0]])
    batch = cut_crops(image, box, SPEC)
    assert batch.images.shape == (1, 3, 64, 64) and batch.images.dtype == np.float32
    brightness = batch.images[0].sum(axis=0)
    ys, xs = np.nonzero(brightness > brightness.min() + 0.5 * np.ptp(brightness))
    found = np.array([xs.mean(), ys.mean()])
    expected = batch.to_crop[0] @ np.array([150.0, 210.0, 1.0])
    assert np.hypot(*(found - expected)) <= 0.5
    # And back: the spot's crop position maps to the spot in the image (to a fraction of a crop pixel).
    back = crop_to_image(found[None, None], batch.to_crop)[0, 0]
    assert np.hypot(*(back - [150.0, 210.0])) <= 0.5 * 250 / 64


def test_normalisation_and_channel_order():
    bgr = (10, 128, 240)
    image = np.empty((120, 160, 3), dtype=np.uint8)
    image[:] = bgr
    box = np.array([[60.0, 40.0, 100.0, 80.0]])  # the padded crop stays inside the image
    images = cut_crops(image, box, SPEC).images[0]
    rgb = np.array(bgr[::-1], dtype=np.float64)
    expected = (rgb / 255.0 - np.array(SPEC.pixel_mean)) / np.array(SPEC.pixel_std)
    np.testing.assert_allclose(images.mean(axis=(1, 2)), expected, atol=1e-5)
    bgr_spec = CropSpec(**{**SPEC.__dict__, "channel_order": "BGR", "pixel_mean": (0.0,) * 3, "pixel_std": (1.0,) * 3})
    np.testing.assert_allclose(cut_crops(image, box, bgr_spec).images[0].mean(axis=(1, 2)), np.array(bgr) / 255.0, atol=1e-6)


def test_outside_the_image_is_black_and_many_boxes_make_one_batch():
    image = np.full((100, 100, 3), 200, dtype=np.uint8)
    boxes = np.array([[-80.0, -80.0, -20.0, -20.0], [10.0, 10.0, 90.0, 90.0], [50.0, 0.0, 60.0, 99.0]])
    batch = cut_crops(image, boxes, SPEC)
    assert len(batch) == 3 and batch.to_crop.shape == (3, 2, 3)
    black = -np.array(SPEC.pixel_mean) / np.array(SPEC.pixel_std)
    np.testing.assert_allclose(batch.images[0].mean(axis=(1, 2)), black, atol=1e-5)
    assert cut_crops(image, np.zeros((0, 4)), SPEC).images.shape == (0, 3, 64, 64)


def test_crop_affine_centres_the_box():
    a = box_crop_affine(np.array([100.0, 200.0, 300.0, 600.0]), 1.75, 256)
    centre = a[:, :2] @ np.array([200.0, 400.0]) + a[:, 2]
    np.testing.assert_allclose(centre, [128, 128])
    assert a[0, 0] == pytest.approx(256 / (400 * 1.75))
