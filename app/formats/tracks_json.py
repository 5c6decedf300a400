"""The JSON track format: an incremental writer (JSON Lines while running, one JSON file when done) and its reader.

Final file (`NAME.json`, written atomically when a recording closes):
    {"format": "cascade3d-tracks", "version": 2,
     "source": {"path", "width", "height", "fps", "frames"},
     "camera": {"fx", "fy", "cx", "cy"},                      pixels
     "skeleton": {"joints": [17 names], "parents": [17 ints]},
     "backend": {"name", "device", ...},
     "world": {"floor": {"normal", "offset_mm"}, "camera": {"height_mm", "pitch_deg", "roll_deg",
               "world_from_camera": {"rotation", "translation_mm"}}, "samples"} or null,
     "frames": [{"index", "time", "people": [{"track_id", "bbox", "score", "keypoints_2d", "joints_3d",
                                               "joints_3d_raw", "root", "root_raw", "world_root", "contact"}]}]}
Units: bbox [x1, y1, x2, y2] and keypoints_2d [[x, y, conf] x17] in image pixels; joints_3d
[[x, y, z] x17] in millimetres, camera axes (x right, y down, z forward), root-relative (pelvis at
0): the joints fitted to the track's constant bone lengths (one set per track over the whole file),
feet in contact pinned (app.motion); joints_3d_raw: the network's joints, same units; root [x, y, z]
in millimetres, camera space, placed by the motion layer (moved along its camera ray onto the floor where
the person stands on it: app.motion.support); root_raw: the root before that (from the body's size; absent
in older files, where root is that one); world_root [X, Y, Z] in millimetres, world frame (Y up, floor at Y=0,
origin on the floor below the camera, camera forward along -Z; app.motion.floor), null when no floor
is known; contact [right, left] booleans (foot on the floor), null when unknown; time in seconds from
the source's start. world: the floor plane in camera coordinates (height above the floor of a camera
point X = normal . X + offset_mm) and the camera pose it implies (X_world = rotation @ X_camera +
translation_mm).

When a recording closes, the motion layer runs again over the whole file (app.motion.layer.refine_tracks):
each track gets its final bones and placement in every frame and every world position uses the one floor in "world",
so the final file is self-consistent; the `.partial` file keeps what was computed live.

Version 1 files (no world, joints_3d_raw, world_root, contact) are still read: joints_3d is then the
network's joints.

While recording, `NAME.json.partial` holds the same content as JSON Lines: line 1 is the header
(every field except "frames", plus "partial": true), then one frame object per line, flushed after
each frame. A crash or kill leaves that file; read_tracks() reads it (a half-written last line is
dropped), so every frame processed before the crash is kept; any other damaged line (garbage, bytes
that are not UTF-8, a frame with a missing or mistyped field) costs only that line. A frame placed with
another camera than the header's (an image folder with images of several sizes) also has "camera"
{"fx", "fy", "cx", "cy"} and "size" [width, height].
"""

import json
import os
from array import array
from dataclasses import dataclass
from typing import Iterable, Iterator

import numpy as np

from model.net.skeleton import H36M, NUM_JOINTS, Skeleton
from model.atomic import atomic_open
from model.errors import read_json
from app.motion.floor import WorldFrame
from app.motion.layer import MotionConfig, PersonInput, refine_tracks
from app.types import MAX_FPS, MIN_FPS, CameraIntrinsics, FrameResult, PersonPose, SourceInfo, Track

FORMAT = "cascade3d-tracks"
VERSION = 2
PARTIAL_SUFFIX = ".partial"
HEADER_KEYS = ("format", "version", "source", "camera", "skeleton", "backend")
PERSON_KEYS = ("track_id", "bbox", "score", "keypoints_2d", "joints_3d", "root")  # required (version 1 on)
MAX_INT = 2**53  # the largest integer every JSON reader keeps exactly; indices and ids stay far below
# A frame index past this is damage, not footage: a billion frames is 11 days at 1000 fps.
MAX_FRAME_INDEX = 10**9


class TrackFileError(ValueError):
    """A track file cannot be read; str() is one line naming the file and the problem."""


@dataclass(frozen=True)
class RecordedFrame:
    """One frame read back from a track file: its index, time in seconds and the people seen in it."""

    index: int
    time_s: float
    tracks: tuple[Track, ...]
    # The frame's own camera and image size (width, height px): the header's, except in an image folder
    # with images of several sizes, where each frame keeps the camera it was placed with.
    camera: CameraIntrinsics | None = None
    size: tuple[int, int] | None = None


@dataclass(frozen=True)
class TrackFile:
    """A whole track file read back. partial: True when read from a `.partial` file (recording not finished)."""

    source: SourceInfo
    camera: CameraIntrinsics
    skeleton: Skeleton
    backend: dict
    frames: tuple[RecordedFrame, ...]
    partial: bool = False
    format: str = FORMAT
    version: int = VERSION
    world: WorldFrame | None = None
    damaged_lines: tuple[int, ...] = ()  # partial files: the lines skipped as damaged

    def track_ids(self) -> list[int]:
        return sorted({t.track_id for f in self.frames for t in f.tracks})


@dataclass(frozen=True, eq=False)
class TrackSeries:
    """One track's observed frames: frame_indices (N,) int, ascending; joints_camera (N, 17, 3) mm, camera space (absolute)."""

    track_id: int
    frame_indices: np.ndarray
    joints_camera: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.frame_indices)
        assert self.joints_camera.shape == (n, NUM_JOINTS, 3), self.joints_camera.shape


def _rounded(array: np.ndarray, decimals: int) -> list:
    """Nested lists for JSON; non-finite values become null (JSON has no NaN)."""
    values = np.round(np.asarray(array, dtype=np.float64), decimals)
    if np.isfinite(values).all():
        return values.tolist()
    return np.where(np.isfinite(values), values, None).tolist()


def person_dict(track: Track) -> dict:
    pose = track.pose
    raw = pose.joints_3d if pose.joints_3d_raw is None else pose.joints_3d_raw
    return {
        "track_id": int(track.track_id),
        "bbox": _rounded(pose.box_xyxy, 1),
        "score": round(float(pose.score), 4),
        "keypoints_2d": _rounded(pose.keypoints_2d, 2),
        "joints_3d": _rounded(pose.joints_3d, 1),
        "joints_3d_raw": _rounded(raw, 1),
        "root": _rounded(pose.root, 1),
        "root_raw": _rounded(pose.root if pose.root_raw is None else pose.root_raw, 1),
        "world_root": None if pose.world_root is None else _rounded(pose.world_root, 1),
        "contact": None if pose.contact is None else [bool(c) for c in pose.contact],
    }


def frame_dict(result: FrameResult, camera: CameraIntrinsics | None = None) -> dict:
    """One frame's JSON object. Only people observed this frame are kept: a track the tracker only
    holds through a miss (missed > 0) repeats an old pose, which is not a measurement.

    camera: the header's. A frame placed with another camera (an image folder with images of several
    sizes) also gets "camera" and "size" [width, height], so that it can be reprojected from the file.
    """
    people = [person_dict(t) for t in result.tracks if t.missed == 0]
    frame = {"index": int(result.frame.index), "time": round(float(result.frame.time_s), 6), "people": people}
    if camera is not None and result.camera is not None and result.camera != camera:
        frame["camera"] = result.camera.to_dict()
        frame["size"] = [int(result.frame.width), int(result.frame.height)]
    return frame


def header_dict(source: SourceInfo, camera: CameraIntrinsics, backend: dict,
                skeleton: Skeleton = H36M) -> dict:
    return {"format": FORMAT, "version": VERSION, "source": source.to_dict(), "camera": camera.to_dict(),
            "skeleton": skeleton.to_dict(), "backend": dict(backend), "world": None}


class JsonTrackWriter:
    """Appends frames to `path + '.partial'` (JSON Lines, flushed per frame); finish() writes `path` atomically.

    Memory stays flat: nothing but the open file is kept.
    """

    def __init__(self, path: str | os.PathLike, header: dict):
        self.path = str(path)
        self.partial_path = self.path + PARTIAL_SUFFIX
        self.header = dict(header)
        self.frames_written = 0
        self._file = open(self.partial_path, "w", encoding="utf-8")
        try:
            self._file.write(json.dumps({**self.header, "partial": True}) + "\n")
            self._file.flush()
        except BaseException:
            self.close_partial(quiet=True)
            raise

    def add(self, frame: dict) -> None:
        self._file.write(json.dumps(frame, separators=(",", ":")) + "\n")
        self._file.flush()
        self.frames_written += 1

    def close_partial(self, quiet: bool = False) -> None:
        """Close the partial file without finishing (it stays readable). quiet: after a write error, when
        flushing what is left in the buffer fails again (a full disk), close anyway without raising."""
        if not self._file.closed:
            try:
                self._file.close()
            except OSError:
                if not quiet:
                    raise

    def finish(self, source_frames: int | None = None, keep_partial: bool = False,
               frames: Iterable[dict] | None = None, world: WorldFrame | None = None,
               out_path: str | os.PathLike | None = None) -> str:
        """Stream the partial file into the final JSON (tmp + os.replace); returns the final path.

        source_frames overrides the header's source.frames (cameras only know it at the end).
        frames: the frame objects to write instead of the partial file's (refined_frames()); world: the
        header's world block; out_path: write there instead of self.path.
        """
        self.close_partial()
        header = dict(self.header)
        if source_frames is not None:
            header["source"] = {**header["source"], "frames": int(source_frames)}
        if world is not None:
            header["world"] = world.to_dict()
        out_path = str(out_path or self.path)
        with atomic_open(out_path) as out:
            out.write(json.dumps(header)[:-1] + ',\n"frames": [')
            first = True
            # A line the reader would drop as damaged is not copied.
            lines = ((line for _, line, value in _frame_lines(self.partial_path) if isinstance(value, dict))
                     if frames is None else (json.dumps(frame, separators=(",", ":")) for frame in frames))
            for line in lines:
                out.write(("\n" if first else ",\n") + line)
                first = False
            out.write("\n]}\n")
        if not keep_partial:
            os.remove(self.partial_path)
        return out_path


def _frame_lines(path: str) -> Iterator[tuple[int, str | None, object]]:
    """(line number, text, parsed value) of each line after the header of a JSON Lines file.

    Read as bytes and decoded line by line, so that damage (a half-written line after a crash, a
    non-UTF-8 tail, garbage) costs only the lines it touches: text and value are None for a line that
    is not UTF-8 or not JSON. Blank lines are left out.
    """
    try:
        with open(path, "rb") as f:
            f.readline()
            for number, raw in enumerate(f, start=2):
                try:
                    text = raw.decode("utf-8").strip()
                except UnicodeDecodeError:
                    yield number, None, None
                    continue
                if not text:
                    continue
                try:
                    yield number, text, json.loads(text)
                except (ValueError, RecursionError):  # ValueError: bad JSON, or an integer too long to convert
                    yield number, None, None
    except OSError as exc:
        raise TrackFileError(f"{path}: cannot read ({exc.strerror})") from None


class _Damaged(ValueError):
    """A field of a frame or header that is missing or has the wrong type; str() says which."""


def _shown(value) -> str:
    text = repr(value) if isinstance(value, (float, str)) else json.dumps(value, default=str)
    return text if len(text) <= 40 else text[:37] + "..."


def _get(d, key: str, where: str):
    if not isinstance(d, dict):
        raise _Damaged(f"'{where}' is {_shown(d)}, expected an object" if where else "not a JSON object")
    if key not in d:
        raise _Damaged(f"'{where + '.' if where else ''}{key}' is missing")
    return d[key]


def _int(d, key: str, where: str, minimum: int = 0) -> int:
    value = _get(d, key, where)
    if not isinstance(value, int) or isinstance(value, bool) or not minimum <= value <= MAX_INT:
        raise _Damaged(f"'{where + '.' if where else ''}{key}' is {_shown(value)}, expected an integer "
                       f"from {minimum} to {MAX_INT}")
    return value


def _float(d, key: str, where: str, positive: bool = False, finite: bool = True) -> float:
    value = _get(d, key, where)
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if ok:
        value = float(value)
        ok = (np.isfinite(value) or not finite) and (value > 0 or not positive)
    if not ok:
        raise _Damaged(f"'{where + '.' if where else ''}{key}' is {_shown(value)}, expected a "
                       + ("positive " if positive else "") + ("finite " if finite else "") + "number")
    return value


def _array(d, key: str, shape: tuple[int, ...], where: str, optional: bool = False) -> np.ndarray | None:
    """d[key] as a float64 array of `shape` (null entries -> nan); None where optional and absent or null."""
    if optional and (not isinstance(d, dict) or d.get(key) is None):
        return None
    value = _get(d, key, where)
    try:
        array = np.array(value, dtype=np.float64)
    except (ValueError, TypeError, OverflowError):
        array = None
    if array is None or array.shape != shape:
        got = "not numbers" if array is None else f"shape {array.shape}"
        raise _Damaged(f"'{where}.{key}' has {got}, expected shape {shape}")
    return array


def _camera(d, where: str) -> CameraIntrinsics:
    return CameraIntrinsics(*(_float(d, k, where, positive=k in ("fx", "fy")) for k in ("fx", "fy", "cx", "cy")))


def _size(value, where: str) -> tuple[int, int]:
    if (not isinstance(value, list) or len(value) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) and 0 < v <= MAX_INT for v in value)):
        raise _Damaged(f"'{where}' is {_shown(value)}, expected [width, height] in pixels")
    return value[0], value[1]


@dataclass(frozen=True)
class _Header:
    """A checked header: everything TrackFile needs but the frames; raw is the header object as read."""

    source: SourceInfo
    camera: CameraIntrinsics
    skeleton: Skeleton
    backend: dict
    partial: bool
    version: int
    raw: dict


def _header(data) -> _Header:
    """Check every header field the reader uses; raises _Damaged naming the first bad one."""
    if not isinstance(data, dict):
        raise _Damaged("not a track file (not a JSON object)")
    missing = [k for k in HEADER_KEYS if k not in data]
    if missing:
        raise _Damaged(f"not a track file (missing {', '.join(missing)})")
    if data["format"] != FORMAT:
        raise _Damaged(f"format is {_shown(data['format'])}, expected '{FORMAT}'")
    version = _int(data, "version", "", minimum=1)
    if version > VERSION:
        raise _Damaged(f"version {version} is newer than this reader ({VERSION})")
    source = _get(data, "source", "")
    path = _get(source, "path", "source")
    if not isinstance(path, str):
        raise _Damaged(f"'source.path' is {_shown(path)}, expected a string")
    fps = _float(source, "fps", "source")
    if not MIN_FPS <= fps <= MAX_FPS:  # the BVH frame time and every replay's pacing come from it
        raise _Damaged(f"'source.fps' is {_shown(fps)}, expected a frame rate from {MIN_FPS:g} to {MAX_FPS:g}")
    info = SourceInfo(path, _int(source, "width", "source"), _int(source, "height", "source"), fps,
                      _int(source, "frames", "source"))
    skeleton = _get(data, "skeleton", "")
    joints, parents = _get(skeleton, "joints", "skeleton"), _get(skeleton, "parents", "skeleton")
    if (not isinstance(joints, list) or len(joints) != NUM_JOINTS or not all(isinstance(j, str) for j in joints)
            or not isinstance(parents, list) or len(parents) != NUM_JOINTS
            or not all(isinstance(p, int) and not isinstance(p, bool) and -1 <= p < NUM_JOINTS for p in parents)):
        raise _Damaged(f"'skeleton' is not {NUM_JOINTS} joint names and parent indices")
    late = [child for child, parent in enumerate(parents) if parent >= child]
    if late:  # forward kinematics and the BVH hierarchy walk parents first
        raise _Damaged(f"'skeleton.parents' is {_shown(parents)}: the parent of joint {late[0]} comes after it "
                       "(parents must come before their children)")
    if not isinstance(data["backend"], dict):
        raise _Damaged(f"'backend' is {_shown(data['backend'])}, expected an object")
    _world(data.get("world"))  # the world block is checked here so that every reader refuses a damaged one
    raw = {k: v for k, v in data.items() if k != "frames"}
    return _Header(info, _camera(_get(data, "camera", ""), "camera"), Skeleton(tuple(joints), tuple(parents)),
                   dict(data["backend"]), data.get("partial") is True, version, raw)


def _people(frame, where: str) -> list[tuple[int, PersonPose]]:
    """(track_id, pose) of each person of a frame object; raises _Damaged naming the first bad field."""
    people = _get(frame, "people", where)
    if not isinstance(people, list):
        raise _Damaged(f"'{where}.people' is {_shown(people)}, expected a list")
    out = []
    for k, person in enumerate(people):
        at = f"{where}.people[{k}]"
        optional = {}  # version 2: absent or null in version 1 files and where unknown
        raw = _array(person, "joints_3d_raw", (NUM_JOINTS, 3), at, optional=True)
        if raw is not None:
            optional["joints_3d_raw"] = raw
        root_raw = _array(person, "root_raw", (3,), at, optional=True)
        if root_raw is not None:
            optional["root_raw"] = root_raw
        world_root = _array(person, "world_root", (3,), at, optional=True)
        if world_root is not None:
            optional["world_root"] = world_root
        contact = person.get("contact") if isinstance(person, dict) else None
        if contact is not None:
            if not isinstance(contact, list) or len(contact) != 2 or not all(isinstance(c, bool) for c in contact):
                raise _Damaged(f"'{at}.contact' is {_shown(contact)}, expected [right, left] booleans")
            optional["contact"] = np.array(contact, dtype=bool)
        pose = PersonPose(_array(person, "bbox", (4,), at), _array(person, "keypoints_2d", (NUM_JOINTS, 3), at),
                          _array(person, "joints_3d", (NUM_JOINTS, 3), at), _array(person, "root", (3,), at),
                          _float(person, "score", at, finite=False), **optional)
        out.append((_int(person, "track_id", at, minimum=-MAX_INT), pose))
    return out


@dataclass(frozen=True)
class _Frame:
    """A checked frame object: index, time (s), people, and its own camera and size (None: the header's)."""

    index: int
    time_s: float
    people: list
    camera: CameraIntrinsics | None
    size: tuple[int, int] | None


def _frame(value, where: str) -> _Frame:
    index = _int(value, "index", where)
    if index > MAX_FRAME_INDEX:
        raise _Damaged(f"'{where}.index' is {index}, expected a frame index up to {MAX_FRAME_INDEX}")
    time_s = _float(value, "time", where)
    people = _people(value, where)
    camera = _camera(value["camera"], f"{where}.camera") if "camera" in value else None
    size = _size(value["size"], f"{where}.size") if "size" in value else None
    return _Frame(index, time_s, people, camera, size)


def _read(path: str) -> tuple[_Header, Iterator[tuple[dict, _Frame]], list[int]]:
    """(header, (frame object, checked frame) pairs, damaged line numbers) of a final or partial file.

    A partial file (JSON Lines) is streamed; a line that is not a whole, well-formed frame is skipped and
    its number appended to the list as the frames are consumed, so that every intact frame of a file left
    by a crash, a full disk or a damaged copy is recovered. A final file is one JSON document written
    atomically: any damage in it is a TrackFileError naming the field.
    """
    try:
        with open(path, "rb") as f:
            first = f.readline()
    except OSError as exc:
        raise TrackFileError(f"{path}: cannot open ({exc.strerror})") from None
    try:
        head = json.loads(first.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        head = None
    damaged: list[int] = []
    if isinstance(head, dict) and "frames" not in head and head.get("partial") is True:
        try:
            header = _header(head)
        except _Damaged as exc:
            raise TrackFileError(f"{path}: line 1: {exc}") from None

        def partial_frames() -> Iterator[tuple[dict, _Frame]]:
            last = -1
            for number, _, value in _frame_lines(path):
                try:
                    if value is None:
                        raise _Damaged("not JSON")
                    frame = _frame(value, f"line {number}")
                    if frame.index <= last:
                        raise _Damaged("frame index not after the previous frame's")
                except _Damaged:
                    damaged.append(number)
                    continue
                last = frame.index
                yield value, frame

        return header, partial_frames(), damaged
    data = _load_final(path)
    try:
        header = _header(data)
        frames = data["frames"]
        if not isinstance(frames, list):
            raise _Damaged(f"'frames' is {_shown(frames)}, expected a list")
        checked = [(frame, _frame(frame, f"frames[{k}]")) for k, frame in enumerate(frames)]
        for k in range(1, len(checked)):
            if checked[k][1].index <= checked[k - 1][1].index:  # tracks, BVH and CSV rows are in frame order
                raise _Damaged(f"'frames[{k}].index' is {checked[k][1].index}, expected more than the previous "
                               f"frame's {checked[k - 1][1].index}")
    except _Damaged as exc:
        raise TrackFileError(f"{path}: {exc}") from None
    return header, iter(checked), damaged


def _load_final(path: str):
    data = read_json(path, TrackFileError, "track file")
    if not isinstance(data, dict) or "frames" not in data:
        raise TrackFileError(f"{path}: not a track file (no 'frames')")
    return data


def read_source_path(path: str | os.PathLike) -> str:
    """The source path a final or partial track file names (header 'source.path'), reading only its first line
    where it can (JsonTrackWriter writes the header alone on line 1 of both); raises TrackFileError when it
    does not say. The rest of the header is not checked: read_tracks does that."""
    path = str(path)
    try:
        with open(path, "rb") as f:
            first = f.readline().decode("utf-8").strip()
    except OSError as exc:
        raise TrackFileError(f"{path}: cannot open ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise TrackFileError(f"{path}: line 1 is not UTF-8") from None
    for text in (first, first.removesuffix(",") + "}"):  # a partial file's header line, a final file's
        try:
            head = json.loads(text)
        except (ValueError, RecursionError):
            continue
        if isinstance(head, dict):
            break
    else:
        head = _load_final(path)  # a final file written by another program: read it whole
    # Only the identity is read: a file whose other fields are damaged still says whose it is (and is replaced).
    source_path = head.get("source", {}).get("path") if isinstance(head.get("source"), dict) else None
    if not isinstance(source_path, str):
        raise TrackFileError(f"{path}: 'source.path' is missing or not a string")
    return source_path


def iter_frame_dicts(path: str | os.PathLike) -> tuple[dict, Iterator[dict]]:
    """(header, frame objects) of a final or partial file, streamed; only the frames read_tracks() keeps."""
    header, frames, _ = _read(str(path))
    return header.raw, (raw for raw, _ in frames)


def read_tracks(path: str | os.PathLike) -> TrackFile:
    """Read a final `.json` or a `.json.partial` file back into the project's types.

    Track.age is recomputed as frames since the track's first frame in the file; Track.smoothed is
    backend["smoothing"]. Each frame carries its camera and image size (the header's unless the frame
    has its own: an image folder with images of several sizes). Raises TrackFileError (one line naming
    the file and the line or field) for anything that is not a track file; from a partial file every
    intact frame is returned and the numbers of damaged lines are in TrackFile.damaged_lines.
    """
    path = str(path)
    header, frames, damaged = _read(path)
    smoothed = bool(header.backend.get("smoothing", False))
    size = (header.source.width, header.source.height)
    first_seen: dict[int, int] = {}
    recorded = []
    for _, frame in frames:
        tracks = []
        for track_id, pose in frame.people:
            first_seen.setdefault(track_id, frame.index)
            tracks.append(Track(track_id, pose, frame.index - first_seen[track_id], 0, smoothed))
        recorded.append(RecordedFrame(frame.index, frame.time_s, tuple(tracks), frame.camera or header.camera,
                                      frame.size or size))
    return TrackFile(
        source=header.source,
        camera=header.camera,
        skeleton=header.skeleton,
        backend=header.backend,
        frames=tuple(recorded),
        partial=header.partial,
        format=FORMAT,
        version=header.version,
        world=world_from_header(header.raw, path),
        damaged_lines=tuple(damaged),
    )


def world_from_header(header: dict, path: str = "") -> WorldFrame | None:
    """The header's world block as a WorldFrame; None in version 1 files, partial files and where no floor was found."""
    try:
        return _world(header.get("world"))
    except _Damaged as exc:
        raise TrackFileError(f"{path}: {exc}") from None


def _world(block) -> WorldFrame | None:
    """The header's world block checked (a finite, non-zero floor normal, a finite offset); raises _Damaged."""
    if block is None:
        return None
    floor = _get(block, "floor", "world")
    normal = _array(floor, "normal", (3,), "world.floor")
    with np.errstate(over="ignore"):  # 1e308s overflow the norm: refused below as infinite
        length = np.linalg.norm(normal) if np.isfinite(normal).all() else np.inf
    if not 1e-6 <= length < np.inf:
        raise _Damaged(f"'world.floor.normal' is {_shown(normal.tolist())}, expected a finite non-zero vector")
    _float(floor, "offset_mm", "world.floor")
    try:
        return WorldFrame.from_dict(block)
    except (KeyError, TypeError, ValueError, AttributeError, AssertionError, IndexError, OverflowError,
            np.linalg.LinAlgError):
        raise _Damaged("field 'world' is malformed") from None


def refined_frames(path: str | os.PathLike, config: MotionConfig = MotionConfig()) -> tuple[WorldFrame | None, Iterator[dict]]:
    """(the clip's floor, the file's frame objects refined by the motion layer's two passes).

    Reads `path` (final or partial) three times, streaming: memory stays flat. Each person's input is its
    joints_3d_raw (joints_3d in version 1 files), root_raw (root where absent), keypoints_2d and the frame's
    camera; joints_3d, root, world_root and contact are replaced by app.motion.layer.refine_tracks' output.
    """
    path = str(path)

    def camera_of(block: dict) -> CameraIntrinsics:  # checked by the reader already
        return CameraIntrinsics(*(float(block[k]) for k in ("fx", "fy", "cx", "cy")))

    def people_of(frame: dict, header_camera: CameraIntrinsics) -> list[PersonInput]:
        people = []
        camera = camera_of(frame["camera"]) if "camera" in frame else header_camera
        for person in frame["people"]:
            raw = person.get("joints_3d_raw") or person["joints_3d"]
            root = person.get("root_raw") or person["root"]
            people.append(PersonInput(int(person["track_id"]), np.array(raw, dtype=np.float64),
                                      np.array(root, dtype=np.float64),
                                      np.array(person["keypoints_2d"], dtype=np.float64), camera))
        return people

    def inputs() -> Iterator[tuple[float, list[PersonInput]]]:
        header, frames = iter_frame_dicts(path)
        camera = camera_of(header["camera"])
        for frame in frames:
            yield float(frame["time"]), people_of(frame, camera)

    _, world, outputs = refine_tracks(inputs, config)

    def merged() -> Iterator[dict]:
        for frame, motion in zip(iter_frame_dicts(path)[1], outputs):
            people = []
            for person, out in zip(frame["people"], motion):
                raw = person.get("joints_3d_raw") or person["joints_3d"]
                root_raw = person.get("root_raw") or person["root"]
                people.append({**person, "joints_3d": _rounded(out.joints_3d, 1), "joints_3d_raw": raw,
                               "root": _rounded(out.root, 1), "root_raw": root_raw,
                               "world_root": None if out.world_root is None else _rounded(out.world_root, 1),
                               "contact": None if world is None else [bool(c) for c in out.contact]})
            yield {**frame, "people": people}

    return world, merged()


def read_series(path: str | os.PathLike) -> tuple[dict, dict[int, TrackSeries]]:
    """(header, {track_id: TrackSeries}) streamed from a final or partial file, float32 arrays.

    Poses with non-finite values are left out (null in the file); damaged lines of a partial file are
    skipped as read_tracks() does. Used to build BVH files at the end of a recording without holding
    frames in memory during it.
    """
    path = str(path)
    header, frames, _ = _read(path)
    # Flat float32 buffers per track: about 220 bytes per frame and track, no per-frame objects kept.
    indices: dict[int, array] = {}
    joints: dict[int, array] = {}
    for _, frame in frames:
        for track_id, pose in frame.people:
            absolute = (pose.joints_3d + pose.root[None, :]).astype(np.float32)
            if not np.isfinite(absolute).all():
                continue  # a pose with missing values counts as not seen (the BVH interpolates over it)
            indices.setdefault(track_id, array("q")).append(frame.index)
            joints.setdefault(track_id, array("f")).frombytes(absolute.tobytes())
    series = {
        tid: TrackSeries(tid, np.frombuffer(indices[tid], dtype=np.int64).copy(),
                         np.frombuffer(joints[tid], dtype=np.float32).reshape(-1, NUM_JOINTS, 3).copy())
        for tid in sorted(indices)
    }
    return header.raw, series
