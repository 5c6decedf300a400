"""CascadeBackend on a real frame of the bundled clip: shapes, units, one engine call per frame, pixel mapping."""

from pathlib import Path

import cv2
import numpy as np
import pytest

from app.backends.base import BackendError
from app.backends.cascade import CascadeBackend
from model.crop import crop_region
from app.engines import OnnxRuntimeEngine
from app.types import Detection, Frame
from export.card import read_card

CLIP = Path(__file__).resolve().parents[3] / "assets" / "sample_two_people.mp4"


@pytest.fixture(scope="module")
def card_path(export_tiny):
    return export_tiny(4)


@pytest.fixture(scope="module")
def frame():
    capture = cv2.VideoCapture(str(CLIP))
    ok, image = capture.read()
    capture.release()
    assert ok, f"could not decode {CLIP}"
    return Frame(index=0, time_s=0.0, image=image)


def boxes_for(frame: Frame) -> list[Detection]:
    """Two person-sized boxes on the frame (the geometry test needs boxes, not a detector)."""
    h, w = frame.height, frame.width
    return [
        Detection(np.array([0.05 * w, 0.25 * h, 0.45 * w, 0.95 * h]), 0.9),
        Detection(np.array([0.55 * w, 0.30 * h, 0.90 * w, 0.90 * h]), 0.7),
    ]


class CountingEngine(OnnxRuntimeEngine):
    """The real ONNX Runtime engine, counting its runtime calls."""

    calls = 0

    def _run(self, images):
        self.calls += 1
        return super()._run(images)


def test_estimate_returns_finite_poses_inside_their_crops(card_path, frame):
    card = read_card(card_path)
    engine = CountingEngine(card, card_path.parent)
    backend = CascadeBackend(card_path, engine=engine)
    detections = boxes_for(frame)
    results = backend.estimate(frame, detections)
    assert engine.calls == 1  # every person of the frame in one batch
    assert len(results) == 2
    for (keypoints, joints), detection in zip(results, detections):
        assert keypoints.shape == (17, 3) and joints.shape == (17, 3)
        assert np.isfinite(keypoints).all() and np.isfinite(joints).all()
        np.testing.assert_array_equal(joints[0], 0.0)  # root-relative
        assert 0.0 < np.abs(joints).max() < 1e5  # millimetres of a random net, not metres or garbage
        centre, size = crop_region(detection.box_xyxy, card.crop_padding, card.crop_aspect)
        lo, hi = centre - size / 2, centre + size / 2
        assert ((keypoints[:, :2] >= lo - 1) & (keypoints[:, :2] <= hi + 1)).all()
        assert set(np.round(keypoints[:, 2], 6)) <= {round(detection.score, 6), round(detection.score / 2, 6)}
    # Different boxes give different 2D points: the mapping back follows each box.
    assert np.abs(results[0][0][:, 0].mean() - results[1][0][:, 0].mean()) > 50
    assert backend.name == "cascade/onnxruntime-cpu" and backend.device == "cpu"
    assert set(backend.timings_ms) == {"crop", "engine"}


def test_points_move_with_the_image(card_path, frame):
    """The same person shifted by (dx, dy) pixels gives the same pose shifted by (dx, dy)."""
    backend = CascadeBackend(card_path, engine="onnxruntime", device="cpu")
    dx, dy = 37, 23
    canvas = np.zeros((frame.height + dy, frame.width + dx, 3), np.uint8)
    canvas[dy:, dx:] = frame.image
    detections = boxes_for(frame)
    moved = [Detection(d.box_xyxy + np.array([dx, dy, dx, dy]), d.score) for d in detections]
    original = backend.estimate(frame, detections)
    shifted = backend.estimate(Frame(1, 0.0, canvas), moved)
    for (kp_a, joints_a), (kp_b, joints_b) in zip(original, shifted):
        np.testing.assert_allclose(kp_b[:, :2] - kp_a[:, :2], np.broadcast_to([dx, dy], (17, 2)), atol=1e-3)
        np.testing.assert_allclose(joints_b, joints_a, atol=1e-3)


def test_batch_equals_one_by_one(card_path, frame):
    backend = CascadeBackend(card_path, engine="torch", device="cpu")
    assert backend.name == "cascade/torch-cpu"
    detections = boxes_for(frame)
    together = backend.estimate(frame, detections)
    for detection, (keypoints, joints) in zip(detections, together):
        ((alone_kp, alone_joints),) = backend.estimate(frame, [detection])
        np.testing.assert_allclose(alone_kp, keypoints, atol=1e-3)
        np.testing.assert_allclose(alone_joints, joints, atol=1e-2)


def test_no_people_no_engine_call(card_path, frame):
    engine = CountingEngine(read_card(card_path), card_path.parent)
    backend = CascadeBackend(card_path, engine=engine)
    assert backend.estimate(frame, []) == [] and engine.calls == 0


def test_bad_card_or_engine_is_a_one_line_backend_error(card_path, tmp_path):
    with pytest.raises(BackendError, match="model card not found"):
        CascadeBackend(tmp_path / "nothing.card.json")
    with pytest.raises(BackendError, match="unknown engine 'tensorflow'"):
        CascadeBackend(card_path, engine="tensorflow")


def test_environment_overrides_the_card_and_engine(card_path, monkeypatch):
    monkeypatch.setenv("CASCADE3D_CARD", str(card_path))
    monkeypatch.setenv("CASCADE3D_ENGINE", "torch-cpu")
    backend = CascadeBackend(device="cpu")
    assert backend.card_path == card_path and backend.name == "cascade/torch-cpu"


def test_runs_inside_the_pipeline(card_path):
    """The backend plugs into the app's FrameProcessor (real detector, placement, tracking) on the clip."""
    from app.processor import FrameProcessor, PipelineConfig
    from app.sources import open_source

    processor = FrameProcessor(PipelineConfig(backend="cascade"), backend=CascadeBackend(card_path, device="cpu"))
    source = open_source(str(CLIP))
    try:
        results = [processor.process(frame) for _, frame in zip(range(2), source)]
    finally:
        source.close()
        processor.close()
    assert all(r.backend == "cascade/onnxruntime-cpu" for r in results)
    tracks = [t for r in results for t in r.tracks]
    assert tracks, "the detector found nobody on the two-person clip"
    for track in tracks:
        assert np.isfinite(track.pose.keypoints_2d).all() and np.isfinite(track.pose.joints_camera).all()
