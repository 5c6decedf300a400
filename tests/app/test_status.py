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


def test_the_line_says_what_limits_the_rate():
    timed = result()
    timed = FrameResult(timed.frame, timed.tracks, timed.camera, {"detect": 3.0, "pose": 31.0, "track": 0.5,
                                                                   "motion": 1.5, "total": 36.0, "latency": 50.0},
                        timed.backend, timed.device)
    keeping_up = status_text(StatusInputs(running=True, fps=20.0, drawn_fps=19.5, draw_ms=30.0, result=timed))
    assert keeping_up.startswith("20.0 fps | limited by pose (31 of 36 ms) | ")
    behind = status_text(StatusInputs(running=True, fps=20.0, drawn_fps=12.0, draw_ms=80.0, result=timed))
    assert behind.startswith("20.0 fps | window draws 12.0 fps (the 3D view and video, 80 ms per frame; "
                             "it shows the latest result) | ")
    assert "limited" not in status_text(StatusInputs(running=True, paused=True, fps=20.0, result=timed))
    # Recent means, where the window keeps them, speak instead of the last frame (a detector frame is an outlier).
    averaged = status_text(StatusInputs(running=True, fps=20.0, result=timed,
                                        step_ms={"detect": 9.0, "pose": 30.0, "total": 45.0}))
    assert averaged.startswith("20.0 fps | limited by pose (30 of 45 ms) | ")
