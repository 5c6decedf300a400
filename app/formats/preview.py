"""NAME.preview.mp4: the input's frames with each seen person's skeleton and ID drawn on them, as the app draws them.

Written with OpenCV's VideoWriter, MPEG-4 Part 2 ('mp4v' in an .mp4 container: the codec OpenCV's pip wheels
can write; they carry no H.264 encoder), at the source's frame rate, one video frame per processed frame, at the
source's size up to MAX_SIDE pixels on the long side (larger frames are scaled down: a preview of a 4K clip
need not cost a 4K encode per frame), both sides even (FFmpeg's MPEG-4 encoder needs them).
Atomic: frames go to a hidden temporary file beside the final one (named *.mp4, so that FFmpeg picks the
container), renamed over NAME.preview.mp4 by finish(); a crash or discard() leaves no half video under the
final name.
"""

import contextlib
import errno
import os
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from app.draw import draw_tracks
from app.types import Track

FOURCC = "mp4v"
MAX_SIDE = 1280  # px, the preview's long side at most


def video_size(width: int, height: int) -> tuple[int, int]:
    """(width, height) of the preview of frames of width x height: scaled down to MAX_SIDE, rounded down to even."""
    scale = min(1.0, MAX_SIDE / max(width, height))
    return max(2, int(width * scale) // 2 * 2), max(2, int(height * scale) // 2 * 2)


def preview_path(out_dir: str | os.PathLike, name: str) -> Path:
    """out_dir/NAME.preview.mp4."""
    return Path(out_dir) / f"{name}.preview.mp4"


def preview_temporary_path(out_dir: str | os.PathLike, name: str) -> Path:
    """The hidden file a preview is written to before it is renamed (a crashed recording may leave it)."""
    return Path(out_dir) / f".{name}.preview.tmp.mp4"


class PreviewWriter:
    """Writes NAME.preview.mp4 frame by frame; the video's size is video_size() of the first frame's, and a frame of
    another size (a folder of images of several sizes) is scaled to fit in it, centred on black.

    fps: the source's frame rate (30 where unknown). OSError when the file cannot be written (the recorder
    turns it into a RecordingError). Not thread-safe.
    """

    def __init__(self, out_dir: str | os.PathLike, name: str, fps: float):
        self.path = preview_path(out_dir, name)
        self.temporary = preview_temporary_path(out_dir, name)
        self.fps = fps if fps > 0 else 30.0
        self.frames_written = 0
        self._writer: cv2.VideoWriter | None = None
        self._size: tuple[int, int] | None = None

    def add(self, image_bgr: np.ndarray, tracks: Sequence[Track]) -> None:
        """Draw the tracks seen in this frame (missed == 0) on a copy of image_bgr (H, W, 3) uint8 and append it."""
        height, width = image_bgr.shape[:2]
        if self._writer is None:
            size = video_size(width, height)
            self._writer = cv2.VideoWriter(str(self.temporary), cv2.VideoWriter_fourcc(*FOURCC), self.fps, size)
            if not self._writer.isOpened():
                self._writer = None
                raise OSError(errno.EIO, f"OpenCV cannot write an {FOURCC} video there", str(self.temporary))
            self._size = size
        seen = [t for t in tracks if t.missed == 0]
        if (width, height) == self._size:
            self._writer.write(draw_tracks(image_bgr, seen))
        else:
            self._writer.write(self._fitted(image_bgr, seen))
        self.frames_written += 1

    def _fitted(self, image_bgr: np.ndarray, tracks: Sequence[Track]) -> np.ndarray:
        """The frame scaled to fit the video's size, drawn on (after scaling: crisp lines), centred on black."""
        video_w, video_h = self._size
        height, width = image_bgr.shape[:2]
        scale = min(video_w / width, video_h / height)
        w, h = max(1, min(video_w, round(width * scale))), max(1, min(video_h, round(height * scale)))
        # Linear, not area interpolation: 2 vs 19 ms for 1088x1920 -> 724x1280 (area is slow at non-integer ratios).
        drawn = draw_tracks(cv2.resize(image_bgr, (w, h), interpolation=cv2.INTER_LINEAR), tracks, scale)
        if (w, h) == (video_w, video_h):
            return drawn
        canvas = np.zeros((video_h, video_w, 3), np.uint8)
        x, y = (video_w - w) // 2, (video_h - h) // 2
        canvas[y:y + h, x:x + w] = drawn
        return canvas

    def finish(self) -> str | None:
        """Close the video and rename it to NAME.preview.mp4; returns that path (None when no frame came)."""
        if self._writer is None:
            return None
        self._writer.release()
        self._writer = None
        os.replace(self.temporary, self.path)
        return str(self.path)

    def discard(self) -> None:
        """Close without finishing: the temporary file goes."""
        if self._writer is not None:
            self._writer.release()
            self._writer = None
        with contextlib.suppress(OSError):
            os.remove(self.temporary)
