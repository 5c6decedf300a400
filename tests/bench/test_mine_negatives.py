"""bench/mine_negatives.py's additions that need no footage: boxes straddling two people, and picture crops."""

import cv2
import numpy as np

from bench.mine_negatives import PICTURES_PER_FILE, STRADDLE_MAX_IOU, mine_pictures, straddle_boxes
from model.boxes import box_iou


def test_straddle_boxes_lie_between_two_people_and_match_neither():
    """Two people side by side (and the same two seen again by the other label source, slightly moved: one person
    each): every box is centred between them and overlaps each by less than STRADDLE_MAX_IOU; people who overlap
    a lot give none (a box between them would be on both)."""
    left, right = np.array([100.0, 100, 200, 400]), np.array([260.0, 110, 360, 400])
    people = [left, right, left + 3, right - 2]
    boxes = straddle_boxes(people, np.random.default_rng(0), per_pair=20)
    assert 10 <= len(boxes) <= 20  # a few jittered ones may match a person too well and are dropped
    for box in boxes:
        assert all(box_iou(box, p) < STRADDLE_MAX_IOU for p in people)
        assert 200 < (box[0] + box[2]) / 2 < 260  # centred in the gap, not on either person
    assert straddle_boxes([left, left + [40, 0, 40, 0]], np.random.default_rng(0)) == []


def test_picture_crops_are_training_backgrounds_and_missing_pictures_are_named(tmp_path, capsys):
    picture = tmp_path / "leaves.png"
    cv2.imwrite(str(picture), np.random.default_rng(0).integers(0, 255, (300, 400, 3), dtype=np.uint8))
    (tmp_path / "out" / "parts").mkdir(parents=True)
    summary = mine_pictures(str(tmp_path / "out"), (str(picture), str(tmp_path / "gone.jpg")))
    assert summary["train"]["background"] == PICTURES_PER_FILE and summary["heldout"]["background"] == 0
    data = np.load(tmp_path / "out" / "train.npz")
    assert data["crops"].shape == (PICTURES_PER_FILE, 192, 192, 3) and set(data["source"]) == {"picture:leaves"}
    out = capsys.readouterr().out
    assert f"1 of 2 pictures are not installed (first: {tmp_path / 'gone.jpg'})" in out
