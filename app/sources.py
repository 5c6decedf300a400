"""Frame sources: cameras, network streams, video files, still images and image folders, with one-line errors."""

import contextlib
import os
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from app.cameras import CameraInfo, find_camera, list_cameras
from app.types import MAX_FPS, MIN_FPS, Frame
from assets import ASSETS_DIR

ASSETS = ASSETS_DIR
DEFAULT_SAMPLE = str(ASSETS / "sample_two_people.mp4")
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}
IMAGE_FOLDER_FPS = 30.0  # an image folder has no frame rate; this one sets frame times
# A file whose container promises more frames than it yields by this margin is reported truncated.
TRUNCATION_TOLERANCE = 2
# A header frame rate outside MIN_FPS to MAX_FPS is not believed (2147483647 and 1e-05 fps were seen: frame times of 0
# or a 100000 s wait): the file is timed at FALLBACK_FPS instead, and fallback_reason says so.
FALLBACK_FPS = 30.0


SOURCE_HELP = ("a camera (index 0, 1, ..., /dev/videoN, or its name or a unique part of it: main.py --list-cameras), "
               "a stream URL (rtsp://, http(s)://), a video file, an image or a folder of images; default: camera 0, "
               "or the bundled sample clip when there is no camera")


class SourceError(Exception):
    """A source cannot be opened or broke while reading; str() is one line naming the source."""


class FrameSource:
    """Iterable of Frame. Attributes describe the source; close() releases it."""

    description = ""
    fps = 30.0
    width = 0
    height = 0
    frame_count = 0  # 0 when unknown (cameras)
    is_camera = False
    path: str | None = None
    fallback_reason: str | None = None
    skipped: tuple[str, ...] = ()  # one line per unreadable item passed over (images of a folder)

    def __iter__(self) -> Iterator[Frame]:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def interrupt(self) -> None:
        """Ask a blocked iteration to end soon (from another thread); close() still follows."""

    def status(self) -> str:
        """The status line's words for this source (live sources add what they deliver and any reconnecting)."""
        return self.description

    def info(self) -> dict:
        """Source fields for output files."""
        return {"path": self.path or self.description, "width": self.width, "height": self.height,
                "fps": self.fps, "frames": self.frame_count}


class _Pacer:
    """Sleeps so that frames are delivered no faster than their timestamps (real-time playback)."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self._start: float | None = None

    def wait(self, time_s: float) -> None:
        if not self.enabled:
            return
        now = time.perf_counter()
        if self._start is None or time_s == 0.0:
            self._start = now - time_s
        delay = self._start + time_s - now
        if delay > 0:
            time.sleep(delay)


class VideoFileSource(FrameSource):
    """A video file decoded by OpenCV; loops when asked; reports a truncated file as an error."""

    def __init__(self, path: str, loop: bool = False, realtime: bool = False):
        self.path = str(path)
        self.loop, self.realtime = loop, realtime
        # Opening decodes frame 0 (to tell a video from garbage); it is kept and delivered first, because seeking
        # back to 0 loses the only frame of a 1-frame file.
        self._capture, self._first = _open_video(self.path)
        self.fps = believable_fps(self._capture.get(cv2.CAP_PROP_FPS))
        if self.fps is None:
            self.fps = FALLBACK_FPS
            self.fallback_reason = (f"{self.path}: the header's frame rate "
                                    f"{self._capture.get(cv2.CAP_PROP_FPS):.10g} fps is not believable; "
                                    f"timed at {FALLBACK_FPS:g} fps")
        self.width = int(self._capture.get(cv2.CAP_PROP_FRAME_WIDTH))
        self.height = int(self._capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
        self.frame_count = max(int(self._capture.get(cv2.CAP_PROP_FRAME_COUNT)), 0)
        self.description = f"video {os.path.basename(self.path)}"

    def __iter__(self) -> Iterator[Frame]:
        pacer = _Pacer(self.realtime)
        index, played = 0, 0
        while self._capture is not None:
            if self._first is not None:
                ok, image, self._first = True, self._first, None
            else:
                ok, image = self._capture.read()
            if not ok:
                if played < self.frame_count - TRUNCATION_TOLERANCE:
                    raise SourceError(
                        f"{self.path}: video ended after {played} of {self.frame_count} frames "
                        "(file truncated or corrupt)"
                    )
                if not self.loop or played == 0:
                    return
                # Reopened rather than seeked to 0: the same first-frame rule as opening, and a 1-frame file loops.
                self._capture.release()
                self._capture, self._first = _open_video(self.path)
                played = 0
                continue
            time_s = index / self.fps
            pacer.wait(played / self.fps)
            yield Frame(index, time_s, image, time.perf_counter())
            index += 1
            played += 1

    def close(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None


def believable_fps(fps) -> float | None:
    """fps when it is a frame rate a file or camera can have (MIN_FPS to MAX_FPS), else None."""
    try:
        fps = float(fps)
    except (TypeError, ValueError):
        return None
    return fps if MIN_FPS <= fps <= MAX_FPS else None  # NaN fails both comparisons


def _check_regular_file(path: str) -> None:
    """Raise SourceError unless `path` is a regular file (or a link to one): a FIFO with no writer blocks
    OpenCV's open() forever, deaf to SIGTERM; a device or socket is no video file either."""
    if not os.path.isfile(path):
        raise SourceError(f"{path}: not a regular file (a pipe, socket or device); give a video or image file")


def _open_video(path: str) -> tuple[cv2.VideoCapture, np.ndarray]:
    """(the capture, its frame 0 already decoded): the capture then stands at frame 1."""
    if not os.path.exists(path):
        raise SourceError(f"{path}: no such file")
    if os.path.isdir(path):
        raise SourceError(f"{path}: is a folder with no images")
    _check_regular_file(path)
    capture = cv2.VideoCapture(path)
    ok, image = capture.isOpened(), None
    if ok:
        ok, image = capture.read()
    if not ok or image is None:
        capture.release()
        raise SourceError(f"{path}: not a readable video or image (OpenCV could not decode it)")
    return capture, image


class ImageSource(FrameSource):
    """One still image, or every image in a folder in name order, as consecutive frames.

    A folder's unreadable images are skipped (each adds a line to `skipped`); frame index k is always the
    folder's k-th image, so indices show which were skipped. width/height are the first readable image's;
    images of other sizes are delivered at their own size (the processor places each frame with a camera
    for its size and the track file records it).
    """

    def __init__(self, path: str, loop: bool = False, realtime: bool = False):
        self.path = str(path)
        self.loop, self.realtime = loop, realtime
        self._skipped: list[str] = []
        if os.path.isdir(self.path):
            self._files = sorted(
                str(p) for p in Path(self.path).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES
            )
            if not self._files:
                raise SourceError(f"{self.path}: folder holds no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
            self.description = f"images in {os.path.basename(self.path.rstrip('/'))}"
        else:
            _check_regular_file(self.path)
            self._files = [self.path]
            self.description = f"image {os.path.basename(self.path)}"
        first = None
        for file in self._files:
            first = self._read(file)
            if first is not None:
                break
        if first is None:
            what = "no readable image" if len(self._files) > 1 else "not a readable image"
            raise SourceError(f"{self.path}: {what}")
        self.height, self.width = first.shape[:2]
        self.fps = IMAGE_FOLDER_FPS
        self.frame_count = len(self._files)

    @property
    def skipped(self) -> tuple[str, ...]:
        return tuple(self._skipped)

    def _read(self, path: str) -> np.ndarray | None:
        """The image, or None (noted once in `skipped`) when it cannot be decoded."""
        with _quiet_opencv():
            image = cv2.imread(path, cv2.IMREAD_COLOR)
        if image is None:
            message = f"{path}: not a readable image, skipped"
            if message not in self._skipped:
                self._skipped.append(message)
        return image

    def __iter__(self) -> Iterator[Frame]:
        pacer = _Pacer(self.realtime)
        index = 0
        while True:
            for i, path in enumerate(self._files):
                image = self._read(path)
                if image is not None:
                    pacer.wait(i / self.fps)
                    yield Frame(index, index / self.fps, image, time.perf_counter())
                index += 1
            if not self.loop:
                return


@contextlib.contextmanager
def _quiet_opencv():
    """OpenCV's own log lines off (a missing camera prints a dozen, a bad JPEG one): the caller reports in one line."""
    previous = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
    try:
        yield
    finally:
        cv2.utils.logging.setLogLevel(previous)


URL_SCHEMES = ("rtsp", "rtsps", "rtmp", "http", "https", "udp", "tcp", "srt")


@dataclass(frozen=True)
class LiveOptions:
    """How a live source (camera or URL) is opened and kept: the mode asked of a camera (size in pixels,
    frames per second; None = the driver's default), time-outs in seconds for opening and for each read,
    and how long to keep reconnecting after frames stop (None = for ever, for a person watching)."""

    size: tuple[int, int] | None = None
    fps: float | None = None
    open_timeout_s: float = 5.0
    read_timeout_s: float = 3.0
    give_up_s: float | None = 30.0


# Waits between reconnect attempts, seconds; the last one repeats.
RECONNECT_BACKOFF_S = (0.5, 1.0, 2.0, 4.0)
CLOSE_WAIT_S = 2.0  # close() waits this long for the reader thread, so that closing a window never hangs


def is_url(spec: str) -> bool:
    """Whether `spec` is a network stream address (rtsp://, http(s)://, ...) rather than a path or camera."""
    scheme, sep, _ = str(spec).partition("://")
    return bool(sep) and scheme.lower() in URL_SCHEMES


def is_live(spec: str) -> bool:
    """Whether `spec` names a live source (a URL, a camera index or device path) rather than a file or folder.
    A name that is not a file may still be a camera by name (open_source decides)."""
    spec = str(spec)
    return is_url(spec) or (spec.isdigit() and not os.path.exists(spec)) or spec.startswith("/dev/video")


class LiveSource(FrameSource):
    """A camera (index or device path) or a network stream (URL), read on its own thread.

    The newest frame wins: when the consumer is slower than the source, older frames are dropped (their
    indices are skipped), so that what is processed stays live. time_s is wall-clock time since iteration
    began (the frame read when opening is delivered first, at 0), so a gap (a dropped stream, an unplugged camera) shows in the frame times. When frames stop,
    the source reconnects with back-off (RECONNECT_BACKOFF_S); `state` says "reconnecting (N)" meanwhile,
    `on_event` (if set) gets one line when it is back, and iteration ends with a SourceError once
    LiveOptions.give_up_s passed without a frame.
    """

    is_camera = True

    def __init__(self, target: int | str, description: str, options: LiveOptions = LiveOptions()):
        self.target, self.description, self.options = target, description, options
        self.path = target if isinstance(target, str) and is_url(target) else None
        self.on_event = None  # callable(str): one line when the source is back after a gap
        self.state = ""
        self.reconnects = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._cond = threading.Condition()
        self._latest: Frame | None = None
        self._error: str | None = None
        self._start = 0.0  # time.monotonic() when iteration began: frame times count from it
        self._capture, first = self._open()
        if self._capture is None:
            raise SourceError(f"{description}: {first}")
        self.height, self.width = first.shape[:2]
        self.fps = self._capture.get(cv2.CAP_PROP_FPS) or 30.0
        if not 1.0 <= self.fps <= 1000.0:  # some streams report 90000 (the RTP clock) or nothing
            self.fps = 30.0
        self._first = first

    def status(self) -> str:
        """E.g. 'camera 0 (HD Webcam): 1280x720 at 30 fps' or 'rtsp://...: 640x360 at 60 fps, reconnecting (3)'."""
        text = f"{self.description}: {self.width}x{self.height} at {self.fps:g} fps"
        return f"{text}, {self.state}" if self.state else text

    def _open(self) -> tuple[cv2.VideoCapture | None, object]:
        """(capture, first image), or (None, why it failed: one phrase)."""
        ms = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, int(self.options.open_timeout_s * 1000),
              cv2.CAP_PROP_READ_TIMEOUT_MSEC, int(self.options.read_timeout_s * 1000)]
        with _quiet_opencv():
            if isinstance(self.target, str) and is_url(self.target):
                capture = cv2.VideoCapture(self.target, cv2.CAP_FFMPEG, ms)
            else:
                capture = cv2.VideoCapture(self.target, cv2.CAP_ANY)
                if self.options.size is not None:
                    capture.set(cv2.CAP_PROP_FRAME_WIDTH, self.options.size[0])
                    capture.set(cv2.CAP_PROP_FRAME_HEIGHT, self.options.size[1])
                if self.options.fps is not None:
                    capture.set(cv2.CAP_PROP_FPS, self.options.fps)
            ok, image = capture.read() if capture.isOpened() else (False, None)
        if not ok or image is None:
            capture.release()
            if isinstance(self.target, str) and is_url(self.target):
                return None, (f"cannot be opened (nothing answered within {self.options.open_timeout_s:g} s, "
                              "or it sends no video OpenCV's FFmpeg can decode)")
            return None, "cannot be opened (no such camera, or it is busy)"
        return capture, image

    def __iter__(self) -> Iterator[Frame]:
        if self._thread is None:
            self._start = time.monotonic()
            self._thread = threading.Thread(target=self._read_loop, name="live-source", daemon=True)
            self._thread.start()
        while not self._stop.is_set():
            with self._cond:
                if self._latest is None and self._error is None:
                    self._cond.wait(0.1)
                frame, self._latest = self._latest, None
                error = self._error
            if frame is not None:
                yield frame
            elif error is not None:
                raise SourceError(f"{self.description}: {error}")

    def _read_loop(self) -> None:
        """On the source's thread: read frames into the one-frame slot; reconnect when they stop."""
        index, image = 0, self._first
        self._first = None
        while not self._stop.is_set():
            if image is None:
                ok, image = self._capture.read()
                if not ok or image is None:
                    image = self._reconnect(time.monotonic() - self._start)
                    if image is None:
                        break
            now = time.perf_counter()
            with self._cond:
                self._latest = Frame(index, time.monotonic() - self._start, image, now)
                self._cond.notify_all()
            index, image = index + 1, None
        if self._capture is not None:
            self._capture.release()
            self._capture = None

    def _reconnect(self, dropped_at: float):
        """Reopen with back-off until frames come or give_up_s passes; the first image, or None (stopped or gave up)."""
        self._capture.release()
        self._capture = None
        attempt, lost = 0, time.monotonic()
        while not self._stop.is_set():
            give_up = self.options.give_up_s
            if give_up is not None and time.monotonic() - lost > give_up:
                with self._cond:
                    self._error = (f"no frames for {give_up:g} s after it stopped at {dropped_at:.1f} s "
                                   f"({attempt} reconnect attempts); gave up")
                    self._cond.notify_all()
                return None
            self._stop.wait(RECONNECT_BACKOFF_S[min(attempt, len(RECONNECT_BACKOFF_S) - 1)])
            attempt += 1
            self.state = f"reconnecting ({attempt})"
            capture, first = self._open()
            if capture is not None:
                self._capture, self.state = capture, ""
                self.reconnects += 1
                if self.on_event is not None:
                    self.on_event(f"{self.description}: frames stopped at {dropped_at:.1f} s; reconnected "
                                  f"{time.monotonic() - lost:.1f} s later (attempt {attempt})")
                return first
        return None

    def interrupt(self) -> None:
        self._stop.set()

    def close(self) -> None:
        """Stops the reader; a reader blocked in an open or read (time-outs bound it) releases its capture itself."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(CLOSE_WAIT_S)
        elif self._capture is not None:
            self._capture.release()
            self._capture = None


def open_camera(target: int | str, options: LiveOptions = LiveOptions(), name: str = "") -> LiveSource:
    """A live camera by index or device path (one line naming it when it cannot be opened)."""
    description = f"camera {target}" + (f" ({name})" if name else "")
    if isinstance(target, int) and sys.platform.startswith("linux") and not os.path.exists(f"/dev/video{target}"):
        raise SourceError(f"{description}: cannot be opened (no such camera: /dev/video{target} does not exist)")
    return LiveSource(target, description, options)


def _quiet_camera_probe(index: int) -> LiveSource | None:
    """Camera `index` if one exists (open_camera keeps OpenCV quiet about a missing one)."""
    try:
        return open_camera(index)
    except SourceError:
        return None


def open_source(spec: str | int | None = None, loop: bool = False, realtime: bool = False,
                live: LiveOptions = LiveOptions()) -> FrameSource:
    """Open a source from a spec: None/"" = default; a URL (rtsp://, http://, ...); an int, digits or a
    /dev/video path = camera; an existing file or folder; else a camera by name (or a unique part of it).

    The default is camera 0 when it opens, else the bundled sample clip (played in a loop when
    `loop`), with `fallback_reason` saying why. `live` applies to cameras and URLs.
    """
    if spec is None or spec == "":
        camera = _quiet_camera_probe(0)
        if camera is not None:
            return camera
        source = VideoFileSource(DEFAULT_SAMPLE, loop=loop, realtime=realtime)
        source.fallback_reason = "no camera found: playing the bundled sample clip"
        return source
    if isinstance(spec, int) or str(spec).isdigit():
        return open_camera(int(spec), live)
    path = str(spec)
    if is_url(path):
        return LiveSource(path, path, live)
    if os.path.lexists(path) and not os.path.exists(path):  # was "no such file" for a file that is there
        raise SourceError(f"{path}: a symbolic link to nothing (its target is missing, or a link loop)")
    if path.startswith("-") and path[1:].isdigit():
        raise SourceError(f"camera {path}: camera indices are 0 or more")
    if path.startswith("/dev/video"):
        return open_camera(path, live)
    if not os.path.exists(path) and os.sep not in path and "/" not in path:
        camera, cameras = _camera_named(path)
        if camera is not None:
            return open_camera(camera.index, live, camera.name)
        raise SourceError(f"{path}: no such file, and no camera of that name"
                          + (f" (cameras: {'; '.join(c.name for c in cameras)})" if cameras else " (no cameras found)"))
    if os.path.isdir(path) or Path(path).suffix.lower() in IMAGE_SUFFIXES:
        if not os.path.exists(path):
            raise SourceError(f"{path}: no such file")
        return ImageSource(path, loop=loop, realtime=realtime)
    return VideoFileSource(path, loop=loop, realtime=realtime)


def _camera_named(text: str) -> tuple[CameraInfo | None, list[CameraInfo]]:
    """(the camera `text` names or None, every camera there is: for the error line)."""
    cameras = list_cameras()
    try:
        return find_camera(text, cameras), cameras
    except ValueError as exc:
        raise SourceError(str(exc)) from None
