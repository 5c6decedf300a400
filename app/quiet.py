"""Quiet by default: the libraries' own log chatter (Open3D, MediaPipe/absl, TensorFlow Lite, Qt, Mesa) kept off the terminal.

Most of it is written by native code straight to file descriptors 1 and 2, where Python's logging
and warnings filters cannot reach. So, unless --verbose, both are routed through pipes whose reader
threads drop lines that match CHATTER and pass every other line (the project's own messages,
tracebacks) on to the real stdout/stderr. Environment variables quiet what can be quieted at the source.
"""

import atexit
import logging
import os
import re
import sys
import tempfile
import threading
import warnings

# Lines written by libraries, never by the project: dropped unless --verbose.
CHATTER = re.compile(
    r"^("
    r"\[Open3D (INFO|WARNING|DEBUG)\]"  # Open3D's EGL/headless notices
    r"|WARNING: All log messages before absl::InitializeLog\(\)"  # absl, first MediaPipe call
    r"|[IWE]\d{4} [\d:.]+ +\d+ "  # glog/absl lines: I0000 00:00:... 1234 file.cc:12] ...
    r"|INFO: Created TensorFlow Lite"  # TFLite's XNNPACK delegate
    r"|(INFO|WARNING): .*(TensorFlow Lite|tflite|Feedback manager|inference_feedback_manager)"
    r"|error: XDG_RUNTIME_DIR"  # Qt without a runtime dir
    r"|QStandardPaths: "  # Qt: runtime dir permissions
    r"|qt\.qpa\."  # Qt platform plugin notes (offscreen, xcb)
    r"|qt\.multimedia\."  # QtMultimedia listing cameras: pipewire missing, its FFmpeg version banner
    r"|This plugin does not support propagateSizeHints"
    r"|FEngine \(\d+ bits\) created"  # Filament (Open3D's renderer)
    r"|EGL(Display|Context)? "  # Mesa/EGL notes
    r"|EGL\(\d|OpenGL\(\d"  # Filament's backend banner
    r"|WARNING: Using soft CircularBuffer"  # Filament
    r"|libEGL warning"
    r"|MESA-LOADER"
    r")"
)


def quiet_library_logs(verbose: bool = False) -> None:
    """Call once, first thing in the entry point (before importing cv2, mediapipe, open3d or Qt)."""
    if verbose:
        return
    os.environ.setdefault("GLOG_minloglevel", "2")  # MediaPipe's glog: errors only
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow Lite
    os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")  # e.g. a missing camera's backend probing
    os.environ.setdefault("OPENCV_VIDEOIO_DEBUG", "0")
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # FFmpeg's own lines (a refused stream URL, a bad packet)
    os.environ.setdefault("ORT_LOGGING_LEVEL", "3")
    _ensure_runtime_dir()
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=UserWarning, module=r"google\.protobuf.*")
    warnings.filterwarnings("ignore", message=r".*SymbolDatabase\.GetPrototype\(\) is deprecated.*")
    for name in ("absl", "jax", "matplotlib", "ray"):
        logging.getLogger(name).setLevel(logging.ERROR)
    _filter_fd(1, sys.stdout)
    _filter_fd(2, sys.stderr)


def _ensure_runtime_dir() -> None:
    """Qt wants XDG_RUNTIME_DIR to be a private (0700) folder owned by the user; CI and containers lack one."""
    current = os.environ.get("XDG_RUNTIME_DIR", "")
    try:
        ok = bool(current) and os.stat(current).st_uid == os.getuid() and (os.stat(current).st_mode & 0o077) == 0
    except OSError:
        ok = False
    if not ok:
        path = os.path.join(tempfile.gettempdir(), f"runtime-{os.getuid()}")
        os.makedirs(path, mode=0o700, exist_ok=True)
        os.chmod(path, 0o700)
        os.environ["XDG_RUNTIME_DIR"] = path


def _filter_fd(fd: int, stream) -> None:
    try:
        stream.flush()
        real = os.dup(fd)
        read_end, write_end = os.pipe()
        os.dup2(write_end, fd)
        os.close(write_end)
    except (OSError, ValueError):  # no such fd (some service managers): nothing to filter
        return
    out = os.fdopen(real, "wb", buffering=0)

    def pump() -> None:
        pending = b""
        while chunk := os.read(read_end, 65536):
            *lines, pending = (pending + chunk).split(b"\n")
            for line in lines:
                if not CHATTER.match(line.decode("utf-8", "replace")):
                    out.write(line + b"\n")
            if b"\r" in pending:  # a progress bar redraws its line with \r: show it now, not at the next \n
                cut = pending.rindex(b"\r") + 1
                out.write(pending[:cut])
                pending = pending[cut:]
        if pending and not CHATTER.match(pending.decode("utf-8", "replace")):
            out.write(pending)
        os.close(read_end)

    thread = threading.Thread(target=pump, name=f"fd{fd}-filter", daemon=True)
    thread.start()

    def finish() -> None:
        # Native libraries print more at teardown (e.g. Mesa's eglDestroySurface errors): after the
        # last of our own lines is through, the descriptor goes to /dev/null.
        try:
            stream.flush()
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, fd)
            os.close(devnull)
        except (OSError, ValueError):  # the stream may already be closed at exit
            return
        thread.join(timeout=2.0)

    atexit.register(finish)
