"""Real video files that have broken the app: a 1-frame clip and AVI headers with absurd frame rates.

Both are made from the bundled clip's first frame with OpenCV's own writers (mp4v in .mp4, MJPEG in .avi);
the frame rate is then written into the AVI stream header (dwRate / dwScale), as a damaged or hostile file
would carry it.
"""

import struct

import cv2

from app.sources import DEFAULT_SAMPLE

SIZE = (64, 96)  # width, height px: small, so decoding costs nothing


def first_frame(size=SIZE):
    capture = cv2.VideoCapture(DEFAULT_SAMPLE)
    ok, image = capture.read()
    capture.release()
    assert ok, DEFAULT_SAMPLE
    return image if size is None else cv2.resize(image, size)


def write_video(path, frames: int, size=SIZE) -> str:
    """A real `frames`-frame video at 30 fps: mp4v for .mp4, MJPEG for .avi."""
    image = first_frame(size)
    codec = "MJPG" if str(path).endswith(".avi") else "mp4v"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*codec), 30, (image.shape[1], image.shape[0]))
    for _ in range(frames):
        writer.write(image)
    writer.release()
    return str(path)


def avi_with_rate(path, rate: int, scale: int = 1, frames: int = 3, size=SIZE) -> str:
    """An MJPEG AVI whose header says rate / scale frames per second (e.g. 2147483647 / 1, 1 / 100000)."""
    write_video(path, frames, size)
    data = bytearray(open(path, "rb").read())
    stream = data.index(b"strh")  # 'strh', size, type, handler, flags, priority, language, initial frames, scale, rate
    struct.pack_into("<II", data, stream + 8 + 20, scale, rate)
    main = data.index(b"avih")  # 'avih', size, microseconds per frame
    struct.pack_into("<I", data, main + 8, min(int(1e6 * scale / max(rate, 1)), 2**32 - 1))
    open(path, "wb").write(data)
    return str(path)
