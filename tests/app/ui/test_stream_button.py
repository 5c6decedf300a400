"""The app's VMC stream: --vmc on a scripted run and the Stream toggle, into a real python-osc receiver on loopback."""

import subprocess
import sys
from pathlib import Path

from app.processor import PipelineConfig
from app.sources import DEFAULT_SAMPLE
from app.stream.humanoid import BONE_NAMES
from tests.app.stream.vmc_receiver import Receiver
from tests.app.ui.ui_fixtures import wait_until

REPO = Path(__file__).resolve().parents[3]
START_TIMEOUT_S = 180  # a hang guard: loading the models on 2 busy cores takes a while
SCRIPTED_FRAMES = 5


def bones_per_frame(frames) -> list[list[str]]:
    return [sorted(args[0] for address, args in frame if address == "/VMC/Ext/Bone/Pos") for frame in frames]


def complete_frames(frames) -> int:
    """Frames with every bone and tracking on; every other frame must be an empty one with tracking off (the
    looping clip restarts its tracks, so a live frame may have nobody to stream)."""
    complete = 0
    for bones, frame in zip(bones_per_frame(frames), frames):
        tracking = dict(frame)["/VMC/Ext/OK"][3]
        assert (bones, tracking) in ((sorted(BONE_NAMES), 1), ([], 0)), (bones, tracking)
        complete += tracking
    return complete


def test_scripted_run_with_vmc_streams_every_processed_frame(qapp):
    from app.ui.main_window import MainWindow
    from app.ui.scripted import ScriptedRun

    with Receiver() as receiver:
        window = MainWindow(PipelineConfig(source=DEFAULT_SAMPLE), ScriptedRun(SCRIPTED_FRAMES), vmc=receiver.target)
        assert window.controls.stream_button.isChecked() and window.controls.stream_button.text() == "Stop streaming"
        window.show()
        assert wait_until(qapp, lambda: window._closed, START_TIMEOUT_S), window.status_text()
        receiver.wait_for(SCRIPTED_FRAMES)
        frames = receiver.frames()
    assert window.exit_code == 0, window.last_error
    assert len(frames) == SCRIPTED_FRAMES  # every processed result, drawn or not
    assert bones_per_frame(frames) == [sorted(BONE_NAMES)] * SCRIPTED_FRAMES


def test_stream_toggle_starts_reports_and_stops(qapp):
    from app.ui.main_window import MainWindow

    window = MainWindow(PipelineConfig(source=DEFAULT_SAMPLE, loop=True, realtime=True))
    window.show()
    try:
        assert wait_until(qapp, lambda: window.video.drawn_frames >= 1, START_TIMEOUT_S), window.status_text()
        assert not window.controls.stream_button.isChecked()
        window.controls.vmc_edit.setText("127.0.0.1")  # no port
        window.controls.stream_button.setChecked(True)
        assert not window.controls.stream_button.isChecked()
        assert window.last_error.startswith("--vmc '127.0.0.1': expected HOST:PORT"), window.last_error
        with Receiver() as receiver:
            window.controls.vmc_edit.setText(receiver.target)
            window.controls.stream_button.setChecked(True)
            assert window.controls.stream_button.isChecked() and not window.controls.vmc_edit.isEnabled()
            assert f"streaming to {receiver.target} (VMC)" in window.status_text()
            assert wait_until(qapp, lambda: complete_frames(receiver.frames()) >= 3, START_TIMEOUT_S), window.status_text()
            sender = window._streaming._streamer.sender  # its count is final once the toggle has stopped it
            window.controls.stream_button.setChecked(False)
            assert "streaming" not in window.status_text() and window.controls.vmc_edit.isEnabled()
            sent = sender.frames_sent
            assert receiver.wait_for(sent, START_TIMEOUT_S)  # what was sent before the stop arrives (loopback)
            drawn = window.video.drawn_frames
            # The pipeline goes on: results made after the stop are drawn, and none of them is streamed.
            assert wait_until(qapp, lambda: window.video.drawn_frames >= drawn + 5, START_TIMEOUT_S), window.status_text()
            assert len(receiver.frames()) == sent
        assert complete_frames(receiver.frames()) >= 3
    finally:
        window.close()


def test_cli_bad_vmc_target_is_one_line_and_exit_2():
    done = subprocess.run([sys.executable, "main.py", "--vmc", "no-such-host.invalid:39539", "--max-frames", "1"],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("--vmc no-such-host.invalid:39539: cannot resolve host"), lines
