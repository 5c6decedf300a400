"""The real window, offscreen, on the real pipeline and the bundled two-person clip."""

import faulthandler
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from app.processor import PipelineConfig
from app.sources import DEFAULT_SAMPLE
from app.types import FrameResult
from tests.app.ui.ui_fixtures import frame_result, standing_track, track_exact_mask, track_hue_mask, wait_until

REPO = Path(__file__).resolve().parents[3]
SCRIPTED_FRAMES = 8
# Measured on the screenshot after 8 frames of the clip (window 1280x720, 3 tracks: the two people
# and the small one in the background): 3D view 982 + 1,213 + 691 track-coloured pixels, video view
# 5,939 overlay pixels, against 0 pixels of those exact colours in the clip itself. The thresholds
# are about a third of that: a person missing from either view fails them.
MIN_3D_PIXELS = 1000  # all tracks together
MIN_3D_PIXELS_PER_PERSON = 300  # for at least two tracks
MIN_VIDEO_PIXELS = 2000  # all tracks together, above the clip's own pixels of those colours
START_TIMEOUT_S = 180  # loading MediaPipe on 2 busy cores can take a while; this is only a hang guard


def region(image: np.ndarray, window, widget) -> np.ndarray:
    """The part of a window screenshot covered by one of its child widgets."""
    from PyQt6.QtCore import QPoint

    top_left = widget.mapTo(window, QPoint(0, 0))
    return image[top_left.y(): top_left.y() + widget.height(), top_left.x(): top_left.x() + widget.width()]


def test_scripted_run_screenshot_shows_skeletons_in_both_views(qapp, tmp_path):
    from app.ui.main_window import MainWindow
    from app.ui.scripted import ScriptedRun

    shot = tmp_path / "window.png"
    window = MainWindow(PipelineConfig(source=DEFAULT_SAMPLE), ScriptedRun(SCRIPTED_FRAMES, str(shot)))
    window.show()
    assert wait_until(qapp, lambda: window._closed, START_TIMEOUT_S), window.status_text()
    assert window.exit_code == 0, window.last_error
    assert window.pipeline is None  # stopped on close
    result = window.last_result
    assert result is not None and result.frame.index == SCRIPTED_FRAMES - 1  # the Nth frame, none skipped
    track_ids = [t.track_id for t in result.tracks]
    assert len(track_ids) >= 2

    image = cv2.cvtColor(cv2.imread(str(shot)), cv2.COLOR_BGR2RGB)
    assert image.shape[:2] == (window.height(), window.width())

    view3d = region(image, window, window.view3d)
    counts_3d = {i: int(track_hue_mask(view3d, i).sum()) for i in track_ids}
    assert sum(counts_3d.values()) > MIN_3D_PIXELS, counts_3d
    assert sum(count > MIN_3D_PIXELS_PER_PERSON for count in counts_3d.values()) >= 2, counts_3d

    video = region(image, window, window.video)
    pixmap = window.video.pixmap()
    raw = cv2.resize(result.frame.image, (pixmap.width(), pixmap.height()), interpolation=cv2.INTER_AREA)
    raw = cv2.cvtColor(raw, cv2.COLOR_BGR2RGB)
    drawn = sum(int(track_exact_mask(video, i).sum()) for i in track_ids)
    baseline = sum(int(track_exact_mask(raw, i).sum()) for i in track_ids)
    print(f"3D pixels per track {counts_3d}; video overlay pixels {drawn} (clip itself {baseline})")
    assert drawn - baseline > MIN_VIDEO_PIXELS, (drawn, baseline)


def run_main(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    return subprocess.run([sys.executable, "main.py", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=timeout)


def test_cli_scripted_run_without_display_exits_zero_with_a_screenshot(tmp_path):
    shot = tmp_path / "out" / "shot.png"
    done = run_main("--source", DEFAULT_SAMPLE, "--max-frames", "3", "--screenshot", str(shot))
    assert done.returncode == 0, done.stderr[-2000:]
    assert "running offscreen" in done.stdout
    assert "3 frames processed" in done.stdout
    image = cv2.imread(str(shot))
    assert image is not None and image.shape[0] > 300 and image.shape[1] > 600


BAD_SOURCES = [
    ("/no/such/clip.mp4", "/no/such/clip.mp4: no such file"),
    ("README.md", "README.md: not a readable video"),
    ("7", "camera 7: cannot be opened"),
]


def test_cli_bad_source_exits_nonzero_with_one_line(tmp_path):
    done = run_main("--source", "/no/such/clip.mp4", "--max-frames", "2", "--screenshot", str(tmp_path / "x.png"),
                    timeout=120)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if "/no/such/clip.mp4" in line]
    assert lines == ["/no/such/clip.mp4: no such file"], done.stderr[-2000:]
    assert not (tmp_path / "x.png").exists()


@pytest.mark.parametrize("source, problem", BAD_SOURCES)
def test_window_survives_a_bad_source(qapp, source, problem):
    from app.ui.main_window import MainWindow

    window = MainWindow(PipelineConfig(source=source))
    window.show()
    assert wait_until(qapp, lambda: window.last_error is not None, 30)
    assert window.isVisible() and window.pipeline is None
    status = window.stats_label.text()
    assert problem in status and "\n" not in status
    window.close()


@pytest.mark.parametrize("source, problem", BAD_SOURCES[1:])
def test_scripted_bad_source_exit_code(qapp, source, problem, capsys):
    from app.ui.main_window import MainWindow
    from app.ui.scripted import ScriptedRun

    window = MainWindow(PipelineConfig(source=source), ScriptedRun(2, None))
    window.show()
    assert wait_until(qapp, lambda: window._closed, 30)
    assert window.exit_code == 2
    assert problem in capsys.readouterr().err


def test_mailbox_keeps_only_the_newest_result(qapp):
    from app.ui.mailbox import ResultMailbox

    mailbox = ResultMailbox(max_results=None, recorder_sink=lambda result: None)
    wakeups = []
    mailbox.ready.connect(lambda: wakeups.append(mailbox.take()))
    results = [frame_result([standing_track(1, (0, 100, 4000))], index=i) for i in range(5)]
    sender = threading.Thread(target=lambda: [mailbox.on_result(r) for r in results])
    sender.start()
    sender.join()
    wait_until(qapp, lambda: bool(wakeups), 5)
    qapp.processEvents()
    # One wake-up for five results: the GUI draws the newest and the rest are dropped.
    assert len(wakeups) == 1 and wakeups[0][0] == 5 and wakeups[0][1] is results[-1]
    assert mailbox.dropped == 4


# ---- one live window (the real threaded Pipeline) shared by the tests below, in order ---------


@pytest.fixture(scope="module")
def live(qapp, tmp_path_factory):
    from app.ui.main_window import MainWindow

    config = PipelineConfig(source=DEFAULT_SAMPLE, loop=True, realtime=True)
    window = MainWindow(config, recordings_dir=str(tmp_path_factory.mktemp("recordings")))
    window.show()
    assert wait_until(qapp, lambda: window.video.drawn_frames >= 3, START_TIMEOUT_S), window.status_text()
    yield window
    if not window._closed:
        window.close()


def new_result(qapp, window, timeout_s: float = 60) -> FrameResult:
    previous = window.last_result
    assert wait_until(qapp, lambda: window.last_result is not previous, timeout_s)
    return window.last_result


def test_live_status_line(qapp, live):
    new_result(qapp, live)
    wait_until(qapp, lambda: "latency" in live.stats_label.text() and not live.stats_label.text().startswith("0.0 fps"), 30)
    status = live.stats_label.text()
    for part in ("fps", "latency", "people", f"{live.config.backend}", " on cpu", "detector every 10 frames",
                 "sample_two_people.mp4"):
        assert part in status, status
    assert "limited by" in status or "window draws" in status, status  # what sets the rate


def result_captured_after(qapp, window, t: float, timeout_s: float = 60) -> FrameResult:
    """The first result drawn whose frame was captured after perf_counter() time t (results of frames
    already in flight when a setting changed still show the old setting)."""
    assert wait_until(qapp, lambda: window.last_result is not None and window.last_result.frame.captured_at > t,
                      timeout_s)
    return window.last_result


def test_live_smoothing_toggle(qapp, live):
    live.controls.smoothing_box.setChecked(False)
    result = result_captured_after(qapp, live, time.perf_counter())
    assert result.tracks and not any(t.smoothed for t in result.tracks)
    live.controls.smoothing_box.setChecked(True)
    result = result_captured_after(qapp, live, time.perf_counter())
    assert any(t.smoothed for t in result.tracks)


def test_live_pause_and_resume(qapp, live):
    # This machine's own pace, measured now (no fixed time window): how long three results take.
    started, before = time.perf_counter(), live.pipeline.frames_done
    assert wait_until(qapp, lambda: live.pipeline.frames_done >= before + 3, 60), live.status_text()
    three_results_s = time.perf_counter() - started
    live.controls.pause_button.setChecked(True)
    assert live.pipeline.paused and "paused" in live.status_text()
    paused_at = live.pipeline.frames_done
    # Paused, the frames in flight finish (one being processed, one in the slot: app.live) and no other follows;
    # in twice the time three results took just before, a pipeline that ignored the pause would make about six.
    wait_until(qapp, lambda: live.pipeline.frames_done > paused_at + 2, 2 * three_results_s)
    assert live.pipeline.frames_done <= paused_at + 2
    live.controls.pause_button.setChecked(False)
    assert wait_until(qapp, lambda: live.pipeline.frames_done >= paused_at + 5, 60)  # resumed: more than in flight


def test_live_bad_source_keeps_the_running_one(qapp, live):
    live.change_source("/no/such/clip.mp4")
    assert live.isVisible() and live.pipeline is not None
    assert live.config.source == DEFAULT_SAMPLE
    assert "/no/such/clip.mp4: no such file" in live.stats_label.text()
    new_result(qapp, live)  # and it keeps running


def test_live_backend_switch_runs_both_backends(qapp, live):
    live.controls.backend_combo.setCurrentText("mediapipe")
    assert live.config.backend == "mediapipe" and not live.last_error, live.last_error
    assert new_result(qapp, live, START_TIMEOUT_S).backend == "mediapipe"
    live.controls.backend_combo.setCurrentText("cascade")  # the weights ship in assets/: it must run, not explain
    assert live.isVisible() and live.pipeline is not None
    assert live.config.backend == "cascade" and not live.last_error, live.last_error
    result = new_result(qapp, live, START_TIMEOUT_S)
    assert result.backend.startswith("cascade/"), result.backend  # e.g. cascade/onnxruntime-cpu


def test_live_recording_writes_files(qapp, live):
    live.controls.record_button.setChecked(True)
    for _ in range(3):
        new_result(qapp, live)
    live.controls.record_button.setChecked(False)
    # The final files are written on a background thread; the window says so meanwhile.
    assert live.statusBar().currentMessage().startswith("finishing the recording in ")
    assert wait_until(qapp, lambda: live.statusBar().currentMessage().startswith("recorded: "), 60)
    written = [Path(p) for p in live.statusBar().currentMessage().removeprefix("recorded: ").split(", ")]
    suffixes = {p.suffix for p in written}
    # RECORD_FORMATS: everything but the preview video, the body (.glb) included.
    assert {".json", ".csv", ".bvh", ".glb", ".png"} <= suffixes, live.statusBar().currentMessage()
    assert not any(p.name.endswith(".preview.mp4") for p in written), live.statusBar().currentMessage()
    assert all(p.exists() and p.stat().st_size > 0 for p in written)
    assert Path(live.recordings_dir) in written[0].parents


def test_live_close_joins_threads_and_finishes_the_recording(qapp, live):
    threads = [t for t in threading.enumerate() if t.name in ("capture", "inference")]
    assert threads and all(t.is_alive() for t in threads)
    before = set(Path(live.recordings_dir).rglob("*.json"))
    live.controls.record_button.setChecked(True)
    # A result drawn now may have been made before the recording started: wait for one it holds.
    assert wait_until(qapp, lambda: live.recorded_frames >= 1, 60)
    faulthandler.dump_traceback_later(60, exit=True)  # a hang fails loudly instead of blocking CI
    try:
        live.close()
    finally:
        faulthandler.cancel_dump_traceback_later()
    assert not any(t.is_alive() for t in threads)
    assert not any(t.name == "recording-close" and t.is_alive() for t in threading.enumerate())
    written = set(Path(live.recordings_dir).rglob("*.json")) - before
    assert len(written) == 1 and json.loads(next(iter(written)).read_text())["frames"]
    assert live.pipeline is None and not live.view3d.viewport.is_open


def test_cli_negative_detect_every_is_refused_in_one_line():
    done = run_main("--detect-every", "-2", "--max-frames", "1", timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "--detect-every -2: must be 0 (automatic) or more" in done.stderr
