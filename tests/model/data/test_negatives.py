"""Mined crops (model/data/datasets/negatives.py): the person head's negatives never include the mined people, and back."""

import numpy as np
import pytest

from model.data.datasets.common import DatasetError
from model.data.datasets.negatives import mined_datasets


def _mined(path, kinds):
    rng = np.random.default_rng(0)
    crops = rng.integers(0, 256, (len(kinds), 32, 32, 3)).astype(np.uint8)
    for i, kind in enumerate(kinds):
        crops[i, 0, 0] = (i, 0, 0)  # the item's number, to find it again
    np.savez(path, crops=crops, kind=np.array(kinds))
    return crops


def test_people_and_negatives_are_kept_apart(tmp_path):
    path = tmp_path / "train.npz"
    crops = _mined(path, ["background", "person", "false_positive", "person"])
    negatives, people = mined_datasets(str(path), 32)
    assert [int(c[0, 0, 0]) for c in negatives.crops] == [0, 2]
    assert [int(c[0, 0, 0]) for c in people.crops] == [1, 3]
    assert len(people) == 2  # no flat colours among the people
    np.testing.assert_array_equal(people.crops[0], crops[1])
    sample = people[1]
    assert sample.image.shape == (3, 32, 32) and float(sample.valid_2d.sum()) == 0.0  # no pose labels


def test_files_without_people_give_none(tmp_path):
    path = tmp_path / "old.npz"
    _mined(path, ["background", "false_positive"])
    negatives, people = mined_datasets(str(path), 32)
    assert people is None and len(negatives.crops) == 2


def test_a_broken_file_is_one_line(tmp_path):
    path = tmp_path / "broken.npz"
    path.write_bytes(b"not a zip")
    with pytest.raises(DatasetError, match="broken.npz: cannot read"):
        mined_datasets(str(path), 32)


def test_picture_cuts_are_cut_as_the_app_cuts_a_box():
    """A person-shaped box at random, a square of 1.25 x its longer side, black outside the picture."""
    from model.data.datasets.negatives import picture_cut

    picture = np.full((120, 200, 3), (200, 100, 50), np.uint8)
    cuts = [picture_cut(picture, np.random.default_rng(seed), 48) for seed in range(40)]
    assert all(c.shape == (48, 48, 3) and c.dtype == np.uint8 for c in cuts)
    for cut in cuts:
        inside = (np.abs(cut.astype(int) - (200, 100, 50)).max(-1) <= 2)
        black = cut.max(-1) == 0
        assert inside.mean() > 0.3  # mostly the picture: its colour, or black, or a blend at the edge
        assert (inside | black).mean() > 0.9
    # The square is wider than a tall box: black strips beside it where the box is near an edge.
    assert sum(bool((c.max(-1) == 0).any()) for c in cuts) >= 10
