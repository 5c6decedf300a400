"""Frame sources: cameras, video files, still images and image folders, with one-line errors."""

import contextlib
import os
import sys
import time
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from app.types import Frame

ASSETS = Path(__file__).resolve().parent.parent / "assets"
DEFAULT_SAMPLE = str(ASSETS / "sample_two_people.mp4")
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}
IMAGE_FOLDER_FPS = 30.0  # an image folder has no frame rate; this one sets frame times
# A file whose container promises more frames than it yields by this margin is reported truncated.
TRUNCATION_TOLERANCE = 2
# A header frame rate outside this range is not believed (2147483647 and 1e-05 fps were seen: frame times of 0
# or a 100000 s wait): the file is timed at FALLBACK_FPS instead, and fallback_reason says so.
MIN_FPS, MAX_FPS, FALLBACK_FPS = 1.0, 1000.0, 30.0


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


def _open_video(path: str) -> tuple[cv2.VideoCapture, np.ndarray]:
    """(the capture, its frame 0 already decoded): the capture then stands at frame 1."""
    if not os.path.exists(path):
        raise SourceError(f"{path}: no such file")
    if os.path.isdir(path):
        raise SourceError(f"{path}: is a folder with no images")
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


class CameraSource(FrameSource):
    """A live camera by index (OpenCV VideoCapture)."""

    is_camera = True

    def __init__(self, index: int):
        self.index = index
        self.description = f"camera {index}"
        if sys.platform.startswith("linux") and not os.path.exists(f"/dev/video{index}"):
            raise SourceError(f"camera {index}: cannot be opened (no such camera: /dev/video{index} does not exist)")
        with _quiet_opencv():
            self._capture = cv2.VideoCapture(index)
            ok = self._capture.isOpened()
            image = None
            if ok:
                ok, image = self._capture.read()
        if not ok or image is None:
            self._capture.release()
            raise SourceError(f"camera {index}: cannot be opened (no such camera, or it is busy)")
        self.height, self.width = image.shape[:2]
        self.fps = believable_fps(self._capture.get(cv2.CAP_PROP_FPS)) or FALLBACK_FPS

    def __iter__(self) -> Iterator[Frame]:
        start = time.perf_counter()
        index = 0
        while self._capture is not None:
            ok, image = self._capture.read()
            if not ok:
                raise SourceError(f"camera {self.index}: stopped delivering frames (unplugged?)")
            now = time.perf_counter()
            yield Frame(index, now - start, image, now)
            index += 1

    def close(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None


def _quiet_camera_probe(index: int) -> CameraSource | None:
    """Camera `index` if one exists (CameraSource keeps OpenCV quiet about a missing one)."""
    try:
        return CameraSource(index)
    except SourceError:
        return None


def open_source(spec: str | int | None = None, loop: bool = False, realtime: bool = False) -> FrameSource:
    """Open a source from a spec: None/"" = default, an int or digits = camera, else a path.

    The default is camera 0 when it opens, else the bundled sample clip (played in a loop when
    `loop`), with `fallback_reason` saying why.
    """
    if spec is None or spec == "":
        camera = _quiet_camera_probe(0)
        if camera is not None:
            return camera
        source = VideoFileSource(DEFAULT_SAMPLE, loop=loop, realtime=realtime)
        source.fallback_reason = "no camera found: playing the bundled sample clip"
        return source
    if isinstance(spec, int) or str(spec).isdigit():
        return CameraSource(int(spec))
    path = str(spec)
    if os.path.isdir(path) or Path(path).suffix.lower() in IMAGE_SUFFIXES:
        if not os.path.exists(path):
            raise SourceError(f"{path}: no such file")
        return ImageSource(path, loop=loop, realtime=realtime)
    return VideoFileSource(path, loop=loop, realtime=realtime)
