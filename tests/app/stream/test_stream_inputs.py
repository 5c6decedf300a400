"""`main.py stream` on the inputs of issue 26: a 1-frame video, a header frame rate of 1e-05 fps, SIGTERM.
Real subprocesses on small real videos; the VMC target is a port on this machine nothing listens on (UDP: the
packets are simply lost)."""

import signal
import subprocess
import sys
from pathlib import Path

from tests.app.bad_videos import avi_with_rate, write_video

REPO = Path(__file__).resolve().parents[3]
TARGET = "127.0.0.1:39539"
HANG_GUARD_S = 300  # loading the models on 2 busy cores can take a while; this only stops a hang


def _stream(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "main.py", "stream", "--vmc", TARGET, *args], cwd=REPO,
                          capture_output=True, text=True, timeout=HANG_GUARD_S)


def test_a_one_frame_video_streams_its_frame(tmp_path):
    """Was 0 frames (issue 26.1)."""
    done = _stream("--source", write_video(tmp_path / "one.avi", 1))
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert "done: 1 frames processed, 1 sent" in done.stdout, done.stdout


def test_a_header_of_1e_05_fps_plays_at_30_fps_and_says_so(tmp_path):
    """Was a silent 100000 s wait after the first frame (issue 26.2): paced playback ends with the clip."""
    video = avi_with_rate(tmp_path / "slow.avi", 1, 100000)
    done = _stream("--source", video)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "not believable; timed at 30 fps" in done.stdout and "done: 3 frames processed" in done.stdout


def test_sigterm_is_143_with_the_summary(tmp_path):
    """Died with no summary before (doubtful list)."""
    video = write_video(tmp_path / "long.avi", 1800, size=(160, 240))  # 60 s at 30 fps, paced
    process = subprocess.Popen([sys.executable, "main.py", "stream", "--vmc", TARGET, "--source", video],
                               cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().startswith("streaming ")  # models loaded, frames flowing
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=HANG_GUARD_S)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 143 and "Traceback" not in stderr, stderr[-2000:]
    assert "(interrupted)" in stdout, stdout
