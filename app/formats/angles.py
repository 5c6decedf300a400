"""Joint angles per track: NAME.angles.csv (one row per track and frame) and one plot per track, NAME.trackN.angles.png.

Both are made at the end of a recording from its final track file (the fitted joints, `joints_3d`), with
the angles of app.motion.angles (the one place they are defined; docs/formats.md, "Joint angles"), in
degrees. The trunk angle is measured against the floor's up direction where the file has a floor (its
world frame), else against the camera's up; every other angle is between two body segments.

CSV: comma-separated, a header row, then one row per track and frame in which the track was seen, in the
file's order (frames ascending, tracks in the frame's order): frame (the source's 0-based frame index),
time (seconds from the source's start), track_id, then ANGLE_NAMES as NAME_deg, one decimal (the first three
as in NAME.csv, app.formats.tracks_csv, so that the two join on frame and track_id);
an angle that cannot be measured (a joint missing) is an empty field.
Plot (matplotlib, drawn off screen with the Agg canvas, no pyplot state): three panels over time: legs
(knees, hips), arms (elbows, shoulders), trunk and neck; right side solid, left dashed.
Both are written atomically (model.atomic).
"""

import csv
import importlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.colors import track_color
from app.formats.tracks_json import iter_frame_dicts, world_from_header
from app.motion.angles import ANGLE_NAMES, CAMERA_UP, WORLD_UP, joint_angles
from model.atomic import atomic_open, atomic_path

ANGLE_COLUMNS: tuple[str, ...] = ("frame", "time", "track_id") + tuple(f"{name}_deg" for name in ANGLE_NAMES)
# The plot's panels: title -> angles drawn in it.
PANELS = (("legs", ("r_knee", "l_knee", "r_hip", "l_hip")),
          ("arms", ("r_elbow", "l_elbow", "r_shoulder", "l_shoulder")),
          ("trunk and neck", ("trunk", "neck")))
PLOT_SIZE_IN, PLOT_DPI = (8.0, 7.0), 100  # 800 x 700 pixels
MARGINS = {"left": 0.09, "right": 0.84, "top": 0.93, "bottom": 0.07, "hspace": 0.12}


def load_plotting_in_background() -> threading.Thread:
    """Import matplotlib's Agg canvas on a daemon thread while the frames are processed (about 0.5-1 s of
    imports that `process` would otherwise wait for at the end; the frame loop runs mostly in native code)."""
    thread = threading.Thread(target=importlib.import_module, args=("matplotlib.backends.backend_agg",),
                              name="load-matplotlib", daemon=True)
    thread.start()
    return thread


@dataclass(frozen=True, eq=False)
class TrackAngles:
    """One track's angles: frame_indices (N,) int, times_s (N,) s, degrees (N, len(ANGLE_NAMES)) in ANGLE_NAMES order."""

    track_id: int
    frame_indices: np.ndarray
    times_s: np.ndarray
    degrees: np.ndarray


def angles_path(out_dir: str | os.PathLike, name: str) -> Path:
    return Path(out_dir) / f"{name}.angles.csv"


def plot_path(out_dir: str | os.PathLike, name: str, track_id: int) -> Path:
    return Path(out_dir) / f"{name}.track{track_id}.angles.png"


def _rows(track_file: str | os.PathLike):
    """(frame, time s, track_id, degrees (len(ANGLE_NAMES),)) per seen person of a final track file, in file order."""
    header, frames = iter_frame_dicts(track_file)
    world = world_from_header(header, str(track_file))
    up = CAMERA_UP if world is None else WORLD_UP
    for frame in frames:
        for person in frame["people"]:
            joints = np.array(person["joints_3d"], dtype=np.float64)  # null (non-finite) -> NaN
            if world is not None:
                joints = world.directions_to_world(joints)  # angles need directions only
            yield int(frame["index"]), float(frame["time"]), int(person["track_id"]), joint_angles(joints, up)


def write_angles_csv(path: str | os.PathLike, track_file: str | os.PathLike) -> tuple[str, dict[int, TrackAngles]]:
    """Write NAME.angles.csv from a final track file; returns its path and every track's angles (for the plots)."""
    per_track: dict[int, list] = {}
    with atomic_open(path, encoding="ascii") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(ANGLE_COLUMNS)
        for index, time_s, track_id, degrees in _rows(track_file):
            writer.writerow([index, f"{time_s:.4f}", track_id]
                            + ["" if not np.isfinite(v) else f"{v:.1f}" for v in degrees])
            per_track.setdefault(track_id, []).append((index, time_s, degrees))
    tracks = {track_id: TrackAngles(track_id, np.array([r[0] for r in rows]), np.array([r[1] for r in rows]),
                                    np.array([r[2] for r in rows]))
              for track_id, rows in per_track.items()}
    return str(path), tracks


def write_angles_plot(path: str | os.PathLike, angles: TrackAngles, title: str) -> str:
    """One track's angles over time as a PNG (module docstring); returns the path."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # only recordings that plot pay for the import
    from matplotlib.figure import Figure

    figure = Figure(figsize=PLOT_SIZE_IN, dpi=PLOT_DPI)
    FigureCanvasAgg(figure)
    axes = figure.subplots(len(PANELS), 1, sharex=True)
    column = {name: k for k, name in enumerate(ANGLE_NAMES)}
    for ax, (panel, names) in zip(axes, PANELS):
        for k, name in enumerate(names):
            style = "--" if name.startswith("l_") else "-"
            ax.plot(angles.times_s, angles.degrees[:, column[name]], style, color=f"C{k // 2 if '_' in name else k}",
                    label=name, linewidth=1.2)
        ax.set_ylabel(f"{panel} (deg)")
        ax.grid(True, alpha=0.3)
        ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize="small", frameon=False)
    axes[-1].set_xlabel("time (s)")
    # The title on the track's colour in the app and the preview video, to match the plot with the person.
    figure.suptitle(title, bbox={"facecolor": track_color(angles.track_id), "edgecolor": "none", "pad": 4})
    # Fixed margins and fast PNG compression: tight_layout draws the figure a second time, and both together
    # halved the time per plot (0.35 -> 0.15 s on 2 busy cores).
    figure.subplots_adjust(**MARGINS)
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", pil_kwargs={"compress_level": 1})
    return str(path)


def write_angles(out_dir: str | os.PathLike, name: str, track_file: str | os.PathLike) -> list[str]:
    """NAME.angles.csv and NAME.trackN.angles.png (one per track) from a final track file; returns the paths."""
    csv_path, tracks = write_angles_csv(angles_path(out_dir, name), track_file)
    return [csv_path] + [write_angles_plot(plot_path(out_dir, name, track_id), track, f"{name}: track {track_id}")
                         for track_id, track in sorted(tracks.items())]


def angles_read_back(path: str | os.PathLike) -> bool:
    """True when NAME.angles.csv has the header ANGLE_COLUMNS and only whole rows (`process --skip-done`)."""
    with open(path, newline="", encoding="ascii") as f:
        rows = csv.reader(f)
        if tuple(next(rows, ())) != ANGLE_COLUMNS:
            return False
        return all(len(row) == len(ANGLE_COLUMNS) for row in rows)
