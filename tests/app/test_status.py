"""The status line text is a pure function of what the window knows."""

import numpy as np

from app.status import StatusInputs, status_text
from app.types import CameraIntrinsics, Frame, FrameResult


def result(people: int = 2, latency: float | None = 40.0) -> FrameResult:
    frame = Frame(7, 0.1, np.zeros((4, 4, 3), np.uint8))
    timings = {"latency": latency} if latency is not None else {}
    return FrameResult(frame, tracks=tuple(range(people)), camera=CameraIntrinsics.from_fov(4, 4, 60.0),
                       timings_ms=timings, backend="cascade/onnxruntime-cpu", device="cpu")


def test_no_pipeline_shows_the_error_or_a_hint():
    assert status_text(StatusInputs(running=False)) == "no source running: pick a camera or open a file"
    assert status_text(StatusInputs(running=False, error="x.mp4: no such file")) == "x.mp4: no such file"


def test_running_line_has_fps_latency_people_backend_detector_source_recording_error():
    text = status_text(StatusInputs(
        running=True, fps=12.34, screen_latency_ms=55.0, result=result(), backend="cascade", device="auto",
        detect_every=3, source="sample_two_people.mp4", source_fallback="no camera: the bundled clip", recording=True,
        error="recording failed: disk full"))
    assert text == ("12.3 fps | latency 55 ms (to result 40 ms) | 2 people | cascade/onnxruntime-cpu on cpu | "
                    "detector every 3 frames | sample_two_people.mp4 (no camera: the bundled clip) | ● recording | "
                    "recording failed: disk full")


def test_before_the_first_result_and_paused():
    text = status_text(StatusInputs(running=True, paused=True, backend="mediapipe", device="cpu", source="camera 0"))
    assert text == "paused | mediapipe on cpu | camera 0"
    assert "1 person |" in status_text(StatusInputs(running=True, result=result(people=1), screen_latency_ms=None))
