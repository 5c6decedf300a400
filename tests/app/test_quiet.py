"""Quiet by default: library chatter on fds 1 and 2 is dropped, the project's own lines and progress bars pass."""

import subprocess
import sys

SCRIPT = r"""
import os, sys
from app.quiet import quiet_library_logs
quiet_library_logs(verbose={verbose})
os.write(2, b"[Open3D INFO] EGL headless mode enabled.\n")
os.write(1, b"FEngine (64 bits) created at 0x7f00 (threading is enabled)\n")
os.write(2, b"W0000 00:00:1733000000.123456    1234 inference_feedback_manager.cc:114] Feature not supported\n")
os.write(2, b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n")
os.write(2, b"error: XDG_RUNTIME_DIR is invalid or not set in the environment.\n")
os.write(2, b"qt.multimedia.symbolsresolver: Couldn't load pipewire-0.3 library\n")
os.write(2, b"qt.multimedia.ffmpeg: Using Qt multimedia with FFmpeg version 7.1.5 LGPL version 2.1 or later\n")
print("screenshot: out.png (3 frames)", flush=True)
print("clip.mp4: not a video file", file=sys.stderr, flush=True)
sys.stderr.write("frames:  50%|#####     | 1/2\r")
sys.stderr.flush()
"""


def run(verbose: bool) -> subprocess.CompletedProcess:
    # Bytes, not text: text mode would turn the progress bar's \r into \n.
    result = subprocess.run([sys.executable, "-c", SCRIPT.format(verbose=verbose)], capture_output=True, timeout=60)
    return subprocess.CompletedProcess(result.args, result.returncode, result.stdout.decode(), result.stderr.decode())


def test_chatter_is_dropped_and_own_lines_pass():
    result = run(verbose=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "screenshot: out.png (3 frames)\n"
    assert result.stderr == "clip.mp4: not a video file\nframes:  50%|#####     | 1/2\r"


def test_verbose_shows_everything():
    result = run(verbose=True)
    assert "FEngine" in result.stdout and "[Open3D INFO]" in result.stderr and "XNNPACK" in result.stderr
    assert "pipewire" in result.stderr
