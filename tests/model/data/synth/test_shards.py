"""Tests of the synthetic shards (model/data/synth/shards.py), the generator's resume rules and the dataset class
(model/data/datasets/synthetic_people.py), on hand-made shards: no anny needed."""

import argparse
import json
import os

import cv2
import numpy as np
import pytest
import torch

from model.data.augment import AugmentConfig
from model.data.datasets.distill import DistillAugment
from model.data.datasets.loader import CropSample
from model.data.datasets.synthetic_people import STORED_MARGIN, SyntheticPeople
from model.data.synth import generate
from model.data.synth.body import load_offsets
from model.data.synth.labels import derive
from model.data.synth.shards import (ShardError, ShardSample, ShardSet, complete_shards, expected_size, read_meta,
                                shard_count, write_shard)

SIZE = 256


def make_sample(i: int, rng: np.random.Generator) -> ShardSample:
    """A sample whose labels are an exact projection, with a visible dot at every joint."""
    K = np.array([[400.0, 0, 128], [0, 400.0, 128], [0, 0, 1]])
    absolute = rng.normal([0, 0, 4000], [200, 350, 100], (17, 3))
    derive(absolute, absolute[9] + np.array([0, -80.0, 0]))
    uv = absolute[:, :2] / absolute[:, 2:] @ K[:2, :2].T + K[:2, 2]
    image = np.full((SIZE, SIZE, 3), 40, np.uint8)
    for p in uv:
        cv2.circle(image, (int(round(p[0])), int(round(p[1]))), 3, (255, 255, 255), -1)
    ok, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 95])
    ok, png = cv2.imencode(".png", (image[:, :, 0] > 128).astype(np.uint8) * 255)
    labels = {"joints_2d": uv.astype(np.float32), "joints_3d": (absolute - absolute[0]).astype(np.float32),
              "root_mm": absolute[0].astype(np.float32), "K": K.astype(np.float32),
              "frames": np.tile(np.eye(3, dtype=np.float32), (17, 1, 1)),
              "inside": ((uv >= 0) & (uv <= SIZE - 1)).all(1), "occluded": np.arange(17) == 13, "index": np.int64(i)}
    return ShardSample(jpeg.tobytes(), png.tobytes(), labels, {"index": i, "note": "test"})


@pytest.fixture()
def folder(tmp_path):
    rng = np.random.default_rng(0)
    write_shard(str(tmp_path), 0, [make_sample(i, rng) for i in range(0, 3)])
    write_shard(str(tmp_path), 1, [make_sample(i, rng) for i in range(3, 5)])
    # Labels made with the committed teacher offsets: the reader has nothing to correct.
    (tmp_path / "synth_config.json").write_text(json.dumps({"offsets_mm": load_offsets().tolist()}))
    return str(tmp_path)


def test_round_trip(folder):
    shards = ShardSet(folder)
    assert len(shards) == 5 and list(shards.labels["index"]) == [0, 1, 2, 3, 4]
    assert complete_shards(folder) == {0: 3, 1: 2}
    image = shards.image(3)
    assert image.shape == (SIZE, SIZE, 3) and image.dtype == np.uint8
    # The dots drawn at the 2D labels come back where the labels say.
    for p in shards.labels["joints_2d"][3]:
        x, y = int(round(p[0])), int(round(p[1]))
        if 0 <= x < SIZE and 0 <= y < SIZE:
            assert image[y, x].min() > 180
    assert shards.mask(3).shape == (SIZE, SIZE)
    assert [m["index"] for m in read_meta(folder)] == [0, 1, 2, 3, 4]
    assert shards.labels["occluded"][:, 13].all() and not shards.labels["occluded"][:, 12].any()


def test_a_shard_without_its_npz_is_not_complete(folder):
    os.remove(os.path.join(folder, "shard_00001.npz"))  # killed after its .bin and .jsonl
    assert complete_shards(folder) == {0: 3}
    assert len(ShardSet(folder)) == 3


def test_resume_plan():
    assert shard_count(450, 200) == 3 and [expected_size(k, 450, 200) for k in range(3)] == [200, 200, 50]
    assert expected_size(3, 450, 200) == 0


def test_empty_folder_is_a_one_line_error(tmp_path):
    with pytest.raises(ShardError) as err:
        ShardSet(str(tmp_path))
    assert str(tmp_path) in str(err.value) and "\n" not in str(err.value)


def test_settings_mismatch_is_refused(tmp_path, capsys):
    config = {"seed": 0, "split": "train", "size": 256, "shard_size": 200, "labels_version": generate.LABELS_VERSION}
    (tmp_path / "synth_config.json").write_text(json.dumps(config))
    assert generate.check_config(str(tmp_path), config) == ""
    problem = generate.check_config(str(tmp_path), {**config, "seed": 1})
    assert "seed=0 not 1" in problem and "\n" not in problem
    args = argparse.Namespace(out=str(tmp_path), count=10, seed=1, split="train", size=256, shard_size=200,
                              card_every=10, threads=1, footage_poses="", family=None)
    assert generate.run(args) == 2
    assert "other settings" in capsys.readouterr().err


def test_a_family_set_is_its_own_folder(tmp_path):
    """--family is recorded; a folder made without it (older ones too: no key) refuses it, and the reverse."""
    config = {"seed": 0, "split": "train", "size": 256, "shard_size": 200, "labels_version": generate.LABELS_VERSION}
    (tmp_path / "synth_config.json").write_text(json.dumps(config))
    assert "family=None not 'touch'" in generate.check_config(str(tmp_path), {**config, "family": "touch"})
    (tmp_path / "synth_config.json").write_text(json.dumps({**config, "family": "touch"}))
    assert generate.check_config(str(tmp_path), {**config, "family": "touch"}) == ""
    assert "family='touch' not None" in generate.check_config(str(tmp_path), config)


def test_dataset_yields_the_distill_sample(folder):
    data = SyntheticPeople(folder, 192, AugmentConfig(enabled=False), DistillAugment(blur_prob=0.0))
    sample = data[2]
    assert isinstance(sample, CropSample)
    assert sample.image.shape == (3, 192, 192) and sample.image.dtype == torch.float32
    assert sample.joints_2d.shape == (17, 2) and sample.valid_2d.shape == (17,)
    assert sample.joints_3d.shape == (17, 3) and sample.valid_3d.shape == (17,)
    assert float(sample.has_3d) == 1.0 and int(sample.index) == 2
    # Without augmentation the network crop is the stored crop's centre (STORED_MARGIN) scaled to 192 px.
    stored = ShardSet(folder).labels["joints_2d"][2]
    side = SIZE / STORED_MARGIN
    expected = (stored - SIZE / 2) * 192 / side + 96
    assert np.allclose(sample.joints_2d.numpy(), expected, atol=1e-3)
    assert np.allclose(sample.joints_3d.numpy(), ShardSet(folder).labels["joints_3d"][2], atol=1e-3)
    inside = (expected >= 0).all(1) & (expected < 192).all(1)
    assert np.array_equal(sample.valid_2d.numpy() > 0, inside & ShardSet(folder).labels["inside"][2])


def test_dataset_batches_like_distill_crops(folder):
    data = SyntheticPeople(folder, 128, AugmentConfig(), DistillAugment(), seed=3)
    loader = torch.utils.data.DataLoader(data, batch_size=4, shuffle=True)
    batch = next(iter(loader))
    assert batch.image.shape == (4, 3, 128, 128) and batch.joints_3d.shape == (4, 17, 3)
    data.input_size = 160  # distill_train changes the side between batches
    assert data[0].image.shape == (3, 160, 160)
    data.set_epoch(1)
    a, b = data[1], SyntheticPeople(folder, 160, AugmentConfig(), DistillAugment(), seed=3)
    b.set_epoch(1)
    assert torch.equal(a.image, b[1].image)  # reproducible per (seed, epoch, index)


def test_dataset_applies_offsets_measured_after_the_set(folder):
    plain = SyntheticPeople(folder, 192, AugmentConfig(enabled=False), DistillAugment(blur_prob=0.0))
    delta = np.zeros((17, 3))
    delta[13] = [0.0, 0.0, 50.0]  # the left wrist 5 cm further along its frame's z (identity frames here)
    moved = SyntheticPeople(folder, 192, AugmentConfig(enabled=False), DistillAugment(blur_prob=0.0),
                            offsets_mm=load_offsets() + delta)
    a, b = plain[0], moved[0]
    assert np.allclose((b.joints_3d - a.joints_3d).numpy()[13], [0, 0, 50], atol=1e-2)
    assert np.allclose((b.joints_3d - a.joints_3d).numpy()[:13], 0, atol=1e-2)
    # Its 2D moved as the projection of the moved 3D point (towards the principal point: further away).
    assert not np.allclose(a.joints_2d[13], b.joints_2d[13]) and np.allclose(a.joints_2d[:13], b.joints_2d[:13])


def test_refresh_picks_up_new_shards(folder):
    data = SyntheticPeople(folder, 128, AugmentConfig(enabled=False))
    before = data[4].joints_2d.clone()
    write_shard(folder, 2, [make_sample(i, np.random.default_rng(i)) for i in range(5, 7)])
    assert len(data) == 5 and data.refresh() == 7 and len(data) == 7
    assert torch.equal(data[4].joints_2d, before)


def test_training_reads_several_synthetic_folders_as_one(tmp_path):
    """train_generalise --synth A,B: shards named by folder, one dataset over both (input size forwarded); a single
    folder keeps the plain names that older runs recorded in their checkpoints."""
    from model.training.train_generalise import SyntheticSets, synthetic_dataset, synthetic_shards

    rng = np.random.default_rng(0)
    folders = [str(tmp_path / "a"), str(tmp_path / "b")]
    for folder, counts in zip(folders, ((3, 2), (4,))):
        first = 0
        for k, n in enumerate(counts):
            write_shard(folder, k, [make_sample(i, rng) for i in range(first, first + n)])
            first += n
        with open(os.path.join(folder, "synth_config.json"), "w") as f:
            json.dump({"offsets_mm": load_offsets().tolist()}, f)
    assert synthetic_shards(folders[0]) == ["shard_00000", "shard_00001"]
    both = ",".join(folders)
    assert synthetic_shards(both) == ["0:shard_00000", "0:shard_00001", "1:shard_00000"]
    data = synthetic_dataset(both, ["0:shard_00001", "1:shard_00000"], 128, seed=0)
    assert isinstance(data, SyntheticSets) and len(data) == 2 + 4
    data.input_size = 160
    assert data.input_size == 160 and data[5].image.shape[-1] == 160
    assert len(synthetic_dataset(folders[0], ["shard_00000"], 128, seed=0)) == 3
