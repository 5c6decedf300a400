"""TrackRecorder: FrameResults in, JSON / BVH / CSV motion files out (`main.py process`, the GUI's Record button).

RecordingSink feeds a recorder from the live pipeline's thread and finishes it in the background.

Crash safety: every frame is appended to NAME.json.partial (JSON Lines) and NAME.csv.partial and
flushed at once, so a crash or kill keeps every frame processed so far (app.formats.tracks_json reads the
partial file). close() then writes the final files atomically (tmp + os.replace) and removes the
partial ones. Memory stays flat while recording: nothing but the open files is held. At close() the
motion layer runs twice more over the partial file (app.formats.tracks_json.refined_frames: every track's
final bones in all its frames, one floor for the clip), the final JSON and CSV are written from that,
and the BVH files are solved from the final JSON (float32 arrays, about 220 bytes per frame and track,
solved and written in chunks of frames), in the floor's world frame unless bvh_frame="camera".
"""

import os
import re
import threading
from pathlib import Path
from typing import Callable

from app.formats.bvh import write_track_bvh
from app.formats.tracks_csv import CsvTrackWriter, write_csv
from app.formats.tracks_json import (JsonTrackWriter, frame_dict, header_dict, iter_frame_dicts, read_series,
                                     refined_frames, world_from_header)
from app.types import CameraIntrinsics, FrameResult, SourceInfo
from model.errors import one_line

FORMATS = ("json", "bvh", "csv")
BVH_FRAMES = ("world", "camera")


def safe_name(text: str) -> str:
    """A file-name-safe stem: letters, digits, '-', '_' and '.' kept, anything else '_'."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("._") or "recording"


class TrackRecorder:
    """Records FrameResults of one source into out_dir/NAME.json, NAME.trackID.bvh (one per track), NAME.csv.

    source_info: SourceInfo of the input (fps sets the BVH frame time). camera: intrinsics written in
    the header; None = taken from the first FrameResult. formats: any of "json", "bvh", "csv".
    backend_info: the "backend" header object; None = {"name", "device"} of the first FrameResult.
    name: file stem; None = the source file's stem. Existing files of the same name are replaced.
    bvh_frame: "world" (Y up, floor at 0; camera frame where no floor was found) or "camera".
    Not thread-safe: call add() and close() from one thread.
    """

    def __init__(self, out_dir: str | os.PathLike, source_info: SourceInfo, camera: CameraIntrinsics | None = None,
                 formats=FORMATS, backend_info: dict | None = None, name: str | None = None,
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
        self._closed = False
        self._last_index = -1
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

    def _open(self, result: FrameResult | None) -> None:
        camera = self.camera or (result.camera if result is not None else None)
        if camera is None:
            return
        backend = self.backend_info
        if backend is None:
            backend = {"name": result.backend, "device": result.device} if result is not None else {}
        # The JSON Lines file is always written: it is the crash-safe store the BVH files are solved from.
        self._json = JsonTrackWriter(self.json_path, header_dict(self.source_info, camera, backend))
        if "csv" in self.formats:
            self._csv = CsvTrackWriter(self.out_dir / f"{self.name}.csv")

    def add(self, result: FrameResult) -> None:
        """Append one frame (all people observed in it); written to disk before returning."""
        if self._closed:
            raise RuntimeError("recorder is closed")
        if result.frame.index <= self._last_index:
            raise ValueError(f"frame index {result.frame.index} after {self._last_index}: start a new recording "
                             "for a new source")
        self._last_index = result.frame.index
        if self._json is None:
            self._open(result)
        self._json.add(frame_dict(result))
        if self._csv is not None:
            self._csv.add(result)
        self.frames_recorded += 1
        self.track_ids.update(t.track_id for t in result.tracks if t.missed == 0)

    def close(self) -> list[str]:
        """Finish: final JSON, one BVH per track, CSV; returns the paths written. Safe to call twice."""
        if self._closed:
            return list(self.paths)
        self._closed = True
        if self._json is None:
            self._open(None)  # nothing recorded: still write an empty file when the camera is known
        if self._json is None:
            return []
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
        if self._csv is not None:
            paths.append(write_csv(self._csv.path, iter_frame_dicts(final)[1]))
            self._csv.discard()
        if "json" not in self.formats:
            os.remove(final)
        self.paths = paths
        return list(paths)



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
