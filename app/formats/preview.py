"""The preview video NAME.preview.mp4: the input's frames with each seen track's skeleton and ID drawn as the app draws them.

Written with OpenCV's VideoWriter, MPEG-4 Part 2 ('mp4v' in an .mp4 container: the codec OpenCV's pip wheels
can write; they carry no H.264 encoder), at the source's frame rate and size, one video frame per processed
frame. Atomic: frames go to a hidden temporary file beside the final one (named *.mp4, so that FFmpeg picks
the container), renamed over NAME.preview.mp4 by finish(); a crash or discard() leaves no half video under
the final name.
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


def preview_path(out_dir: str | os.PathLike, name: str) -> Path:
    """out_dir/NAME.preview.mp4."""
    return Path(out_dir) / f"{name}.preview.mp4"


def preview_temporary_path(out_dir: str | os.PathLike, name: str) -> Path:
    """The hidden file a preview is written to before it is renamed (a crashed recording may leave it)."""
    return Path(out_dir) / f".{name}.preview.tmp.mp4"


class PreviewWriter:
    """Writes NAME.preview.mp4 frame by frame; the video's size is the first frame's.

    fps: the source's frame rate (30 where unknown). OSError when the file cannot be opened or a frame is of
    another size (the recorder turns it into a RecordingError). Not thread-safe.
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
            self._writer = cv2.VideoWriter(str(self.temporary), cv2.VideoWriter_fourcc(*FOURCC), self.fps,
                                           (width, height))
            if not self._writer.isOpened():
                self._writer = None
                raise OSError(errno.EIO, f"OpenCV cannot write an {FOURCC} video there", str(self.temporary))
            self._size = (width, height)
        if (width, height) != self._size:
            raise OSError(errno.EINVAL, f"a {width}x{height} frame in a {self._size[0]}x{self._size[1]} video",
                          str(self.temporary))
        self._writer.write(draw_tracks(image_bgr, [t for t in tracks if t.missed == 0]))
        self.frames_written += 1

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
