"""Box geometry (model/boxes.py): matching a reference box among candidates."""

import numpy as np

from model.boxes import best_match


def test_best_match_takes_the_most_overlapping_box_and_none_under_the_bound():
    reference = np.array([0.0, 0.0, 10.0, 10.0])
    boxes = [np.array([20.0, 20.0, 30.0, 30.0]), np.array([0.0, 0.0, 10.0, 6.0]), np.array([0.0, 0.0, 10.0, 9.0])]
    assert best_match(boxes, reference, 0.5) == 2  # IoU 0, 0.6, 0.9
    assert best_match(boxes, reference, 0.95) is None
    assert best_match([], reference, 0.0) is None
    assert best_match([boxes[1], boxes[1]], reference, 0.5) == 0  # the first on a tie
