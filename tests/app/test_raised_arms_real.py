"""The shipped network on real crops of raised and outstretched arms, labelled by multi-view triangulation (issue 27).

tests/fixtures/raised_arms/ holds 12 people cut from camera 4 of Pose2Sim's Demo_MultiPerson, the view held out
of training, with an arm raised or held out; their labels are triangulated from cameras 1-3, reprojected into the
cut and checked against the MediaPipe teacher on camera 4 (python -m bench.make_raised_arms_fixture).
"""

import json
import os

import numpy as np

from app.backends.cascade import default_card_path
from model.net.skeleton import ARM_JOINTS

CARD = str(default_card_path())
FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures", "raised_arms")


def _crops() -> list[dict]:
    with open(os.path.join(FIXTURES, "labels.json"), encoding="utf-8") as f:
        return json.load(f)["crops"]


def arm_errors(card: str = "") -> dict[str, np.ndarray]:
    """Per committed crop: the distance of each of ARM_JOINTS to its multi-view label, x the larger side of the
    labelled joints' box, from `card` (default CARD) given that box grown by 10 % (as
    bench/eval_default_weights.py does)."""
    import cv2

    from app.backends.cascade import CascadeBackend
    from app.types import Detection, Frame
    from model.net.skeleton import JOINT_NAMES

    arm = [JOINT_NAMES.index(j) for j in ARM_JOINTS]
    backend = CascadeBackend(card or CARD, engine="onnxruntime", device="cpu")
    out = {}
    try:
        for crop in _crops():
            image = cv2.imread(os.path.join(FIXTURES, crop["file"]))
            joints, valid = np.asarray(crop["joints_2d"]), np.asarray(crop["valid"], bool)
            lo, hi = joints[valid].min(0), joints[valid].max(0)
            size = float((hi - lo).max())
            box = np.concatenate([lo - 0.05 * size, hi + 0.05 * size])
            estimate = backend.estimate(Frame(crop["frame"], crop["frame"] / 60.0, image), [Detection(box, 1.0)])[0]
            assert estimate is not None, f"{crop['file']}: the network gave a non-finite pose"
            keypoints = estimate[0]
            out[crop["file"]] = np.linalg.norm(keypoints[arm, :2] - joints[arm], axis=1) / size
    finally:
        backend.close()
    return out


def test_the_fixture_holds_raised_or_outstretched_arms():
    """Every crop has a labelled arm up or out, so the test below is about those poses."""
    crops = _crops()
    assert len(crops) >= 6
    for crop in crops:
        assert np.asarray(crop["valid"]).all(), crop["file"]
        assert crop["arms"] and set(crop["arms"]) <= {"l", "r"}, crop["file"]
        assert os.path.isfile(os.path.join(FIXTURES, crop["file"]))


# Crops (of 12) whose joint is within 0.1 of the box side, measured 2026-12-07 with the shipped default
# (assets/cascade_blazepose.card.json, 160 px), command:
#   .venv/bin/python -m bench.raised_arms_pck assets/cascade_blazepose.card.json assets/previous/cascade_light.card.json
# The earlier default (assets/previous/cascade_light.card.json): 11, 6, 11, 5.
SHIPPED_PCK_01 = {"l_elbow": 12, "l_wrist": 12, "r_elbow": 12, "r_wrist": 11}
# The shipped network has all 4 arm joints of every crop within 0.2 (largest 0.109, a right wrist); the earlier
# default 2 of 4 on f048_p0 (both wrists 0.29-0.31 off), 4 of 4 on the rest.
MIN_ARM_JOINTS_WITHIN_02 = 3  # measured 4, less a margin of one joint: on the full camera-4 frame, not the cut,
# a borderline wrist can land farther off (the cut's resampling tips it; seen with a 192 px candidate on f035_p1).


def test_raised_arms_are_found_on_real_crops():
    """Per arm joint, the crops within 0.1 of the box side (PCK@0.1) reach the shipped network's measured count
    less one crop (the margin), and every crop has at least MIN_ARM_JOINTS_WITHIN_02 of its 4 arm joints within 0.2.

    Measured 2026-12-07 on these 12 crops (elbows and wrists within 0.1, of 12):
      shipped assets/cascade_blazepose.card.json: l_elbow 12, l_wrist 12, r_elbow 12, r_wrist 11; every joint
        within 0.2 (arm joints PCK@0.1 0.979, PCK@0.2 1.000).
      earlier default assets/previous/cascade_light.card.json: l_elbow 11, l_wrist 6, r_elbow 11, r_wrist 5;
        both wrists 11/12 within 0.2 (arm joints PCK@0.1 0.688, PCK@0.2 0.958): it fails both checks.
    """
    errors = arm_errors()
    table = np.stack(list(errors.values()))
    within_01 = {joint: int((table[:, k] < 0.1).sum()) for k, joint in enumerate(ARM_JOINTS)}
    for joint, measured in SHIPPED_PCK_01.items():
        assert within_01[joint] >= measured - 1, (joint, within_01, errors)
    for name, row in errors.items():
        assert (row < 0.2).sum() >= MIN_ARM_JOINTS_WITHIN_02, (name, row)
