"""CascadeBackend on a real frame of the bundled clip: shapes, units, one engine call per frame, pixel mapping."""

import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from app.backends.base import BackendError
from app.backends.cascade import CascadeBackend
from model.net.crop import crop_region
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
        # The seeded random net's joints reach 41.7 mm (measured 2026-12-07, both people): a band of about x2 either
        # way, so that a unit slip (metres, or millimetres scaled twice) or garbage fails (it allowed 100 m).
        assert 20.0 < np.abs(joints).max() < 100.0, np.abs(joints).max()
        centre, size = crop_region(detection.box_xyxy, card.crop_padding, card.crop_aspect)
        lo, hi = centre - size / 2, centre + size / 2
        assert ((keypoints[:, :2] >= lo - 1) & (keypoints[:, :2] <= hi + 1)).all()
        # The network's own joint confidence (peak mass of each joint's heatmap), not the box score.
        assert ((keypoints[:, 2] >= 0) & (keypoints[:, 2] <= 1)).all() and np.ptp(keypoints[:, 2]) > 0
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


@pytest.fixture(scope="module")
def head_card(tmp_path_factory):
    """A tiny random-weight network with a person-score head, exported by the real CLI."""
    import main
    from model.net.checkpoint import make_random_checkpoint
    from model.net.config import ModelConfig

    root = tmp_path_factory.mktemp("head")
    checkpoint = make_random_checkpoint(root / "head.pt", ModelConfig.tiny().replace(person_head=8), seed=5)
    assert main.main(["export", str(checkpoint)]) == 0
    return root / "head.card.json"


@pytest.mark.parametrize("engine", ["onnxruntime", "torch"])
def test_person_score_flags_crops_and_scores_poses(head_card, frame, engine):
    from app.backends.base import PoseEstimate

    detections = boxes_for(frame)
    keep_all = CascadeBackend(head_card, engine=engine, device="cpu", person_threshold=0.0)
    results = keep_all.estimate(frame, detections)
    scores = [r.score for r in results]
    assert all(isinstance(r, PoseEstimate) for r in results) and all(0.0 < s < 1.0 for s in scores)
    keypoints, joints = results[0]  # still unpacks as a (keypoints_2d, joints_3d) pair
    assert keypoints.shape == (17, 3) and joints.shape == (17, 3)
    assert all(r.is_person for r in results)
    # A threshold between the two crops' scores flags exactly the lower one; both poses still come back.
    middle = float(np.mean(scores))
    split = CascadeBackend(head_card, engine=engine, device="cpu", person_threshold=middle).estimate(frame, detections)
    assert [r.is_person for r in split] == [s >= middle for s in scores]
    assert all(np.allclose(a[0], b[0], atol=1e-3) for a, b in zip(split, results))


def test_a_crop_judged_no_person_never_starts_a_track_but_a_tracked_person_is_kept(head_card):
    """The pipeline's gate: with every crop judged not a person, nobody appears; with people already
    tracked, the same verdict does not drop them (their poses follow the tracks, and the detector's boxes
    still confirm them)."""
    from app.processor import FrameProcessor, PipelineConfig
    from app.sources import open_source

    frames = []
    source = open_source(str(CLIP))
    try:
        frames = [frame for _, frame in zip(range(4), source)]
    finally:
        source.close()
    config = PipelineConfig(backend="cascade", detector="ssdlite", detect_every=1, motion=False)
    rejecting = CascadeBackend(head_card, engine="onnxruntime", device="cpu", person_threshold=1.01)
    processor = FrameProcessor(config, backend=rejecting)
    try:
        assert all(not processor.process(frame).tracks for frame in frames)
        # Tracks started while every crop counted as a person, then the verdict turns: they go on.
        processor.reset()
        processor.backend.person_threshold = 0.0
        started = processor.process(frames[0])
        assert started.tracks
        processor.backend.person_threshold = 1.01
        later = processor.process(frames[1])
        assert {t.track_id for t in later.tracks if t.missed == 0} == {t.track_id for t in started.tracks}
        assert processor.longest_unconfirmed_run == 0
    finally:
        processor.close()


def test_the_pipeline_takes_the_networks_person_score(head_card):
    from app.processor import FrameProcessor, PipelineConfig
    from app.sources import open_source

    backend = CascadeBackend(head_card, engine="onnxruntime", device="cpu", person_threshold=0.0)
    processor = FrameProcessor(PipelineConfig(backend="cascade", detector="ssdlite"), backend=backend)
    source = open_source(str(CLIP))
    try:
        frame = next(iter(source))
        detections = processor.detector.detect(frame)[: processor.config.max_people]
        network_scores = [r.score for r in backend.estimate(frame, detections)]
        result = processor.process(frame)
    finally:
        source.close()
        processor.close()
    assert result.tracks
    for track in result.tracks:
        assert min(abs(track.pose.score - s) for s in network_scores) < 1e-6, (track.pose.score, network_scores)
    assert {round(d.score, 6) for d in detections}.isdisjoint({round(t.pose.score, 6) for t in result.tracks})


def test_a_card_without_confidence_outputs_falls_back_to_the_box_score(card_path, frame, tmp_path):
    """Cards exported before the network had its own confidences still run: joints get the box score."""
    import json
    import shutil

    card = json.loads(card_path.read_text())
    card["outputs"] = [o for o in card["outputs"] if o["name"] in ("uvz", "joints_3d")]
    for file in {card["checkpoint_file"], *(a["file"] for a in card["artifacts"])}:
        shutil.copy(card_path.parent / file, tmp_path / file)
    old = tmp_path / "old.card.json"
    old.write_text(json.dumps(card))
    for engine in ("onnxruntime", "torch"):
        backend = CascadeBackend(old, engine=engine, device="cpu")
        detections = boxes_for(frame)
        for (keypoints, _), detection in zip(backend.estimate(frame, detections), detections):
            assert set(np.round(keypoints[:, 2], 6)) <= {round(detection.score, 6), round(detection.score / 2, 6)}


@pytest.fixture(scope="module")
def shipped_with_fresh_head(tmp_path_factory):
    """The shipped weights with a freshly initialised person head instead of theirs (it starts out judging
    every crop a person: sigmoid(3)), exported by the real CLI: real poses, a known verdict."""
    import main
    from app.backends.cascade import default_card_path
    from model.net.checkpoint import load_checkpoint, make_payload, save_checkpoint
    from model.net.network import CascadeNet

    card_path = default_card_path()
    shipped = load_checkpoint(card_path.parent / read_card(card_path).checkpoint_file)
    cfg = shipped.config.replace(person_head=8)
    net = CascadeNet(cfg)
    pose_weights = {k: v.float() for k, v in shipped.state_dict.items() if not k.startswith("person_head.")}
    missing, unexpected = net.load_state_dict(pose_weights, strict=False)
    assert not unexpected and all(k.startswith("person_head.") for k in missing)
    root = tmp_path_factory.mktemp("fresh_head")
    save_checkpoint(root / "fresh.pt", make_payload(net.eval(), cfg))
    assert main.main(["export", str(root / "fresh.pt")]) == 0
    return root / "fresh.card.json"


def test_a_person_judged_by_the_network_confirms_a_followed_track(shipped_with_fresh_head):
    """Between detector runs a followed person's pose is unconfirmed, unless the network's own person
    score says a person is there (PipelineConfig.network_confirms): then no track runs unconfirmed."""
    from app.processor import FrameProcessor, PipelineConfig
    from app.sources import open_source

    card = os.environ.get("CASCADE3D_TEST_CARD") or shipped_with_fresh_head

    source = open_source(str(CLIP))
    try:
        frames = [frame for _, frame in zip(range(5), source)]
    finally:
        source.close()
    runs = {}
    for confirms in (True, False):
        config = PipelineConfig(backend="cascade", detector="ssdlite", detect_every=10, motion=False,
                                network_confirms=confirms)
        backend = CascadeBackend(card, engine="onnxruntime", device="cpu")
        assert "person_score" in {o.name for o in backend.card.outputs}, f"{card}: the shipped weights have no person head"
        processor = FrameProcessor(config, backend=backend)
        try:
            results = [processor.process(frame, 60.0) for frame in frames]
            assert results[-1].tracks
            runs[confirms] = processor.longest_unconfirmed_run
        finally:
            processor.close()
    assert runs == {True: 0, False: 4}, runs
