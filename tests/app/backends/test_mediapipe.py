"""MediaPipe backend: the 33 -> 17 joint mapping, and a real run on the bundled clip."""

import cv2
import numpy as np
import pytest

from app.backends.base import BackendError
from app.backends.mediapipe import MediaPipeBackend
from model.data.teacher import blazepose_to_h36m
from model.net.skeleton import BONES, JOINT_NAMES
from app.sources import DEFAULT_SAMPLE
from app.types import Detection, Frame


def test_mapping_by_hand():
    points = np.zeros((33, 4))
    points[:, 0] = np.arange(33)  # x = BlazePose index, so each output tells where it came from
    points[:, 3] = 0.5
    points[11, 1], points[12, 1] = 10.0, 10.0  # shoulders at y = 10
    points[7, 1], points[8, 1] = 30.0, 30.0  # ears at y = 30
    out = blazepose_to_h36m(points)
    name = dict(zip(JOINT_NAMES, out))
    assert name["pelvis"][0] == 23.5 and name["thorax"][0] == 11.5
    assert name["spine"][0] == (23.5 + 11.5) / 2
    assert name["r_hip"][0] == 24 and name["l_ankle"][0] == 27 and name["nose"][0] == 0
    assert name["l_wrist"][0] == 15 and name["r_elbow"][0] == 14
    assert name["head"][1] == 30.0 + 0.5 * (30.0 - 10.0)  # above the ears, away from the neck
    assert np.all(out[:, 3] == 0.5)


def test_refuses_a_gpu_device():
    with pytest.raises(BackendError, match="CPU only"):
        MediaPipeBackend(device="cuda")


@pytest.fixture(scope="module")
def backend():
    b = MediaPipeBackend()
    yield b
    b.close()


def test_real_frame_gives_a_plausible_metric_skeleton(backend):
    capture = cv2.VideoCapture(DEFAULT_SAMPLE)
    image = capture.read()[1]
    box = np.array([261.0, 435.0, 471.0, 860.0])  # the woman in the foreground, frame 0
    (keypoints, joints), = backend.estimate(Frame(0, 0.0, image), [Detection(box, 1.0)])
    assert keypoints.shape == (17, 3) and joints.shape == (17, 3)
    np.testing.assert_array_equal(joints[0], 0.0)  # root-relative
    inside = (keypoints[:, 0] > box[0] - 20) & (keypoints[:, 0] < box[2] + 20) \
        & (keypoints[:, 1] > box[1] - 40) & (keypoints[:, 1] < box[3] + 20)
    assert inside.all()
    lengths = {(p, c): np.linalg.norm(joints[c] - joints[p]) for p, c in BONES}
    assert 300 < lengths[(1, 2)] < 550 and 300 < lengths[(4, 5)] < 550  # thighs, mm
    assert joints[10, 1] < joints[8, 1] < joints[0, 1] < joints[3, 1]  # head above neck above pelvis above ankle (y down)


def test_empty_crop_gives_none(backend):
    image = np.zeros((480, 640, 3), np.uint8)
    assert backend.estimate(Frame(0, 0.0, image), [Detection(np.array([10.0, 10.0, 200.0, 400.0]), 1.0)]) == [None]
