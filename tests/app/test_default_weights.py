"""The shipped default weights (assets/cascade_blazepose.*) load through the app's CascadeBackend, run on the
bundled sample clip, and give skeletons close to the MediaPipe teacher's on frames training never saw.

The sample clip is a 544x960 downscale of camera 1 of Pose2Sim's multi-person demo; frames >= 65 of that
clip were held out of training in every view (model/data/distill.py), so frames 75, 85 and 95 are unseen.
Thresholds (measured margins are in assets/README.md): mean 2D distance to the teacher under
MAX_2D_FRACTION of the person's box side, and PA-MPJPE against the teacher's world landmarks under
MAX_PA_MPJPE_MM, averaged over the people found.
"""

import os

import numpy as np
import pytest

ASSETS = os.path.join(os.path.dirname(__file__), "..", "..", "assets")
CARD = os.path.join(ASSETS, "cascade_blazepose.card.json")
CHECKPOINT = os.path.join(ASSETS, "cascade_blazepose.pt")
SAMPLE = os.path.join(ASSETS, "sample_two_people.mp4")
FRAMES = (75, 85, 95)
MAX_2D_FRACTION = 0.15
MAX_PA_MPJPE_MM = 150.0



def test_the_default_weights_ship_in_assets():
    """The app's default backend needs them: missing weights fail the suite instead of skipping it."""
    for path in (CARD, CHECKPOINT, os.path.join(ASSETS, "cascade_blazepose.onnx")):
        assert os.path.isfile(path), f"{path} is missing: the shipped weights are part of the product"


def _frames(indices):
    import cv2

    cap = cv2.VideoCapture(SAMPLE)
    out, i = {}, 0
    while len(out) < len(indices):
        ok, image = cap.read()
        assert ok, f"{SAMPLE}: ended before frame {max(indices)}"
        if i in indices:
            out[i] = image
        i += 1
    cap.release()
    return out


def _teacher(image):
    """The MediaPipe teacher on the full frame: [(keypoints (17, 3) px + visibility, world (17, 3) mm)]."""
    import cv2
    import mediapipe as mp

    from model.data.teacher import blazepose_to_h36m, create_pose_landmarker

    landmarker = create_pose_landmarker(num_poses=3)
    try:
        h, w = image.shape[:2]
        rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
        found = landmarker.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb))
    finally:
        landmarker.close()
    people = []
    for lms, wls in zip(found.pose_landmarks, found.pose_world_landmarks):
        kp = blazepose_to_h36m(np.array([[p.x * w, p.y * h, p.visibility] for p in lms]))
        world = blazepose_to_h36m(np.array([[p.x, p.y, p.z] for p in wls])) * 1000.0
        people.append((kp, world - world[0]))
    return people


def _pa_mpjpe(pred, gt):
    from model.training.metrics import pa_mpjpe

    return pa_mpjpe(pred[None], gt[None])


def test_shipped_card_names_its_files():
    from export.card import read_card

    card = read_card(CARD)
    assert card.input_size == 160 and card.num_joints == 17  # 160 px crops: faster and as accurate (assets/README.md)
    assert any(a.kind == "onnx" for a in card.artifacts)
    assert os.path.isfile(os.path.join(ASSETS, card.checkpoint_file))
    sizes = [os.path.getsize(os.path.join(ASSETS, f)) for f in (card.checkpoint_file,
                                                                *(a.file for a in card.artifacts))]
    assert sum(sizes) < 80e6  # a few tens of MB


@pytest.mark.parametrize("engine", ["onnxruntime", "torch"])
def test_default_weights_match_the_teacher(engine):
    from app.backends.cascade import CascadeBackend
    from app.types import Detection, Frame

    backend = CascadeBackend(CARD, engine=engine, device="cpu")
    errors_2d, errors_3d = [], []
    try:
        for index, image in _frames(set(FRAMES)).items():
            teacher = _teacher(image)
            assert teacher, f"teacher found nobody in frame {index}"
            for kp, world in teacher:
                lo, hi = kp[:, :2].min(0), kp[:, :2].max(0)
                side = float((hi - lo).max())
                if side < 100:  # the far-away third person: too small for the teacher to be a reference
                    continue
                box = np.array([*(lo - 0.05 * side), *(hi + 0.05 * side)])
                (pred_kp, pred_3d), = backend.estimate(Frame(index, index / 60.0, image), [Detection(box, 0.9)])
                assert pred_kp.shape == (17, 3) and pred_3d.shape == (17, 3)
                assert np.allclose(pred_3d[0], 0.0)
                errors_2d.append(np.linalg.norm(pred_kp[:, :2] - kp[:, :2], axis=-1).mean() / side)
                errors_3d.append(_pa_mpjpe(pred_3d, world))
    finally:
        backend.close()
    assert len(errors_2d) >= len(FRAMES)
    assert np.mean(errors_2d) < MAX_2D_FRACTION, errors_2d
    assert np.mean(errors_3d) < MAX_PA_MPJPE_MM, errors_3d


FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures", "synth")  # model/data/synth/fixtures.py renders


def _far_from_average_pck(threshold: float) -> dict[str, float]:
    """Per committed render (arms up, arms out, crouch, kneel, kick, lying; exact labels): the share of joints
    within `threshold` x the larger side of the exact joints' box, from the shipped weights given that box
    grown by 10% (as bench/eval_default_weights.py does)."""
    import json

    import cv2

    from app.backends.cascade import CascadeBackend
    from app.types import Detection, Frame

    with open(os.path.join(FIXTURES, "labels.json"), encoding="utf-8") as f:
        crops = json.load(f)["crops"]
    backend = CascadeBackend(CARD, engine="onnxruntime", device="cpu")
    out = {}
    try:
        for crop in crops:
            image = cv2.imread(os.path.join(FIXTURES, crop["file"]))
            joints = np.asarray(crop["joints_2d"])
            lo, hi = joints.min(0), joints.max(0)
            size = float((hi - lo).max())
            box = np.concatenate([lo - 0.05 * size, hi + 0.05 * size])
            keypoints = backend.estimate(Frame(0, 0.0, image), [Detection(box, 1.0)])[0][0]
            out[crop["family"]] = float((np.linalg.norm(keypoints[:, :2] - joints, axis=1) < threshold * size).mean())
    finally:
        backend.close()
    return out


# Joints of 17 within 0.2 of the box per render, measured 2026-12-07 with the shipped BlazePose-backbone network
# (PYTHONPATH=. python -c "import tests.app.test_default_weights as t; print(t._far_from_average_pck(0.2))", x 17);
# the earlier default (assets/previous/cascade_light.*) had 12, 9, 12, 10, 14, 4. Crouch: 16 until the weights
# fine-tuned with people touching their heads and lying (2026-12-07, late), 14 since; on the synthetic held-out
# set's 12 crouching people those weights are better (PCK@0.1 0.583 -> 0.613; assets/README, "Hands on the head").
# Kneel 15 -> 16 and lying 12 -> 14 with them.
FAR_FROM_AVERAGE_JOINTS = {"arms_up": 17, "arms_out": 17, "crouch": 14, "kneel": 16, "kick": 17, "lying": 14}


def test_poses_far_from_the_average_no_worse_than_measured():
    """A guard per render (not on the mean, which hid a render dropping to 0): each may lose one joint of its
    measured count (the margin), no more."""
    pck = _far_from_average_pck(0.2)
    assert set(pck) == set(FAR_FROM_AVERAGE_JOINTS), pck
    for family, joints in FAR_FROM_AVERAGE_JOINTS.items():
        assert pck[family] >= (joints - 1) / 17 - 1e-9, (family, pck)


def test_raised_and_outstretched_arms_are_found():
    """Issue 27's goal on the arms renders: at least 80 % of the joints within 0.2 of the box on arms up and arms
    out (measured 2026-12-07: 17 of 17 on both; the earlier default 12 and 9, its wrists 0.54-0.59 off)."""
    pck = _far_from_average_pck(0.2)
    assert pck["arms_up"] >= 0.8 and pck["arms_out"] >= 0.8, pck


def test_poses_far_from_the_average_are_found():
    """The goal: on every render at least 80 % of the joints within 0.2 of the box (met since the weights fine-tuned
    with lying people, 2026-12-07, late: the lying render 12 -> 14 of 17; crouch and lying are at the bar)."""
    pck = _far_from_average_pck(0.2)
    assert min(pck.values()) >= 0.8, pck


@pytest.mark.parametrize("engine", ["onnxruntime", "torch"])
def test_the_shipped_person_head_rejects_background_and_keeps_people(engine):
    """The shipped network's own person score: boxes on the empty floor and ceiling of an unseen frame of
    the bundled clip are not a person, the man in the same frame and every far-from-average render are.
    Measured 2026-12-07 (the head on BlazePose's deeper maps): floor 0.004, ceiling 0.000, the man and every
    render 1.000 (threshold 0.5)."""
    import json

    import cv2

    from app.backends.cascade import PERSON_THRESHOLD, CascadeBackend
    from app.types import Detection, Frame

    image = _frames({75})[75]
    boxes = {"floor": [20, 600, 200, 940], "ceiling": [350, 20, 530, 300], "man": [200, 300, 350, 600]}
    backend = CascadeBackend(CARD, engine=engine, device="cpu")
    try:
        found = backend.estimate(Frame(75, 1.25, image), [Detection(np.array(b, float), 0.9) for b in boxes.values()])
        scores = dict(zip(boxes, (r.score for r in found)))
        with open(os.path.join(FIXTURES, "labels.json"), encoding="utf-8") as f:
            for crop in json.load(f)["crops"]:
                joints = np.asarray(crop["joints_2d"])
                lo, hi = joints.min(0), joints.max(0)
                pad = 0.05 * float((hi - lo).max())
                render = cv2.imread(os.path.join(FIXTURES, crop["file"]))
                (estimate,) = backend.estimate(Frame(0, 0.0, render), [Detection(np.concatenate([lo - pad, hi + pad]), 0.9)])
                scores[crop["family"]] = estimate.score
    finally:
        backend.close()
    rejected = {name for name, s in scores.items() if s < PERSON_THRESHOLD}
    assert rejected == {"floor", "ceiling"}, scores
