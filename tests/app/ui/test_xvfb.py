"""The app on a real X server (Xvfb, Qt's xcb platform), beside the offscreen tests: a scripted run with a screenshot."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]

pytestmark = pytest.mark.skipif(shutil.which("xvfb-run") is None,
                                reason="Xvfb is not installed (setup.sh installs xvfb and xauth)")


def test_scripted_run_on_a_real_x_server(tmp_path):
    shot = tmp_path / "window.png"
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY")}
    env["QT_QPA_PLATFORM"] = "xcb"
    result = subprocess.run(
        ["xvfb-run", "-a", "-s", "-screen 0 1600x1000x24", sys.executable, "main.py",
         "--source", "assets/sample_two_people.mp4", "--max-frames", "5", "--screenshot", str(shot)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=400,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert shot.is_file() and shot.stat().st_size > 10_000
    assert "screenshot:" in result.stdout
    assert "running offscreen" not in result.stdout  # it used the X server, not the offscreen fallback
