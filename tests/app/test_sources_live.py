"""Live network sources against real servers on 127.0.0.1 started here: GStreamer's RTSP server and FFmpeg's HTTP
MJPEG server, killed mid-run and started again; unreachable addresses; `main.py process` recording a stream."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import pytest

from app.sources import DEFAULT_SAMPLE, LiveOptions, SourceError, open_source

ROOT = Path(__file__).resolve().parents[2]
RTSP_SERVER = Path(__file__).parent / "servers" / "rtsp_server.py"
SYSTEM_PYTHON = "/usr/bin/python3"
RESTART_AFTER_S = 3.0  # the gap: the server is started again this long after it was killed
READY_TIMEOUT_S = 20.0


def _has_rtsp_server() -> bool:
    if not os.path.exists(SYSTEM_PYTHON):
        return False
    probe = "import gi; gi.require_version('GstRtspServer', '1.0'); from gi.repository import GstRtspServer"
    return subprocess.run([SYSTEM_PYTHON, "-c", probe], capture_output=True).returncode == 0


needs_rtsp = pytest.mark.skipif(not _has_rtsp_server(), reason="GStreamer's RTSP server for the system Python is not "
                                "installed (setup.sh's APT_PACKAGES: gir1.2-gst-rtsp-server-1.0, python3-gi, ...)")
needs_ffmpeg = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed (setup.sh installs it)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def frames_folder(tmp_path_factory) -> str:
    """The bundled clip's 100 frames as JPEGs at half size (272x480), what the RTSP server loops."""
    folder = tmp_path_factory.mktemp("jpeg_frames")
    capture = cv2.VideoCapture(DEFAULT_SAMPLE)
    index = 0
    while True:
        ok, image = capture.read()
        if not ok:
            break
        cv2.imwrite(str(folder / f"{index:05d}.jpg"), cv2.resize(image, (272, 480)))
        index += 1
    capture.release()
    assert index == 100
    return str(folder)


class Server:
    """A server process on 127.0.0.1 that can be killed and started again on the same port."""

    def __init__(self, command: list[str], ready_line: str | None):
        self.command, self.ready_line = command, ready_line
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(self.command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        if self.ready_line is not None:
            line = self.process.stdout.readline()  # the server prints it once it listens
            assert line.strip() == self.ready_line, f"server did not start: {line!r}"

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def restart_later(self, delay_s: float = RESTART_AFTER_S) -> threading.Timer:
        timer = threading.Timer(delay_s, self.start)
        timer.start()
        return timer


@pytest.fixture
def rtsp(frames_folder):
    port = _free_port()
    server = Server([SYSTEM_PYTHON, str(RTSP_SERVER), frames_folder, str(port), "30"], "ready")
    server.url = f"rtsp://127.0.0.1:{port}/live"
    server.start()
    yield server
    server.kill()


@needs_rtsp
def test_rtsp_stream_reconnects_after_the_server_comes_back(rtsp):
    source = open_source(rtsp.url)
    events, states, watching = [], set(), threading.Event()
    source.on_event = events.append
    assert (source.width, source.height) == (272, 480) and source.is_camera

    def watch():  # what the window's status line would read, twice a status refresh
        while not watching.wait(0.05):
            states.add(source.status())

    watcher = threading.Thread(target=watch)
    watcher.start()
    frames, timer = [], None
    try:
        for frame in source:
            frames.append(frame)
            if len(frames) == 20:
                rtsp.kill()
                timer = rtsp.restart_later()
            if len(frames) == 60:
                break
    finally:
        source.close()
        watching.set()
        watcher.join()
        if timer is not None:
            timer.join()
    assert f"{rtsp.url}: 272x480 at 30 fps, reconnecting (1)" in states
    gaps = [b.time_s - a.time_s for a, b in zip(frames, frames[1:])]
    gap_at = max(range(len(gaps)), key=gaps.__getitem__)
    # Wall-clock frame times: the restart's 3 s shows (minus up to 0.5 s of frames buffered before the kill).
    assert gaps[gap_at] > RESTART_AFTER_S - 0.5
    assert gap_at >= 19 and len(frames) - gap_at - 1 >= 10  # frames from both sides of the gap
    assert len(events) == 1 and "reconnected" in events[0] and rtsp.url in events[0] and "\n" not in events[0]
    assert source.reconnects == 1 and source.state == ""
    assert all(a.index < b.index for a, b in zip(frames, frames[1:]))


@needs_rtsp
def test_rtsp_source_gives_up_after_its_patience_with_one_line(rtsp):
    source = open_source(rtsp.url, live=LiveOptions(give_up_s=1.5))
    rtsp.kill()
    with pytest.raises(SourceError) as error:
        for _ in source:
            pass
    source.close()
    message = str(error.value)
    assert message.startswith(rtsp.url) and "gave up" in message and "\n" not in message


@needs_ffmpeg
def test_http_mjpeg_stream_from_ffmpeg():
    port = _free_port()
    url = f"http://127.0.0.1:{port}/cam.mjpg"
    server = Server(["ffmpeg", "-loglevel", "error", "-re", "-stream_loop", "-1", "-i", DEFAULT_SAMPLE,
                     "-vf", "scale=272:480", "-c:v", "mjpeg", "-q:v", "5", "-f", "mpjpeg", "-listen", "1", url], None)
    server.start()
    try:
        source = _open_when_listening(url)
        frames = [frame for _, frame in zip(range(30), source)]
        source.close()
    finally:
        server.kill()
    assert len(frames) == 30 and frames[0].image.shape == (480, 272, 3)
    assert source.status().startswith(f"{url}: 272x480")


def _open_when_listening(url: str, attempts: int = 50):
    """FFmpeg prints nothing when it listens: try until it answers (each refused try returns at once)."""
    for _ in range(attempts):
        try:
            return open_source(url, live=LiveOptions(open_timeout_s=5.0))
        except SourceError:
            time.sleep(0.2)
    return open_source(url)


@pytest.mark.parametrize("scheme", ["rtsp", "http"])
def test_unreachable_url_is_one_line_naming_it(scheme):
    url = f"{scheme}://127.0.0.1:{_free_port()}/live"  # nothing listens on a port just freed
    with pytest.raises(SourceError) as error:
        open_source(url)
    assert str(error.value).startswith(f"{url}: cannot be opened") and "\n" not in str(error.value)


def _process(args: list[str], timeout: float = 120) -> subprocess.Popen:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.Popen([sys.executable, "main.py", "process", *args], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@needs_rtsp
def test_process_records_a_stream_across_a_server_restart(rtsp, tmp_path):
    out = tmp_path / "out"
    run = _process([rtsp.url, "--out", str(out), "--max-frames", "60", "--format", "json"])
    partial = out / "rtsp_127-0-0-1_{}_live.json.partial".format(rtsp.url.split(":")[2].split("/")[0])
    timer = None
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and run.poll() is None:
            # The JSON Lines file gets a line per frame: kill the server once 20 frames are written.
            if partial.exists() and len(partial.read_text().splitlines()) > 20:
                rtsp.kill()
                timer = rtsp.restart_later()
                break
            time.sleep(0.05)
        stdout, stderr = run.communicate(timeout=120)
    finally:
        run.kill()
        if timer is not None:
            timer.join()
    assert timer is not None, f"the run ended before 20 frames: {stderr}"
    assert run.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert len([line for line in stderr.splitlines() if "reconnect" in line]) == 1
    track = json.loads(partial.with_suffix("").read_text())
    times = [frame["time"] for frame in track["frames"]]
    assert len(times) == 60
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert max(gaps) > RESTART_AFTER_S - 0.5  # the gap is in the frame times; frames on both sides
    assert 19 <= gaps.index(max(gaps)) <= 55


def test_process_unreachable_url_fails_with_one_line(tmp_path):
    url = f"rtsp://127.0.0.1:{_free_port()}/live"
    run = _process([url, "--out", str(tmp_path / "out"), "--max-frames", "5"])
    stdout, stderr = run.communicate(timeout=120)
    assert run.returncode == 1
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and url in errors[0] and "Traceback" not in stderr


@needs_rtsp
def test_process_on_a_stream_until_sigterm_finishes_every_file(rtsp, tmp_path):
    out = tmp_path / "out"
    run = _process([rtsp.url, "--out", str(out)])  # no frame limit: live until stopped
    stem = "rtsp_127-0-0-1_{}_live".format(rtsp.url.split(":")[2].split("/")[0])
    partial = out / f"{stem}.json.partial"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and run.poll() is None:
            if partial.exists() and len(partial.read_text().splitlines()) > 10:
                run.send_signal(signal.SIGTERM)
                break
            time.sleep(0.05)
        stdout, stderr = run.communicate(timeout=120)
    finally:
        run.kill()
    assert run.returncode == 143, stderr
    assert "Traceback" not in stderr
    frames = json.loads((out / f"{stem}.json").read_text())["frames"]
    assert len(frames) >= 10 and not list(out.glob("*.partial"))
    assert (out / f"{stem}.csv").exists() and list(out.glob(f"{stem}.track*.bvh"))


@needs_rtsp
def test_the_app_runs_on_a_stream(rtsp, tmp_path):
    screenshot = tmp_path / "window.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "EGL_PLATFORM": "surfaceless"}
    run = subprocess.run([sys.executable, "main.py", "--source", rtsp.url, "--max-frames", "10", "--screenshot",
                          str(screenshot)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stderr
    assert "10 frames processed" in run.stdout and screenshot.stat().st_size > 0


@pytest.mark.parametrize("scheme", ["rtsp", "http"])
def test_a_server_that_accepts_and_says_nothing_fails_after_the_open_timeout(scheme):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)  # the kernel accepts the connection; nobody ever answers
        url = f"{scheme}://127.0.0.1:{listener.getsockname()[1]}/live"
        outcome = []

        def try_open():
            try:
                open_source(url, live=LiveOptions(open_timeout_s=1.0, read_timeout_s=1.0))
            except SourceError as exc:
                outcome.append(str(exc))

        opener = threading.Thread(target=try_open, daemon=True)
        opener.start()
        opener.join(60)  # measured 1.0 s for a 1 s open timeout; 60 s only tells a hang from a time-out
    assert outcome and outcome[0].startswith(f"{url}: cannot be opened (nothing answered within 1 s")
