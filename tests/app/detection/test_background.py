"""The detector on its own thread (app.detection.background): same boxes as the detector, errors surface."""

import numpy as np
import pytest

from app.detection.background import BackgroundDetector
from app.detection.ssdlite import SSDLiteDetector
from app.sources import DEFAULT_SAMPLE, open_source
from app.types import Frame


@pytest.fixture(scope="module")
def frames():
    source = open_source(DEFAULT_SAMPLE)
    try:
        return [frame for _, frame in zip(range(3), source)]
    finally:
        source.close()


def test_boxes_equal_the_detectors_own_and_one_frame_is_in_flight_at_a_time(frames):
    direct = SSDLiteDetector()
    background = BackgroundDetector(SSDLiteDetector())
    try:
        assert background.take() is None
        assert background.submit(frames[0])
        # Refused while frame 0 is in flight (SSDLite takes tens of ms), taken if it was already done.
        second = background.submit(frames[1])
        seen, boxes = background.wait(timeout=60)
        assert seen is (frames[1] if second else frames[0]) and not background.busy
        expected = direct.detect(seen)
        assert len(boxes) == len(expected) >= 1
        for got, want in zip(boxes, expected):
            np.testing.assert_allclose(got.box_xyxy, want.box_xyxy)
            assert got.score == pytest.approx(want.score)
        assert background.take() is None  # each result is handed out once
    finally:
        background.close()
        direct.close()


def test_a_detector_error_is_raised_on_the_callers_thread(frames):
    background = BackgroundDetector(SSDLiteDetector())
    try:
        grey = Frame(0, 0.0, frames[0].image[:, :, 0].copy())  # not a (H, W, 3) image: the detector asserts
        assert background.submit(grey)
        with pytest.raises(AssertionError):
            background.wait(timeout=60)
        assert background.submit(frames[0])  # the thread survives the error
        background.settle(timeout=60)  # done, and the result is still there to take
        assert not background.busy and background.take() is not None
    finally:
        background.close()
