"""CSV export: one row per frame and observed person, documented columns, values matching the poses."""

import csv

import numpy as np
import pytest

from app.formats.recording import TrackRecorder
from app.motion.angles import angle_between
from app.motion.bones import bone_lengths
from model.net.skeleton import JOINT_NAMES
from app.formats.tracks_csv import CSV_COLUMNS
from app.types import SourceInfo
from tests.app.track_fixtures import CAMERA, synthetic_results


def test_columns_are_as_documented():
    assert CSV_COLUMNS[:8] == ("frame", "time", "track_id", "bbox_x1", "bbox_y1", "bbox_x2", "bbox_y2", "score")
    assert CSV_COLUMNS[8:14] == ("pelvis_x2d", "pelvis_y2d", "pelvis_conf", "pelvis_x3d", "pelvis_y3d", "pelvis_z3d")
    assert CSV_COLUMNS[-8:] == ("root_x", "root_y", "root_z", "world_root_x", "world_root_y", "world_root_z",
                                "r_foot_contact", "l_foot_contact")
    assert len(CSV_COLUMNS) == 8 + 6 * len(JOINT_NAMES) + 8


def test_one_row_per_frame_and_track_with_matching_values(tmp_path):
    results = synthetic_results(30, gap=(10, 14))
    recorder = TrackRecorder(tmp_path, SourceInfo("walk.mp4", 640, 480, 30.0, 30), CAMERA, formats=("csv",))
    for result in results:
        recorder.add(result)
    paths = recorder.close()
    assert paths == [str(tmp_path / "walk.csv")]
    assert not list(tmp_path.glob("*.partial")) and not (tmp_path / "walk.json").exists()
    with open(paths[0], newline="") as f:
        rows = list(csv.DictReader(f))
    assert tuple(rows[0].keys()) == CSV_COLUMNS
    assert len(rows) == 30 + 30 - 4  # track 7 unseen in frames 10..13 (and a held pose is not a row)
    row = next(r for r in rows if r["frame"] == "20" and r["track_id"] == "7")
    pose = next(t for t in results[20].tracks if t.track_id == 7).pose
    assert float(row["time"]) == pytest.approx(results[20].frame.time_s, abs=1e-6)
    assert np.allclose([float(row[f"bbox_{k}"]) for k in ("x1", "y1", "x2", "y2")], pose.box_xyxy, atol=0.05)
    j = JOINT_NAMES.index("l_wrist")
    assert np.allclose([float(row[f"l_wrist_{k}"]) for k in ("x2d", "y2d", "conf")], pose.keypoints_2d[j], atol=0.005)
    # The root is placed along the network's camera ray (app.motion.support), depth changed by 30 % at most,
    # and follows pinned feet by the leash at most (100 mm: under 2 degrees at these 3.5 m).
    root = np.array([float(row[f"root_{k}"]) for k in "xyz"])
    assert angle_between(root, pose.root) < 2.0 and 0.7 < root[2] / pose.root[2] < 1.3
    # 3D joints: fitted to the track's constant bones, near the network's (whose bones vary).
    fitted = np.array([float(row[f"l_wrist_{k}"]) for k in ("x3d", "y3d", "z3d")])
    assert 0.05 < np.linalg.norm(fitted - pose.joints_3d[j]) < 60.0
    joints = np.array([[[float(r[f"{name}_{k}"]) for k in ("x3d", "y3d", "z3d")] for name in JOINT_NAMES]
                       for r in rows if r["track_id"] == "7"])
    lengths = bone_lengths(joints)
    assert np.abs(lengths - lengths[0]).max() < 0.2  # constant to the file's 0.1 mm rounding
    assert {r["r_foot_contact"] for r in rows} <= {"0", "1"} and {r["l_foot_contact"] for r in rows} <= {"0", "1"}
    assert all(r["world_root_y"] != "" for r in rows)


def test_partial_csv_is_readable_before_close(tmp_path):
    recorder = TrackRecorder(tmp_path, SourceInfo("walk.mp4", 640, 480, 30.0, 30), CAMERA, formats=("csv",))
    for result in synthetic_results(5, gap=(99, 99)):
        recorder.add(result)
    with open(tmp_path / "walk.csv.partial", newline="") as f:
        assert len(list(csv.DictReader(f))) == 10  # flushed per frame
