"""Cameras by name without Qt: the sysfs enumeration (a fake /sys/class/video4linux tree: no test needs a camera),
picking one by name, and `main.py --list-cameras`."""

import subprocess
import sys
from pathlib import Path

import pytest

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
