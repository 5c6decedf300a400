"""The shipped default weights (assets/cascade_light.*) load through the app's CascadeBackend, run on the
bundled sample clip, and give skeletons close to the MediaPipe teacher's on frames training never saw.

The sample clip is a 544x960 downscale of camera 1 of Pose2Sim's multi-person demo; frames >= 65 of that
clip were held out of training in every view (model/distill.py), so frames 75, 85 and 95 are unseen.
Thresholds (measured margins are in assets/README.md): mean 2D distance to the teacher under
MAX_2D_FRACTION of the person's box side, and PA-MPJPE against the teacher's world landmarks under
MAX_PA_MPJPE_MM, averaged over the people found.
"""

import os

import numpy as np
import pytest

ASSETS = os.path.join(os.path.dirname(__file__), "..", "..", "assets")
CARD = os.path.join(ASSETS, "cascade_light.card.json")
CHECKPOINT = os.path.join(ASSETS, "cascade_light.pt")
SAMPLE = os.path.join(ASSETS, "sample_two_people.mp4")
FRAMES = (75, 85, 95)
MAX_2D_FRACTION = 0.15
MAX_PA_MPJPE_MM = 150.0



def test_the_default_weights_ship_in_assets():
    """The app's default backend needs them: missing weights fail the suite instead of skipping it."""
    for path in (CARD, CHECKPOINT, os.path.join(ASSETS, "cascade_light.onnx")):
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

    from model.teacher import blazepose_to_h36m, create_pose_landmarker

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
    from model.metrics import pa_mpjpe

    return pa_mpjpe(pred[None], gt[None])


def test_shipped_card_names_its_files():
    from export.card import read_card

    card = read_card(CARD)
    assert card.input_size == 192 and card.num_joints == 17
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


# --- poses far from the average, and crops without a person (issue 11) ---------------------------------------
FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures")
# Measured with the shipped weights on the six renders of tests/fixtures/synth: 0.221 and 186 mm (assets/README.md, "Confidence
# and poses far from the average"), with margin: mean 2D error under this fraction of the box side, mean
# PA-MPJPE under this many mm.
MAX_FAR_POSE_2D_FRACTION = 0.28
MAX_FAR_POSE_PA_MPJPE_MM = 230.0


def _far_poses():
    """(name, image BGR, joints_2d (17, 2) px, joints_3d (17, 3) mm root-relative) of the committed renders."""
    import json

    import cv2

    labels = json.load(open(os.path.join(FIXTURES, "synth", "labels.json")))
    out = []
    for crop in labels["crops"]:
        image = cv2.imread(os.path.join(FIXTURES, "synth", crop["file"]), cv2.IMREAD_COLOR)
        out.append((crop["family"], image, np.array(crop["joints_2d"]), np.array(crop["joints_3d"])))
    return out


def test_default_weights_on_poses_far_from_the_average():
    """Arms up, arms out, crouching, kneeling, kicking, lying: exact labels from the body model."""
    from app.backends.cascade import CascadeBackend
    from app.types import Detection, Frame

    backend = CascadeBackend(CARD, engine="onnxruntime", device="cpu")
    errors_2d, errors_3d = {}, {}
    try:
        for k, (name, image, joints_2d, joints_3d) in enumerate(_far_poses()):
            lo, hi = joints_2d.min(0), joints_2d.max(0)
            side = float((hi - lo).max())
            box = np.array([*(lo - 0.1 * side), *(hi + 0.1 * side)])
            (result,) = backend.estimate(Frame(k, 0.0, image), [Detection(box, 0.9)])
            assert result is not None, f"{name}: the person score rejected a render of a person"
            keypoints, joints = result
            errors_2d[name] = float(np.linalg.norm(keypoints[:, :2] - joints_2d, axis=-1).mean() / side)
            errors_3d[name] = float(_pa_mpjpe(joints, joints_3d - joints_3d[0]))
    finally:
        backend.close()
    assert len(errors_2d) >= 5
    assert np.mean(list(errors_2d.values())) < MAX_FAR_POSE_2D_FRACTION, errors_2d
    assert np.mean(list(errors_3d.values())) < MAX_FAR_POSE_PA_MPJPE_MM, errors_3d


def _card_outputs():
    from export.card import read_card

    return {o.name for o in read_card(CARD).outputs}


@pytest.mark.skipif("person_score" not in _card_outputs(), reason="the shipped card predates the person score")
def test_shipped_network_has_its_own_confidence_and_rejects_a_background_crop():
    """The card and the ONNX graph carry joint_confidence and person_score; held-out crops without a person
    (tests/fixtures/negatives: never in training) score under the backend's threshold."""
    import cv2

    from app.backends.cascade import PERSON_THRESHOLD, CascadeBackend
    from app.types import Detection, Frame
    from export.card import read_card
    from export.onnx_export import onnx_io
    from model.crop import cut_crops

    card = read_card(CARD)
    (onnx,) = [a for a in card.artifacts if a.kind == "onnx" and a.precision == "fp32"]
    names = [name for name, _ in onnx_io(os.path.join(ASSETS, onnx.file))["outputs"]]
    assert {"joint_confidence", "person_score"} <= set(names)
    backend = CascadeBackend(CARD, engine="onnxruntime", device="cpu")
    folder = os.path.join(FIXTURES, "negatives")
    try:
        for file in sorted(os.listdir(folder)):
            crop = cv2.imread(os.path.join(folder, file), cv2.IMREAD_COLOR)
            side = crop.shape[0] / card.crop_padding  # the stored crop is the padded crop of this box
            lo = (crop.shape[0] - side) / 2
            box = np.array([lo, lo, lo + side, lo + side])
            scores = backend.engine.infer(cut_crops(crop, box[None], backend.spec).images)["person_score"]
            assert scores[0] < PERSON_THRESHOLD, (file, scores)
            (result,) = backend.estimate(Frame(0, 0.0, crop), [Detection(box, 0.9)])
            assert result is None, file
    finally:
        backend.close()
