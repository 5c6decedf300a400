"""CSV track export: one row per frame and observed person, written row by row and finished atomically.

Columns: frame, time (s), track_id, bbox_x1, bbox_y1, bbox_x2, bbox_y2 (px), score, then for each of the
17 joints (Human3.6M order) NAME_x2d, NAME_y2d (px), NAME_conf, NAME_x3d, NAME_y3d, NAME_z3d (mm, camera
axes, root-relative; the joints fitted to the track's constant bones, as the JSON's joints_3d), then root_x,
root_y, root_z (mm, camera space), world_root_x, world_root_y, world_root_z (mm, world frame: Y up, floor at
Y=0; empty while no floor is known), r_foot_contact, l_foot_contact (1 = on the floor, 0 = not, empty = unknown).

While recording, rows come from the live results; when the recording closes, the final file is written again
from the refined frames of the JSON (app.formats.tracks_json.refined_frames), so both files carry the same
numbers.
"""

import csv
import os
from typing import Iterable

import numpy as np

from model.net.skeleton import JOINT_NAMES
from app.types import FrameResult
from model.atomic import atomic_path

PARTIAL_SUFFIX = ".partial"


def csv_columns() -> list[str]:
    columns = ["frame", "time", "track_id", "bbox_x1", "bbox_y1", "bbox_x2", "bbox_y2", "score"]
    for name in JOINT_NAMES:
        columns += [f"{name}_{c}" for c in ("x2d", "y2d", "conf", "x3d", "y3d", "z3d")]
    return columns + ["root_x", "root_y", "root_z", "world_root_x", "world_root_y", "world_root_z",
                      "r_foot_contact", "l_foot_contact"]


CSV_COLUMNS: tuple[str, ...] = tuple(csv_columns())


# Decimals per joint column: x2d, y2d (px), conf, x3d, y3d, z3d (mm).
_JOINT_FORMATS = ("%.2f", "%.2f", "%.3f", "%.1f", "%.1f", "%.1f")


def _fmt(values: np.ndarray, decimals: int) -> list[str]:
    pattern = f"%.{decimals}f"
    return [pattern % v for v in np.asarray(values, dtype=np.float64).ravel().tolist()]


def _row(index: int, time_s: float, track_id: int, box, score: float, keypoints_2d, joints_3d, root,
         world_root, contact) -> list[str]:
    per_joint = np.concatenate([np.asarray(keypoints_2d, dtype=np.float64),
                                np.asarray(joints_3d, dtype=np.float64)], axis=1)  # (17, 6)
    row = [str(index), f"{time_s:.6f}", str(track_id), *_fmt(box, 1), f"{score:.4f}"]
    row += [fmt % v for joint in per_joint.tolist() for fmt, v in zip(_JOINT_FORMATS, joint)]
    row += _fmt(root, 1)
    row += ["", "", ""] if world_root is None else _fmt(world_root, 1)
    row += ["", ""] if contact is None else [str(int(bool(c))) for c in contact]
    return row


def write_csv(path: str | os.PathLike, frames: Iterable[dict]) -> str:
    """Write a final CSV atomically from JSON frame objects (app.formats.tracks_json); returns the path."""
    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(CSV_COLUMNS)
        for frame in frames:
            for p in frame["people"]:
                arrays = [np.array(p[k], dtype=np.float64) for k in ("bbox", "keypoints_2d", "joints_3d", "root")]
                world_root = p.get("world_root")
                writer.writerow(_row(int(frame["index"]), float(frame["time"]), int(p["track_id"]), arrays[0],
                                     float(p["score"]), arrays[1], arrays[2], arrays[3],
                                     None if world_root is None else np.array(world_root, dtype=np.float64),
                                     p.get("contact")))
    return str(path)


class CsvTrackWriter:
    """Appends rows to `path + '.partial'` (flushed per frame); finish() renames it to `path` (os.replace)."""

    def __init__(self, path: str | os.PathLike):
        self.path = str(path)
        self.partial_path = self.path + PARTIAL_SUFFIX
        self.rows_written = 0
        self._file = open(self.partial_path, "w", newline="", encoding="utf-8")
        self._writer = csv.writer(self._file)
        try:
            self._writer.writerow(CSV_COLUMNS)
            self._file.flush()
        except BaseException:
            self.close_partial(quiet=True)
            raise

    def add(self, result: FrameResult) -> None:
        """One row per track observed in this frame (held tracks, missed > 0, are not measurements)."""
        frame = result.frame
        for track in result.tracks:
            if track.missed:
                continue
            pose = track.pose
            self._writer.writerow(_row(frame.index, frame.time_s, track.track_id, pose.box_xyxy, pose.score,
                                       pose.keypoints_2d, pose.joints_3d, pose.root, pose.world_root, pose.contact))
            self.rows_written += 1
        self._file.flush()

    def close_partial(self, quiet: bool = False) -> None:
        """Close the partial file; quiet: after a write error, close without raising when the flush fails again."""
        if not self._file.closed:
            try:
                self._file.close()
            except OSError:
                if not quiet:
                    raise

    def discard(self) -> None:
        """Close and remove the partial file (the final file was written from elsewhere: write_csv)."""
        self.close_partial()
        if os.path.exists(self.partial_path):
            os.remove(self.partial_path)

    def finish(self) -> str:
        self.close_partial()
        with open(self.partial_path, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(self.partial_path, self.path)
        return self.path
