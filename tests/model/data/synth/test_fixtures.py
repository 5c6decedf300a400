"""The committed synthetic test renders (tests/fixtures/synth/, made by model/data/synth/fixtures.py): their labels are
exact and consistent, so tests of the shipped weights can trust them. No anny needed."""

import json
import os

import cv2
import numpy as np
import pytest

from model.data.synth.camera import project_camera
from model.data.synth.fixtures import FIXTURE_FAMILIES

FOLDER = os.path.join(os.path.dirname(__file__), "..", "..", "..", "fixtures", "synth")


@pytest.fixture(scope="module")
def fixtures() -> dict:
    with open(os.path.join(FOLDER, "labels.json"), encoding="utf-8") as f:
        return json.load(f)


def test_every_far_from_average_pose_is_there(fixtures):
    assert [c["family"] for c in fixtures["crops"]] == list(FIXTURE_FAMILIES)
    total = sum(os.path.getsize(os.path.join(FOLDER, n)) for n in os.listdir(FOLDER))
    assert total < 1_000_000


@pytest.mark.parametrize("k", range(len(FIXTURE_FAMILIES)))
def test_labels_are_exact_projections(fixtures, k):
    crop = fixtures["crops"][k]
    image = cv2.imread(os.path.join(FOLDER, crop["file"]), cv2.IMREAD_COLOR)
    assert image.shape == (fixtures["size"], fixtures["size"], 3)
    j3 = np.asarray(crop["joints_3d"]) + np.asarray(crop["root_mm"])
    assert np.allclose(np.asarray(crop["joints_3d"])[0], 0)
    assert np.allclose(project_camera(j3, np.asarray(crop["K"])), crop["joints_2d"], atol=0.05)
    assert all(crop["inside"]) and not any(crop["occluded"])
    x1, y1, x2, y2 = crop["box_xyxy"]
    # The crop is the person's box padded by 1.25 around its centre (what a top-down pipeline cuts).
    assert max(x2 - x1, y2 - y1) * fixtures["crop_padding"] == pytest.approx(fixtures["size"], rel=0.05)
    # The person's joints are inside their box (a few px of slack: joints are inside the body).
    uv = np.asarray(crop["joints_2d"])
    assert (uv[:, 0] > x1 - 3).all() and (uv[:, 0] < x2 + 3).all() and (uv[:, 1] > y1 - 3).all() and (uv[:, 1] < y2 + 3).all()


def test_far_from_average(fixtures):
    by = {c["family"]: np.asarray(c["joints_3d"]) for c in fixtures["crops"]}
    up = by["arms_up"]
    # Arms up: a wrist beyond the head top along the body's own up axis (pelvis -> thorax), in any view.
    axis = (up[8] - up[0]) / np.linalg.norm(up[8] - up[0])
    assert max((up[13] - up[10]) @ axis, (up[16] - up[10]) @ axis) > 0
    crouch = by["crouch"]
    # Crouching: the knee bends sharply (hip-knee-ankle angle well below straight).
    for hip, knee, ankle in ((1, 2, 3), (4, 5, 6)):
        a, b = crouch[hip] - crouch[knee], crouch[ankle] - crouch[knee]
        assert np.degrees(np.arccos(a @ b / np.linalg.norm(a) / np.linalg.norm(b))) < 110
