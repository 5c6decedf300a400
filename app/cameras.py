"""Cameras by name without Qt: Linux video4linux devices (index, name, modes) and picking one from a --source text."""

import os
import struct
from dataclasses import dataclass
from pathlib import Path

V4L_ROOT = "/sys/class/video4linux"
MAX_MODES = 64  # a camera's list is cut here (some offer hundreds of size/rate pairs; the CLI shows a summary)

# v4l2 ioctls (linux/videodev2.h): _IOWR('V', nr, struct) = 3 << 30 | sizeof << 16 | ord('V') << 8 | nr.
_FMTDESC = struct.Struct("=III32sII3I")  # index, type, flags, description, pixelformat, mbus_code, reserved
_FRMSIZE = struct.Struct("=III6I2I")  # index, pixel_format, type, union (discrete: width, height), reserved
_FRMIVAL = struct.Struct("=IIIII6I2I")  # index, pixel_format, width, height, type, union (discrete: num, den)
_ENUM_FMT = 3 << 30 | _FMTDESC.size << 16 | ord("V") << 8 | 2
_ENUM_FRAMESIZES = 3 << 30 | _FRMSIZE.size << 16 | ord("V") << 8 | 74
_ENUM_FRAMEINTERVALS = 3 << 30 | _FRMIVAL.size << 16 | ord("V") << 8 | 75
_CAPTURE, _DISCRETE = 1, 1  # V4L2_BUF_TYPE_VIDEO_CAPTURE, V4L2_FRMSIZE_TYPE_DISCRETE (= _FRMIVAL_TYPE_)


@dataclass(frozen=True)
class CameraMode:
    """A size (pixels) and frame rate (frames per second) a camera offers."""

    width: int
    height: int
    fps: float

    def __str__(self) -> str:
        return f"{self.width}x{self.height}@{self.fps:g}"


@dataclass(frozen=True)
class CameraInfo:
    """One camera: index (N of /dev/videoN, what OpenCV opens), its name, device path and offered modes
    (empty where the driver does not list them or they could not be read)."""

    index: int
    name: str
    path: str
    modes: tuple[CameraMode, ...] = ()

    def summary(self) -> str:
        """'0  HD Webcam  /dev/video0  640x480@30, 1280x720@30' (one line)."""
        modes = ", ".join(str(m) for m in self.modes) if self.modes else "modes not listed by the driver"
        return f"{self.index}  {self.name}  {self.path}  {modes}"


def list_cameras(root: str = V4L_ROOT) -> list[CameraInfo]:
    """The video capture devices under `root` (Linux sysfs), by index. A missing folder (no V4L at all, or not
    Linux) is no cameras. Metadata nodes (a second /dev/videoN per UVC camera) are left out."""
    folder = Path(root)
    if not folder.is_dir():
        return []
    cameras = []
    for entry in folder.iterdir():
        if not entry.name.startswith("video") or not entry.name[5:].isdigit():
            continue
        if _read(entry / "index", "0") != "0":  # index 1+ of one device: its metadata or second stream
            continue
        index = int(entry.name[5:])
        path = f"/dev/{entry.name}"
        cameras.append(CameraInfo(index, _read(entry / "name", entry.name), path, tuple(_modes(path))))
    return sorted(cameras, key=lambda c: c.index)


def print_cameras(root: str = V4L_ROOT) -> int:
    """`main.py --list-cameras`: one line per camera (index, name, device, modes), or one saying there is none; 0."""
    cameras = list_cameras(root)
    if not cameras:
        print(f"no cameras found ({root} lists no video capture device); --source also takes a video file, "
              "a folder of images or a stream URL (rtsp://, http://)")
        return 0
    print("index  name  device  modes (WIDTHxHEIGHT@FPS): pass the index, the device or (part of) the name "
          "to --source")
    for camera in cameras:
        print(camera.summary())
    return 0


def find_camera(text: str, cameras: list[CameraInfo]) -> CameraInfo | None:
    """The camera `text` names: its device path, its name, or a part of one name (case ignored). None when none
    matches; ValueError (one line) when the part matches several."""
    lowered = text.strip().lower()
    for camera in cameras:
        if text == camera.path or lowered == camera.name.lower():
            return camera
    matches = [c for c in cameras if lowered and lowered in c.name.lower()]
    if len(matches) > 1:
        names = "; ".join(f"{c.index}: {c.name}" for c in matches)
        raise ValueError(f"{text}: matches several cameras ({names}); give more of the name or the index")
    return matches[0] if matches else None


def _read(path: Path, default: str) -> str:
    try:
        return path.read_text(errors="replace").strip() or default
    except OSError:
        return default


def _modes(device: str) -> list[CameraMode]:
    """Discrete sizes and rates from the driver (v4l2 ioctls); [] where it cannot be asked (busy, no permission)."""
    try:
        fd = os.open(device, os.O_RDWR | os.O_NONBLOCK)
    except OSError:
        return []
    modes: set[CameraMode] = set()
    try:
        for fmt in _enumerate(fd, _ENUM_FMT, _FMTDESC, lambda i: (i, _CAPTURE, 0, b"", 0, 0, 0, 0, 0)):
            pixel_format = fmt[4]
            for size in _enumerate(fd, _ENUM_FRAMESIZES, _FRMSIZE, lambda i: (i, pixel_format, 0) + (0,) * 8):
                if size[2] != _DISCRETE:
                    continue
                width, height = size[3], size[4]
                for ival in _enumerate(fd, _ENUM_FRAMEINTERVALS, _FRMIVAL,
                                       lambda i: (i, pixel_format, width, height, 0) + (0,) * 8):
                    if ival[4] == _DISCRETE and ival[5]:
                        modes.add(CameraMode(width, height, round(ival[6] / ival[5], 2)))
                if len(modes) >= MAX_MODES:
                    break
    finally:
        os.close(fd)
    return sorted(modes, key=lambda m: (m.width * m.height, m.fps))[:MAX_MODES]


def _enumerate(fd: int, request: int, layout: struct.Struct, fields):
    """Yields the unpacked structs of a v4l2 VIDIOC_ENUM_* ioctl for index 0, 1, ... until the driver says no."""
    import fcntl  # Unix only; list_cameras reaches this only where /sys/class/video4linux exists

    for index in range(MAX_MODES):
        try:
            answer = fcntl.ioctl(fd, request, layout.pack(*fields(index)))
        except OSError:
            return
        yield layout.unpack(answer)
