"""BVH export: re-read with an independent parser (PyPI `bvh`), forward kinematics here, compared to the track's joints."""

import json
import shutil
import subprocess

import numpy as np
import pytest

from app.formats.bvh import solve_motion, write_bvh
from app.formats.recording import TrackRecorder
from model.skeleton import JOINT_NAMES, PARENTS
from app.formats.tracks_json import read_series
from app.types import SourceInfo
from tests.app.track_fixtures import CAMERA, forward_kinematics, reference_cm, synthetic_results

import bvh as bvh_parser

FPS = 30.0


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    out = tmp_path_factory.mktemp("bvh")
    recorder = TrackRecorder(out, SourceInfo("synthetic.mp4", 640, 480, FPS, 60), CAMERA, formats=("json", "bvh"))
    for result in synthetic_results(60, FPS, gap=(20, 26)):
        recorder.add(result)
    recorder.close()
    _, series = read_series(out / "synthetic.json")
    return out, series


def test_one_bvh_per_track(recorded):
    out, series = recorded
    assert sorted(p.name for p in out.glob("*.bvh")) == ["synthetic.track3.bvh", "synthetic.track7.bvh"]
    assert sorted(series) == [3, 7]


@pytest.mark.parametrize("track_id", [3, 7])
def test_forward_kinematics_matches_normalised_joints(recorded, track_id):
    out, series = recorded
    track = series[track_id]
    positions, mocap = forward_kinematics(str(out / f"synthetic.track{track_id}.bvh"))
    first = track.frame_indices[0]
    assert mocap.nframes == track.frame_indices[-1] - first + 1  # covers first..last, gaps included
    assert mocap.frame_time == pytest.approx(1.0 / FPS, rel=1e-6)
    fk = np.stack([positions[name] for name in JOINT_NAMES], axis=1)[track.frame_indices - first]  # seen frames
    reference = reference_cm(track.joints_camera)
    error_mm = np.linalg.norm(fk - reference, axis=-1) * 10.0
    # Measured: max 0.002 mm (print rounding); the noisy input bones differ from their medians by
    # far more, so this checks the solve, not the rounding.
    assert error_mm.max() < 0.05, error_mm.max()
    raw_error_mm = np.linalg.norm(fk - track.joints_camera * np.array([1, -1, -1]) / 10.0, axis=-1) * 10.0
    assert raw_error_mm.max() > 5.0  # the normalisation did change the noisy input


def test_rest_pose_uses_median_bone_lengths_and_is_y_up(recorded):
    out, series = recorded
    with open(out / "synthetic.track3.bvh") as f:
        mocap = bvh_parser.Bvh(f.read())
    joints = series[3].joints_camera
    for joint in ("r_knee", "l_ankle", "thorax", "l_wrist"):
        j = JOINT_NAMES.index(joint)
        median_cm = np.median(np.linalg.norm(joints[:, j] - joints[:, PARENTS[j]], axis=-1)) / 10.0
        assert np.linalg.norm(mocap.joint_offset(joint)) == pytest.approx(median_cm, abs=1e-3)
    assert mocap.joint_offset("spine")[1] > 0 and mocap.joint_offset("r_knee")[1] < 0  # Y up
    assert mocap.joint_channels("pelvis")[:3] == ["Xposition", "Yposition", "Zposition"]
    assert mocap.joint_channels("r_knee") == ["Xrotation", "Zrotation", "Yrotation"]
    assert mocap.joint_channels("l_elbow") == ["Zrotation", "Xrotation", "Yrotation"]
    # Every skeleton joint is in the file; link joints are zero-length.
    names = mocap.get_joints_names()
    assert set(JOINT_NAMES) <= set(names)
    assert all(np.allclose(mocap.joint_offset(n), 0) for n in names if "_to_" in n)


def test_gap_frames_are_interpolated(recorded):
    out, series = recorded
    track = series[7]
    positions, _ = forward_kinematics(str(out / "synthetic.track7.bvh"))
    first = track.frame_indices[0]
    missing = sorted(set(range(first, track.frame_indices[-1] + 1)) - set(track.frame_indices.tolist()))
    assert missing == list(range(20, 26))
    root = positions["pelvis"]
    before, after = root[19 - first], root[26 - first]
    for k, frame in enumerate(missing, start=1):
        expected = before + (after - before) * k / 7
        assert np.allclose(root[frame - first], expected, atol=1e-3)


def test_euler_angles_stay_continuous(recorded):
    out, _ = recorded
    with open(out / "synthetic.track3.bvh") as f:
        mocap = bvh_parser.Bvh(f.read())
    values = np.array(mocap.frames, dtype=np.float64)[:, 3:]
    # Knees bend past 90 degrees in the synthetic walk: no 180/360-degree flips between frames.
    assert np.abs(np.diff(values, axis=0)).max() < 45.0


def test_straight_limbs_and_single_frame(tmp_path):
    """A T-pose (straight limbs: the bend direction is undefined) for one frame still solves exactly."""
    from tests.app.track_fixtures import body_pose

    pose = body_pose(0.3)
    pose[[2, 3, 5, 6]] = pose[[1, 1, 4, 4]] + np.array([0, -450.0, 0]) * [[1], [2], [1], [2]]
    camera = pose * np.array([1, -1, -1]) + np.array([0, 0, 3000.0])
    motion = solve_motion(np.array([5]), camera[None], 25.0)
    path = write_bvh(tmp_path / "t.bvh", motion)
    positions, mocap = forward_kinematics(path)
    assert mocap.nframes == 1
    fk = np.stack([positions[name] for name in JOINT_NAMES], axis=1)
    assert np.abs(fk - reference_cm(camera[None])).max() * 10 < 0.05


def test_poses_with_missing_values_are_treated_as_gaps(tmp_path):
    results = synthetic_results(12, FPS, gap=(99, 99))
    recorder = TrackRecorder(tmp_path, SourceInfo("nan.mp4", 640, 480, FPS, 12), CAMERA, formats=("json", "bvh"))
    for i, result in enumerate(results):
        if i == 5:
            track = result.tracks[0]
            joints = track.pose.joints_3d.copy()
            joints[3] = np.nan
            pose = type(track.pose)(track.pose.box_xyxy, track.pose.keypoints_2d, joints, track.pose.root, 0.5)
            result = type(result)(result.frame, (type(track)(3, pose, i), *result.tracks[1:]), CAMERA)
        recorder.add(result)
    recorder.close()
    _, series = read_series(tmp_path / "nan.json")
    assert 5 not in series[3].frame_indices.tolist() and len(series[3].frame_indices) == 11
    positions, mocap = forward_kinematics(str(tmp_path / "nan.track3.bvh"))
    assert mocap.nframes == 12 and all(np.isfinite(p).all() for p in positions.values())


BLENDER_SCRIPT = """
import builtins, json, sys
import bpy

_open = builtins.open
# Blender 3.4's BVH importer opens files with mode 'rU', which Python 3.11 rejects.
builtins.open = lambda file, mode="r", *args, **kwargs: _open(file, mode.replace("U", ""), *args, **kwargs)
bvh_path, out_path, frames = sys.argv[sys.argv.index("--") + 1:]
bpy.ops.wm.read_factory_settings(use_empty=True)
bpy.ops.import_anim.bvh(filepath=bvh_path, global_scale=1.0, frame_start=1, use_fps_scale=False,
                        rotate_mode="NATIVE", axis_forward="-Z", axis_up="Y")
armature = next(o for o in bpy.context.scene.objects if o.type == "ARMATURE")
heads = []
for frame in range(1, int(frames) + 1):
    bpy.context.scene.frame_set(frame)
    heads.append({b.name: list(armature.matrix_world @ b.head) for b in armature.pose.bones})
with _open(out_path, "w") as f:
    json.dump(heads, f)
"""


@pytest.mark.skipif(shutil.which("blender") is None, reason="Blender is not installed (optional: apt-get install blender)")
def test_blender_imports_the_bvh_with_the_same_joint_positions(recorded, tmp_path):
    """Blender's own BVH importer, run headless, poses the armature at the track's normalised joints."""
    out, series = recorded
    track = series[7]
    frames = int(track.frame_indices[-1] - track.frame_indices[0] + 1)
    script, heads_path = tmp_path / "import_bvh.py", tmp_path / "heads.json"
    script.write_text(BLENDER_SCRIPT)
    subprocess.run(["blender", "-b", "--factory-startup", "--python", str(script), "--",
                    str(out / "synthetic.track7.bvh"), str(heads_path), str(frames)],
                   check=True, capture_output=True, timeout=300)
    heads = json.loads(heads_path.read_text())
    assert len(heads) == frames
    # Blender is Z up: its (x, y, z) is the BVH's (X, -Z, Y).
    blender = np.array([[heads[f][name] for name in JOINT_NAMES] for f in range(frames)])
    bvh_axes = np.stack([blender[..., 0], blender[..., 2], -blender[..., 1]], axis=-1)
    seen = bvh_axes[track.frame_indices - track.frame_indices[0]]
    error_mm = np.linalg.norm(seen - reference_cm(track.joints_camera.astype(np.float64)), axis=-1) * 10
    assert error_mm.max() < 0.1, error_mm.max()  # measured: 0.003 mm (Blender 3.4.1)
