"""TrackRecorder: FrameResults in, JSON / BVH / CSV / preview / angle files out (`main.py process`, the GUI's Record button).

RecordingSink feeds a recorder from the live pipeline's thread and finishes it in the background.

Crash safety: every frame is appended to NAME.json.partial (JSON Lines) and NAME.csv.partial and
flushed at once, so a crash or kill keeps every frame processed so far (app.formats.tracks_json reads the
partial file). close() then writes the final files atomically (tmp + os.replace) and removes the
partial ones. Memory stays flat while recording: nothing but the open files is held. At close() the
motion layer runs twice more over the partial file (app.formats.tracks_json.refined_frames: every track's
final bones in all its frames, one floor for the clip), the final JSON and CSV are written from that,
and the BVH files are solved from the final JSON (float32 arrays, about 220 bytes per frame and track,
solved and written in chunks of frames), in the floor's world frame unless bvh_frame="camera". The preview
video (app.formats.preview) is drawn and encoded frame by frame as frames are added; the joint angles and
their plots (app.formats.angles) are made from the final JSON. docs/formats.md describes every file.
"""

import csv
import glob
import contextlib
import os
import re
import threading
from pathlib import Path
from typing import Callable

from app.formats.angles import angles_read_back, load_plotting_in_background, write_angles
from app.formats.bvh import write_track_bvh
from app.formats.gltf import write_track_glb
from app.formats.preview import PreviewWriter
from app.formats.tracks_csv import CSV_COLUMNS, CsvTrackWriter, write_csv
from app.formats.tracks_json import (JsonTrackWriter, TrackFileError, frame_dict, header_dict, iter_frame_dicts,
                                     read_series, read_source_path, refined_frames, world_from_header)
from app.types import CameraIntrinsics, FrameResult, SourceInfo
from model.errors import one_line

FORMATS = ("json", "bvh", "csv", "preview", "angles", "glb")
# Written unless the formats are chosen: glb (a skinned body per track, app.formats.gltf) costs about 1.5 MB per
# track and a body fit, so it is asked for by name.
DEFAULT_FORMATS = ("json", "bvh", "csv", "preview", "angles")
BVH_FRAMES = ("world", "camera")


# Longest file stem: NAME.track123456.bvh, NAME.json.partial and the atomic writer's temporary names must
# stay under the 255 bytes most file systems allow in a name.
MAX_STEM = 200


class RecordingError(OSError):
    """Writing a recording failed (full disk, no permission, name too long); str() is one line naming the
    file, the problem and which frames are safe."""


def safe_name(text: str) -> str:
    """A file-name-safe stem of at most MAX_STEM characters: letters, digits, '-', '_' and '.' kept, anything
    else '_'."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("._")[:MAX_STEM].strip("._") or "recording"


def _problem(error: OSError) -> str:
    """'no space left on device' from an OSError, without the errno and path Python adds."""
    text = error.strerror or one_line(error)
    return text[:1].lower() + text[1:]


class TrackRecorder:
    """Records FrameResults of one source into out_dir/NAME.json, NAME.trackID.bvh (one per track), NAME.csv.

    source_info: SourceInfo of the input (fps sets the BVH frame time). camera: intrinsics written in
    the header; None = taken from the first FrameResult. formats: any of FORMATS.
    backend_info: the "backend" header object; None = {"name", "device"} of the first FrameResult.
    name: file stem; None = the source file's stem. Files of the same name from an earlier recording
    (NAME.json, NAME.csv, every NAME.trackN.bvh, the preview, angles and plots, their .partial and temporary
    files) are removed when the first frame
    is written, so a rerun replaces them completely. A failed write raises RecordingError: the files are
    closed and the partial JSON Lines file keeps every frame written before the failure.
    bvh_frame: "world" (Y up, floor at 0; camera frame where no floor was found) or "camera".
    Not thread-safe: call add() and close() from one thread.
    """

    def __init__(self, out_dir: str | os.PathLike, source_info: SourceInfo, camera: CameraIntrinsics | None = None,
                 formats=DEFAULT_FORMATS, backend_info: dict | None = None, name: str | None = None,
                 bvh_frame: str = "world"):
        unknown = set(formats) - set(FORMATS)
        if unknown or not formats:
            raise ValueError(f"unknown output format(s) {sorted(unknown)}; choose from {', '.join(FORMATS)}")
        if bvh_frame not in BVH_FRAMES:
            raise ValueError(f"unknown BVH frame '{bvh_frame}'; choose from {', '.join(BVH_FRAMES)}")
        self.bvh_frame = bvh_frame
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.source_info = source_info
        self.camera = camera
        self.formats = tuple(formats)
        self.backend_info = backend_info
        self.name = safe_name(name or Path(source_info.path).stem or "recording")
        self.frames_recorded = 0
        self.track_ids: set[int] = set()
        self._json: JsonTrackWriter | None = None
        self._csv: CsvTrackWriter | None = None
        fps = source_info.fps if source_info.fps > 0 else 30.0
        self._preview = PreviewWriter(self.out_dir, self.name, fps) if "preview" in self.formats else None
        if "angles" in self.formats:
            load_plotting_in_background()  # ready by close(), which plots
        self._closed = False
        self._last_index = -1
        self._header_camera: CameraIntrinsics | None = None
        self._safe_index = -1  # the last frame index written whole to the partial JSON file
        self.paths: list[str] = []

    @property
    def json_path(self) -> Path:
        return self.out_dir / f"{self.name}.json"

    @property
    def partial_path(self) -> str:
        """The crash-safe JSON Lines file being written (exists between the first add() and close())."""
        return str(self.json_path) + ".partial"

    def bvh_path(self, track_id: int) -> Path:
        return self.out_dir / f"{self.name}.track{track_id}.bvh"

    def earlier_files(self) -> list[Path]:
        """Files of this name left in out_dir by an earlier recording (or a crashed one)."""
        name = re.escape(self.name)
        pattern = re.compile(rf"{name}\.(json|csv|glb|track\d+\.bvh)(\.partial)?|\.{name}\.refined\.json"
                             rf"|{name}\.(preview\.mp4|angles\.csv|track\d+\.angles\.png)|\.{name}\.preview\.tmp\.mp4"
                             rf"|\.{name}\.(angles\.csv|track\d+\.angles\.png)\.[a-z0-9_]+\.tmp"
                             rf"|\.{name}\.(json|glb|track\d+\.bvh|refined\.json)\.[a-z0-9_]+\.tmp")
        try:
            return sorted(p for p in self.out_dir.iterdir() if pattern.fullmatch(p.name))
        except OSError:
            return []

    def _open(self, result: FrameResult | None) -> None:
        camera = self.camera or (result.camera if result is not None else None)
        if camera is None:
            return
        backend = self.backend_info
        if backend is None:
            backend = {"name": result.backend, "device": result.device} if result is not None else {}
        with self._writing(self.partial_path):
            for path in self.earlier_files():
                path.unlink()
            # The JSON Lines file is always written: it is the crash-safe store the BVH files are solved from.
            self._json = JsonTrackWriter(self.json_path, header_dict(self.source_info, camera, backend))
        self._header_camera = camera
        if "csv" in self.formats:
            csv_path = self.out_dir / f"{self.name}.csv"
            with self._writing(str(csv_path) + ".partial"):
                self._csv = CsvTrackWriter(csv_path)

    @contextlib.contextmanager
    def _writing(self, path: str, finishing: bool = False):
        """Turns an OSError while writing `path` into a RecordingError saying which frames are safe."""
        try:
            yield
        except OSError as error:
            if isinstance(error, RecordingError):
                raise
            self._abort()
            frames = self._json.frames_written if self._json is not None else 0
            if frames == 0:
                kept = "nothing of this input was written"
            elif finishing:
                kept = f"all {frames} frames are safe in {self.partial_path} (read_tracks reads it)"
            else:
                kept = (f"the first {frames} frames (up to frame {self._safe_index}) are safe in "
                        f"{self.partial_path} (read_tracks reads it)")
            raise RecordingError(f"{error.filename or path}: {_problem(error)}; {kept}") from None

    def _abort(self) -> None:
        """After a failed write: close the files without finishing them; partial files holding no frame go."""
        self._closed = True
        for writer in (self._json, self._csv):
            if writer is not None:
                writer.close_partial(quiet=True)
        if self._preview is not None:
            self._preview.discard()
        if self._json is None or self._json.frames_written == 0:
            for path in (self.partial_path, str(self.out_dir / f"{self.name}.csv.partial")):
                with contextlib.suppress(OSError):
                    os.remove(path)

    def add(self, result: FrameResult) -> None:
        """Append one frame (all people observed in it); written to disk before returning.

        Raises RecordingError when the disk refuses it (the recorder is then closed)."""
        if self._closed:
            raise RuntimeError("recorder is closed")
        if result.frame.index <= self._last_index:
            raise ValueError(f"frame index {result.frame.index} after {self._last_index}: start a new recording "
                             "for a new source")
        self._last_index = result.frame.index
        if self._json is None:
            self._open(result)
        with self._writing(self.partial_path):
            self._json.add(frame_dict(result, self._header_camera))
        self._safe_index = result.frame.index
        if self._csv is not None:
            with self._writing(self._csv.partial_path):
                self._csv.add(result)
        if self._preview is not None:
            with self._writing(str(self._preview.temporary)):
                self._preview.add(result.frame.image, result.tracks)
        self.frames_recorded += 1
        self.track_ids.update(t.track_id for t in result.tracks if t.missed == 0)

    def close(self) -> list[str]:
        """Finish: final JSON, one BVH per track, CSV; returns the paths written. Safe to call twice."""
        if self._closed:
            return list(self.paths)
        if self._json is None:
            self._open(None)  # nothing recorded: still write an empty file when the camera is known
        self._closed = True
        if self._json is None:
            return []
        with self._writing(str(self.json_path), finishing=True):
            return self._finish()

    def _finish(self) -> list[str]:
        """close()'s work: the refined final JSON, the BVH and CSV files from it."""
        self._json.close_partial()
        paths = []
        world, frames = refined_frames(self._json.partial_path)
        # Without "json" among the formats the refined file is still the source of the BVH and CSV files.
        final = self.json_path if "json" in self.formats else self.out_dir / f".{self.name}.refined.json"
        self._json.finish(source_frames=self.source_info.frames or self.frames_recorded, frames=frames,
                          world=world, out_path=final)
        if "json" in self.formats:
            paths.append(str(final))
        if "bvh" in self.formats:
            header, series = read_series(final)
            bvh_world = world_from_header(header, str(final)) if self.bvh_frame == "world" else None
            fps = self.source_info.fps if self.source_info.fps > 0 else 30.0
            for track_id, track in series.items():
                paths.append(write_track_bvh(self.bvh_path(track_id), track.frame_indices, track.joints_camera, fps,
                                             world=bvh_world))
        if "glb" in self.formats:
            paths.append(write_track_glb(self.out_dir / f"{self.name}.glb", final))
        if self._csv is not None:
            paths.append(write_csv(self._csv.path, iter_frame_dicts(final)[1]))
            self._csv.discard()
        if self._preview is not None and (preview := self._preview.finish()):
            paths.append(preview)
        if "angles" in self.formats:
            paths += write_angles(self.out_dir, self.name, final)
        if "json" not in self.formats:
            os.remove(final)
        self.paths = paths
        return list(paths)


def same_source(recorded: str, path: str) -> bool:
    """True when a track file's recorded source path and `path` name the same file (relative paths from here)."""
    return os.path.realpath(recorded) == os.path.realpath(path)


def recorded_source(out_dir: str | os.PathLike, name: str) -> str | None:
    """The source the track file of recording NAME in out_dir names (its final NAME.json, else NAME.json.partial),
    so that a caller never takes another input's files for this one's (`main.py process` picks file names with
    it). None when there is neither or it does not say: a file whose header cannot be read holds nothing
    read_tracks could recover, and recordings without JSON leave no record of their source."""
    for path in (Path(out_dir) / f"{name}.json", Path(out_dir) / f"{name}.json.partial"):
        if path.exists():
            try:
                return read_source_path(path)
            except TrackFileError:
                return None
    return None


def recording_finished(out_dir: str | os.PathLike, name: str, formats=DEFAULT_FORMATS, source: str | None = None) -> bool:
    """True when out_dir holds the finished files of recording NAME for `formats` and they read back
    (`main.py process --skip-done`): no `.partial` file left; NAME.json a final track file that read_tracks
    accepts (header, world block, every frame) and, given `source`, names that source; NAME.csv its header and
    whole rows; one NAME.trackID.bvh per track of the JSON (without JSON: those found), each with as many
    motion lines as its header announces, of as many values as it has channels."""
    out = Path(out_dir)
    if any(out.glob(f"{glob.escape(name)}.*.partial")):
        return False  # a recording of this name was cut short (crash, kill)
    try:
        track_ids = None
        if "json" in formats:
            header, series = read_series(out / f"{name}.json")  # every frame parsed, header and world checked
            if header.get("partial"):
                return False
            if source is not None and not same_source(header["source"]["path"], source):
                return False  # another input's files under the same name
            track_ids = series.keys()
        if "csv" in formats and not _csv_reads_back(out / f"{name}.csv"):
            return False
        if "glb" in formats and not _glb_reads_back(out / f"{name}.glb"):
            return False
        if "preview" in formats and not (out / f"{name}.preview.mp4").is_file():
            return False  # renamed into place only when finished
        if "angles" in formats and not angles_read_back(out / f"{name}.angles.csv"):
            return False
        if "bvh" in formats:
            paths = ([out / f"{name}.track{t}.bvh" for t in track_ids] if track_ids is not None
                     else sorted(out.glob(f"{glob.escape(name)}.track*.bvh")))
            return all(_bvh_reads_back(p) for p in paths)
    except (OSError, ValueError, UnicodeDecodeError):  # missing or unreadable: not finished
        return False
    return True


def _glb_reads_back(path: Path) -> bool:
    """A whole GLB container: its magic, version 2 and the length its header gives."""
    with open(path, "rb") as f:
        header = f.read(12)
    return len(header) == 12 and header[:4] == b"glTF" and int.from_bytes(header[4:8], "little") == 2 \
        and int.from_bytes(header[8:12], "little") == path.stat().st_size


def _csv_reads_back(path: Path) -> bool:
    with open(path, newline="", encoding="utf-8") as f:
        rows = csv.reader(f)
        if tuple(next(rows, ())) != CSV_COLUMNS:
            return False
        return all(len(row) == len(CSV_COLUMNS) for row in rows)


def _bvh_reads_back(path: Path) -> bool:
    lines = path.read_text(encoding="ascii").splitlines()
    if not lines or lines[0] != "HIERARCHY" or "MOTION" not in lines:
        return False
    channels = sum(int(line.split()[1]) for line in lines if line.strip().startswith("CHANNELS"))
    motion = lines.index("MOTION")
    frames = int(lines[motion + 1].split(":")[1])
    values = lines[motion + 3:]
    return len(values) == frames and all(len(v.split()) == channels for v in values)


def new_folder_name(path: str) -> str:
    """path, or path-2, path-3, ... whichever does not exist yet (two recordings in one second)."""
    candidate, n = path, 1
    while os.path.exists(candidate):
        n += 1
        candidate = f"{path}-{n}"
    return candidate


class RecordingSink:
    """Feeds every live result (not only the drawn ones) to a TrackRecorder, and finishes recorders in the background.

    __call__ runs on the inference thread, start()/finish() on the GUI thread; the lock makes sure the
    recorder is never used by both at once. Closing a recorder writes the final JSON and a BVH per track
    (tens of seconds after a long session), so finish() does it on its own thread and wait() joins them.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._recorder: TrackRecorder | None = None
        self._closers: list[threading.Thread] = []
        self.error: str | None = None  # set when writing failed; the front end reports it and stops

    @property
    def active(self) -> bool:
        return self._recorder is not None

    @property
    def frames(self) -> int:
        """Frames the current recording holds so far (0 when none is running)."""
        with self._lock:
            return self._recorder.frames_recorded if self._recorder is not None else 0

    def start(self, recorder: TrackRecorder) -> None:
        with self._lock:
            self._recorder, self.error = recorder, None

    def __call__(self, result: FrameResult) -> None:
        with self._lock:
            if self._recorder is None or self.error is not None:
                return
            try:
                self._recorder.add(result)
            except Exception as exc:  # a full disk must not stop the live pipeline
                self.error = f"recording failed: {one_line(exc)}"

    def finish(self, on_done: Callable[[str, bool], None]) -> TrackRecorder | None:
        """Stop feeding the recorder and close it on a background thread; on_done(message, failed) is
        called from that thread. Returns the recorder being finished (None if none was recording)."""
        with self._lock:
            recorder, self._recorder = self._recorder, None
        if recorder is None:
            return None

        def close() -> None:
            try:
                paths = recorder.close()
                message, failed = (f"recorded: {', '.join(paths)}" if paths else "nothing recorded"), False
            except Exception as exc:  # a failed write must not take the app down
                message, failed = f"recording failed: {one_line(exc)}", True
            on_done(message, failed)

        closer = threading.Thread(target=close, name="recording-close")
        self._closers = [t for t in self._closers if t.is_alive()] + [closer]
        closer.start()
        return recorder

    def wait(self) -> None:
        """Blocks until every recording being finished is written (the app must not quit before)."""
        for closer in self._closers:
            closer.join()
        self._closers = []
