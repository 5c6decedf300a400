"""CSV track export: one row per frame and observed person, written row by row and finished atomically.

Columns: frame, time (s), track_id, bbox_x1, bbox_y1, bbox_x2, bbox_y2 (px), score, then for each of the
17 joints (Human3.6M order) NAME_x2d, NAME_y2d (px), NAME_conf, NAME_x3d, NAME_y3d, NAME_z3d (mm, camera
axes, root-relative), then root_x, root_y, root_z (mm, camera space).
"""

import csv
import os

import numpy as np

from model.skeleton import JOINT_NAMES
from app.types import FrameResult

PARTIAL_SUFFIX = ".partial"


def csv_columns() -> list[str]:
    columns = ["frame", "time", "track_id", "bbox_x1", "bbox_y1", "bbox_x2", "bbox_y2", "score"]
    for name in JOINT_NAMES:
        columns += [f"{name}_{c}" for c in ("x2d", "y2d", "conf", "x3d", "y3d", "z3d")]
    return columns + ["root_x", "root_y", "root_z"]


CSV_COLUMNS: tuple[str, ...] = tuple(csv_columns())


# Decimals per joint column: x2d, y2d (px), conf, x3d, y3d, z3d (mm).
_JOINT_FORMATS = ("%.2f", "%.2f", "%.3f", "%.1f", "%.1f", "%.1f")


def _fmt(values: np.ndarray, decimals: int) -> list[str]:
    pattern = f"%.{decimals}f"
    return [pattern % v for v in np.asarray(values, dtype=np.float64).ravel().tolist()]


class CsvTrackWriter:
    """Appends rows to `path + '.partial'` (flushed per frame); finish() renames it to `path` (os.replace)."""

    def __init__(self, path: str | os.PathLike):
        self.path = str(path)
        self.partial_path = self.path + PARTIAL_SUFFIX
        self.rows_written = 0
        self._file = open(self.partial_path, "w", newline="", encoding="utf-8")
        self._writer = csv.writer(self._file)
        self._writer.writerow(CSV_COLUMNS)

    def add(self, result: FrameResult) -> None:
        """One row per track observed in this frame (held tracks, missed > 0, are not measurements)."""
        frame = result.frame
        for track in result.tracks:
            if track.missed:
                continue
            pose = track.pose
            per_joint = np.concatenate([pose.keypoints_2d, pose.joints_3d], axis=1)  # (17, 6)
            row = [str(frame.index), f"{frame.time_s:.6f}", str(track.track_id), *_fmt(pose.box_xyxy, 1),
                   f"{pose.score:.4f}"]
            row += [fmt % v for joint in per_joint.tolist() for fmt, v in zip(_JOINT_FORMATS, joint)]
            row += _fmt(pose.root, 1)
            self._writer.writerow(row)
            self.rows_written += 1
        self._file.flush()

    def close_partial(self) -> None:
        if not self._file.closed:
            self._file.close()

    def finish(self) -> str:
        self.close_partial()
        with open(self.partial_path, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(self.partial_path, self.path)
        return self.path
