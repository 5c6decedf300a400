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
                                               "joints_3d_raw", "root", "world_root", "contact"}]}]}
Units: bbox [x1, y1, x2, y2] and keypoints_2d [[x, y, conf] x17] in image pixels; joints_3d
[[x, y, z] x17] in millimetres, camera axes (x right, y down, z forward), root-relative (pelvis at
0): the joints fitted to the track's constant bone lengths (one set per track over the whole file),
feet in contact pinned (app.motion); joints_3d_raw: the network's joints, same units; root [x, y, z]
in millimetres, camera space; world_root [X, Y, Z] in millimetres, world frame (Y up, floor at Y=0,
origin on the floor below the camera, camera forward along -Z; app.motion.floor), null when no floor
is known; contact [right, left] booleans (foot on the floor), null when unknown; time in seconds from
the source's start. world: the floor plane in camera coordinates (height above the floor of a camera
point X = normal . X + offset_mm) and the camera pose it implies (X_world = rotation @ X_camera +
translation_mm).

When a recording closes, the motion layer runs again over the whole file (app.motion.layer.refine_tracks):
each track gets its final bones in every frame and every world position uses the one floor in "world",
so the final file is self-consistent; the `.partial` file keeps what was computed live.

Version 1 files (no world, joints_3d_raw, world_root, contact) are still read: joints_3d is then the
network's joints.

While recording, `NAME.json.partial` holds the same content as JSON Lines: line 1 is the header
(every field except "frames", plus "partial": true), then one frame object per line, flushed after
each frame. A crash or kill leaves that file; read_tracks() reads it (a half-written last line is
dropped), so every frame processed before the crash is kept.
"""

import json
import os
from array import array
from dataclasses import dataclass
from typing import Iterable, Iterator

import numpy as np

from model.skeleton import H36M, NUM_JOINTS, Skeleton
from model.atomic import atomic_open
from app.motion.floor import WorldFrame
from app.motion.layer import MotionConfig, PersonInput, refine_tracks
from app.types import CameraIntrinsics, FrameResult, PersonPose, SourceInfo, Track

FORMAT = "cascade3d-tracks"
VERSION = 2
PARTIAL_SUFFIX = ".partial"
HEADER_KEYS = ("format", "version", "source", "camera", "skeleton", "backend")
PERSON_KEYS = ("track_id", "bbox", "score", "keypoints_2d", "joints_3d", "root")  # required (version 1 on)


class TrackFileError(ValueError):
    """A track file cannot be read; str() is one line naming the file and the problem."""


@dataclass(frozen=True)
class RecordedFrame:
    """One frame read back from a track file: its index, time in seconds and the people seen in it."""

    index: int
    time_s: float
    tracks: tuple[Track, ...]


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
        "world_root": None if pose.world_root is None else _rounded(pose.world_root, 1),
        "contact": None if pose.contact is None else [bool(c) for c in pose.contact],
    }


def frame_dict(result: FrameResult) -> dict:
    """One frame's JSON object. Only people observed this frame are kept: a track the tracker only
    holds through a miss (missed > 0) repeats an old pose, which is not a measurement."""
    people = [person_dict(t) for t in result.tracks if t.missed == 0]
    return {"index": int(result.frame.index), "time": round(float(result.frame.time_s), 6), "people": people}


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
        self._file.write(json.dumps({**self.header, "partial": True}) + "\n")
        self._file.flush()

    def add(self, frame: dict) -> None:
        self._file.write(json.dumps(frame, separators=(",", ":")) + "\n")
        self._file.flush()
        self.frames_written += 1

    def close_partial(self) -> None:
        """Close the partial file without finishing (it stays readable)."""
        if not self._file.closed:
            self._file.close()

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
        with atomic_open(out_path) as out, open(self.partial_path, encoding="utf-8") as src:
            out.write(json.dumps(header)[:-1] + ',\n"frames": [')
            first = True
            lines = (_complete_lines(src, self.partial_path, skip_header=True) if frames is None
                     else (json.dumps(frame, separators=(",", ":")) for frame in frames))
            for line in lines:
                out.write(("\n" if first else ",\n") + line)
                first = False
            out.write("\n]}\n")
        if not keep_partial:
            os.remove(self.partial_path)
        return out_path


def _complete_lines(lines, path: str, skip_header: bool) -> Iterator[str]:
    """The complete lines of a JSON Lines file (without their newline).

    The writer ends every line with a newline in the same write, so only a last line without one
    can be half-written (crash); it is kept only if it parses.
    """
    for n, line in enumerate(lines):
        if skip_header and n == 0:
            continue
        if not line.endswith("\n"):
            try:
                json.loads(line)
            except json.JSONDecodeError:
                return
        line = line.rstrip("\n")
        if line:
            yield line


def iter_frame_dicts(path: str | os.PathLike) -> tuple[dict, Iterator[dict]]:
    """(header, frames) of a final or partial file; frames are streamed from a partial file."""
    path = str(path)
    header = _partial_header(path)
    if header is None:
        data = _load_final(path)
        frames = data.pop("frames")
        return data, iter(frames)

    def frames() -> Iterator[dict]:
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(_complete_lines(f, path, skip_header=True), start=2):
                try:
                    yield json.loads(line)
                except json.JSONDecodeError:
                    raise TrackFileError(f"{path}: line {n} is not valid JSON") from None

    return header, frames()


def _partial_header(path: str) -> dict | None:
    """The header of a JSON Lines partial file, or None when `path` is a final (single JSON) file."""
    try:
        with open(path, encoding="utf-8") as f:
            first = f.readline()
    except OSError as exc:
        raise TrackFileError(f"{path}: cannot open ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise TrackFileError(f"{path}: not a track file (not text)") from None
    try:
        header = json.loads(first)
    except json.JSONDecodeError:
        return None
    if isinstance(header, dict) and "frames" not in header and header.get("partial"):
        return header
    return None


def _load_final(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except json.JSONDecodeError as exc:
        raise TrackFileError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    except UnicodeDecodeError:
        raise TrackFileError(f"{path}: not a track file (not text)") from None
    if not isinstance(data, dict) or "frames" not in data:
        raise TrackFileError(f"{path}: not a track file (no 'frames')")
    return data


def _check_header(header: dict, path: str) -> None:
    missing = [k for k in HEADER_KEYS if k not in header]
    if missing:
        raise TrackFileError(f"{path}: not a track file (missing {', '.join(missing)})")
    if header["format"] != FORMAT:
        raise TrackFileError(f"{path}: format is '{header['format']}', expected '{FORMAT}'")
    if int(header["version"]) > VERSION:
        raise TrackFileError(f"{path}: version {header['version']} is newer than this reader ({VERSION})")


def _array(value, shape: tuple[int, ...], what: str, path: str) -> np.ndarray:
    array = np.array(value, dtype=np.float64)  # null -> nan
    if array.shape != shape:
        raise TrackFileError(f"{path}: {what} has shape {array.shape}, expected {shape}")
    return array


def _pose(person: dict, path: str, where: str) -> PersonPose:
    missing = [k for k in PERSON_KEYS if k not in person]
    if missing:
        raise TrackFileError(f"{path}: {where}: missing {', '.join(missing)}")
    optional = {}  # version 2: absent or null in version 1 files and where unknown
    if person.get("joints_3d_raw") is not None:
        optional["joints_3d_raw"] = _array(person["joints_3d_raw"], (NUM_JOINTS, 3), f"{where} joints_3d_raw", path)
    if person.get("world_root") is not None:
        optional["world_root"] = _array(person["world_root"], (3,), f"{where} world_root", path)
    if person.get("contact") is not None:
        contact = np.array(person["contact"], dtype=bool)
        if contact.shape != (2,):
            raise TrackFileError(f"{path}: {where} contact has shape {contact.shape}, expected (2,)")
        optional["contact"] = contact
    return PersonPose(
        _array(person["bbox"], (4,), f"{where} bbox", path),
        _array(person["keypoints_2d"], (NUM_JOINTS, 3), f"{where} keypoints_2d", path),
        _array(person["joints_3d"], (NUM_JOINTS, 3), f"{where} joints_3d", path),
        _array(person["root"], (3,), f"{where} root", path),
        float(person["score"]),
        **optional,
    )


def read_tracks(path: str | os.PathLike) -> TrackFile:
    """Read a final `.json` or a `.json.partial` file back into the project's types.

    Track.age is recomputed as frames since the track's first frame in the file; Track.smoothed is
    backend["smoothing"]. Raises TrackFileError (one line) for anything that is not a track file.
    """
    path = str(path)
    header, frames = iter_frame_dicts(path)
    _check_header(header, path)
    smoothed = bool(header["backend"].get("smoothing", False))
    first_seen: dict[int, int] = {}
    recorded = []
    for frame in frames:
        index = int(frame["index"])
        tracks = []
        for person in frame["people"]:
            pose = _pose(person, path, f"frame {index}")
            track_id = int(person["track_id"])
            first_seen.setdefault(track_id, index)
            tracks.append(Track(track_id, pose, index - first_seen[track_id], 0, smoothed))
        recorded.append(RecordedFrame(index, float(frame["time"]), tuple(tracks)))
    return TrackFile(
        source=SourceInfo.from_dict(header["source"]),
        camera=CameraIntrinsics(**{k: float(header["camera"][k]) for k in ("fx", "fy", "cx", "cy")}),
        skeleton=Skeleton.from_dict(header["skeleton"]),
        backend=dict(header["backend"]),
        frames=tuple(recorded),
        partial=bool(header.get("partial", False)),
        format=header["format"],
        version=int(header["version"]),
        world=world_from_header(header, path),
    )


def world_from_header(header: dict, path: str = "") -> WorldFrame | None:
    """The header's world block as a WorldFrame; None in version 1 files, partial files and where no floor was found."""
    block = header.get("world")
    if block is None:
        return None
    try:
        return WorldFrame.from_dict(block)
    except (KeyError, TypeError, ValueError, AttributeError, AssertionError, IndexError, OverflowError,
            np.linalg.LinAlgError):
        raise TrackFileError(f"{path}: field 'world' is malformed") from None


def refined_frames(path: str | os.PathLike, config: MotionConfig = MotionConfig()) -> tuple[WorldFrame | None, Iterator[dict]]:
    """(the clip's floor, the file's frame objects refined by the motion layer's two passes).

    Reads `path` (final or partial) three times, streaming: memory stays flat. Each person's input is its
    joints_3d_raw (joints_3d in version 1 files), root and keypoints_2d; joints_3d, world_root and contact
    are replaced by app.motion.layer.refine_tracks' output.
    """
    path = str(path)

    def people_of(frame: dict) -> list[PersonInput]:
        people = []
        for person in frame["people"]:
            raw = person.get("joints_3d_raw") or person["joints_3d"]
            people.append(PersonInput(int(person["track_id"]), np.array(raw, dtype=np.float64),
                                      np.array(person["root"], dtype=np.float64),
                                      np.array(person["keypoints_2d"], dtype=np.float64)))
        return people

    def inputs() -> Iterator[tuple[float, list[PersonInput]]]:
        for frame in iter_frame_dicts(path)[1]:
            yield float(frame["time"]), people_of(frame)

    _, world, outputs = refine_tracks(inputs, config)

    def merged() -> Iterator[dict]:
        for frame, motion in zip(iter_frame_dicts(path)[1], outputs):
            people = []
            for person, out in zip(frame["people"], motion):
                raw = person.get("joints_3d_raw") or person["joints_3d"]
                people.append({**person, "joints_3d": _rounded(out.joints_3d, 1), "joints_3d_raw": raw,
                               "world_root": None if out.world_root is None else _rounded(out.world_root, 1),
                               "contact": None if world is None else [bool(c) for c in out.contact]})
            yield {**frame, "people": people}

    return world, merged()


def read_series(path: str | os.PathLike) -> tuple[dict, dict[int, TrackSeries]]:
    """(header, {track_id: TrackSeries}) streamed from a final or partial file, float32 arrays.

    Poses with non-finite values are left out (null in the file).

    Used to build BVH files at the end of a recording without holding frames in memory during it.
    """
    path = str(path)
    header, frames = iter_frame_dicts(path)
    _check_header(header, path)
    # Flat float32 buffers per track: about 220 bytes per frame and track, no per-frame objects.
    indices: dict[int, array] = {}
    joints: dict[int, array] = {}
    for frame in frames:
        for person in frame["people"]:
            track_id = int(person["track_id"])
            absolute = (np.array(person["joints_3d"], dtype=np.float32)
                        + np.array(person["root"], dtype=np.float32)[None, :])
            if absolute.shape != (NUM_JOINTS, 3) or not np.isfinite(absolute).all():
                continue  # a pose with missing values counts as not seen (the BVH interpolates over it)
            indices.setdefault(track_id, array("q")).append(int(frame["index"]))
            joints.setdefault(track_id, array("f")).frombytes(absolute.tobytes())
    series = {
        tid: TrackSeries(tid, np.frombuffer(indices[tid], dtype=np.int64).copy(),
                         np.frombuffer(joints[tid], dtype=np.float32).reshape(-1, NUM_JOINTS, 3).copy())
        for tid in sorted(indices)
    }
    return header, series
