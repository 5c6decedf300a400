"""Quiet by default: the libraries' own log chatter (Open3D, MediaPipe/absl, TensorFlow Lite, Qt, Mesa) kept off the terminal.

Most of it is written by native code straight to file descriptor 2, where Python's logging and
warnings filters cannot reach. So, unless --verbose, fd 2 is routed through a pipe whose reader
thread drops lines that match CHATTER and passes every other line (the project's own messages,
tracebacks) on to the real stderr. Environment variables quiet what can be quieted at the source.
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
    r"|This plugin does not support propagateSizeHints"
    r"|FEngine \(\d+ bits\) created"  # Filament (Open3D's renderer)
    r"|EGL(Display|Context)? "  # Mesa/EGL notes
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
    os.environ.setdefault("ORT_LOGGING_LEVEL", "3")
    _ensure_runtime_dir()
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=UserWarning, module=r"google\.protobuf.*")
    warnings.filterwarnings("ignore", message=r".*SymbolDatabase\.GetPrototype\(\) is deprecated.*")
    for name in ("absl", "jax", "matplotlib", "ray"):
        logging.getLogger(name).setLevel(logging.ERROR)
    _filter_fd2()


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


def _filter_fd2() -> None:
    try:
        sys.stderr.flush()
        real = os.dup(2)
        read_end, write_end = os.pipe()
        os.dup2(write_end, 2)
        os.close(write_end)
    except OSError:  # no fd 2 (some service managers): nothing to filter
        return
    out = os.fdopen(real, "wb", buffering=0)

    def pump() -> None:
        with os.fdopen(read_end, "rb") as lines:
            for line in lines:
                if not CHATTER.match(line.decode("utf-8", "replace")):
                    out.write(line)

    thread = threading.Thread(target=pump, name="stderr-filter", daemon=True)
    thread.start()

    def finish() -> None:
        # Native libraries print more at teardown (e.g. Mesa's eglDestroySurface errors): after the
        # last of our own lines is through, fd 2 goes to /dev/null.
        try:
            sys.stderr.flush()
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 2)
            os.close(devnull)
        except OSError:
            return
        thread.join(timeout=2.0)

    atexit.register(finish)
