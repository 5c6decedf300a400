"""Cameras by name without Qt: the sysfs enumeration (a fake /sys/class/video4linux tree: no test needs a camera),
picking one by name, `main.py --list-cameras`, and a camera unplugged mid-run (a fake capture in OpenCV's place)."""

import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from app import sources
from app.cameras import CameraInfo, find_camera, list_cameras, print_cameras
from app.sources import SourceError, open_source

ROOT = Path(__file__).resolve().parents[2]


def _fake_sysfs(root: Path, devices: dict[str, tuple[str, str]]) -> str:
    """devices: {'video0': (name, index)} as the kernel lays them out."""
    for node, (name, index) in devices.items():
        (root / node).mkdir(parents=True)
        (root / node / "name").write_text(name + "\n")
        (root / node / "index").write_text(index + "\n")
    return str(root)


def test_a_missing_folder_is_no_cameras(tmp_path):
    assert list_cameras(str(tmp_path / "video4linux")) == []


def test_capture_nodes_by_index_with_their_names(tmp_path):
    root = _fake_sysfs(tmp_path, {"video2": ("USB Camera: HD Pro Webcam C920", "0"),
                                  "video3": ("USB Camera: HD Pro Webcam C920", "1"),  # its metadata node
                                  "video0": ("Integrated Camera", "0")})
    cameras = list_cameras(root)
    assert [(c.index, c.name, c.path) for c in cameras] == [
        (0, "Integrated Camera", "/dev/video0"), (2, "USB Camera: HD Pro Webcam C920", "/dev/video2")]
    assert cameras[0].modes == ()  # /dev/video0 is not a real device here: no modes, no error


def test_find_camera_by_name_part_path_or_ambiguity():
    cameras = [CameraInfo(0, "Integrated Camera", "/dev/video0"), CameraInfo(2, "HD Pro Webcam C920", "/dev/video2")]
    assert find_camera("c920", cameras).index == 2
    assert find_camera("integrated camera", cameras).index == 0
    assert find_camera("/dev/video2", cameras).index == 2
    assert find_camera("Logitech", cameras) is None
    with pytest.raises(ValueError, match="matches several cameras"):
        find_camera("Cam", cameras)


def test_list_cameras_says_when_there_is_none(tmp_path, capsys):
    assert print_cameras(str(tmp_path / "none")) == 0
    assert capsys.readouterr().out.startswith("no cameras found")


def test_list_cameras_prints_index_name_and_modes(tmp_path, capsys):
    root = _fake_sysfs(tmp_path, {"video0": ("Integrated Camera", "0")})
    assert print_cameras(root) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1] == "0  Integrated Camera  /dev/video0  modes not listed by the driver"


def test_main_list_cameras_exits_0():
    run = subprocess.run([sys.executable, "main.py", "--list-cameras"], cwd=ROOT, capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 0 and run.stdout.strip(), run.stderr
    if not Path("/sys/class/video4linux").is_dir():
        assert run.stdout.startswith("no cameras found")


def test_a_name_that_is_no_file_and_no_camera_is_one_line():
    if Path("/sys/class/video4linux").is_dir():
        pytest.skip("this machine lists cameras: the message names them")
    with pytest.raises(SourceError) as error:
        open_source("NoSuchWebcam")
    assert str(error.value) == "NoSuchWebcam: no such file, and no camera of that name (no cameras found)"


class FakeCamera:
    """Stands in for cv2.VideoCapture on a camera (no camera on CI): 5 frames, then reads fail as an unplugged
    camera's do; `plugged_in_after` opens fail before it is back, for good."""

    plugged_in_after = 2  # failed opens before the camera is back (class-wide: each open is a new object)
    opens = 0
    requests: list = []

    def __init__(self, target, backend):
        FakeCamera.opens += 1
        self.open = FakeCamera.opens == 1 or FakeCamera.opens > 1 + FakeCamera.plugged_in_after
        self.left = 5 if FakeCamera.opens == 1 else 10**6  # unplugged after 5 frames; then it stays

    def isOpened(self):
        return self.open

    def set(self, prop, value):
        FakeCamera.requests.append((prop, value))
        return True

    def get(self, prop):
        return 30.0 if prop == cv2.CAP_PROP_FPS else 0.0

    def read(self):
        if not self.open or self.left == 0:
            return False, None
        self.left -= 1
        time.sleep(0.005)  # a camera delivers at its rate, not as fast as the loop can ask
        return True, np.zeros((720, 1280, 3), np.uint8)

    def release(self):
        self.open = False


def test_an_unplugged_camera_reconnects_like_a_stream(monkeypatch):
    monkeypatch.setattr(FakeCamera, "opens", 0)
    monkeypatch.setattr(FakeCamera, "requests", [])
    monkeypatch.setattr(sources.cv2, "VideoCapture", FakeCamera)
    monkeypatch.setattr(sources, "RECONNECT_BACKOFF_S", (0.01,))
    source = sources.LiveSource(0, "camera 0 (Fake)", sources.LiveOptions(size=(1280, 720), fps=30, give_up_s=5))
    events = []
    source.on_event = events.append
    frames = [frame for _, frame in zip(range(8), source)]
    source.close()
    assert len(frames) == 8 and FakeCamera.opens == 4  # 1 open, 2 failed while unplugged, 1 back
    assert len(events) == 1 and events[0].startswith("camera 0 (Fake): frames stopped") and "attempt 3" in events[0]
    assert (cv2.CAP_PROP_FRAME_WIDTH, 1280) in FakeCamera.requests and (cv2.CAP_PROP_FPS, 30) in FakeCamera.requests
    assert source.status() == "camera 0 (Fake): 1280x720 at 30 fps"
