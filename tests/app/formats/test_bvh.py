"""BVH export: re-read with an independent parser (PyPI `bvh`), forward kinematics here, compared to the track's JSON joints
(fitted to constant bones), in the floor's world frame (the default) and in camera frame."""

import json
import shutil
import subprocess

import numpy as np
import pytest

from app.formats.bvh import HIPS_BONE_CM, JOINT_NODES, NODE_NAMES, camera_to_bvh, solve_motion, write_bvh
from app.formats.recording import TrackRecorder
from app.formats.tracks_json import iter_frame_dicts, read_series, world_from_header
from app.motion.bones import bone_lengths
from app.types import SourceInfo
from model.net.skeleton import JOINT_NAMES, PARENTS
from tests.app.motion.walker import walk_results
from tests.app.track_fixtures import CAMERA, forward_kinematics, reference_cm, skeleton_positions, synthetic_results

import bvh as bvh_parser

FPS = 30.0


def _record(out, results, frames: int, **kwargs):
    recorder = TrackRecorder(out, SourceInfo("synthetic.mp4", 640, 480, FPS, frames), CAMERA, formats=("json", "bvh"),
                             **kwargs)
    for result in results:
        recorder.add(result)
    recorder.close()
    header, series = read_series(out / "synthetic.json")
    return out, series, world_from_header(header)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """Two noisy synthetic people (their bones vary from frame to frame), written in the default world frame."""
    out, series, world = _record(tmp_path_factory.mktemp("bvh"), synthetic_results(60, FPS, gap=(20, 26)), 60)
    assert world is not None
    return out, series, world


@pytest.fixture(scope="module")
def walked(tmp_path_factory):
    """A person walking on a floor seen by a camera pitched 25 degrees down, 1.7 m up (world frame BVH)."""
    results, walk = walk_results(frames=90, fps=FPS, pitch_deg=25.0, height_mm=1700.0)
    out, series, world = _record(tmp_path_factory.mktemp("walk"), results, 90)
    return out, series, world, walk


def _fk(path, track):
    positions, mocap = forward_kinematics(str(path))
    first = track.frame_indices[0]
    return skeleton_positions(positions)[track.frame_indices - first], mocap


def test_one_bvh_per_track(recorded):
    out, series, _ = recorded
    assert sorted(p.name for p in out.glob("*.bvh")) == ["synthetic.track3.bvh", "synthetic.track7.bvh"]
    assert sorted(series) == [3, 7]


@pytest.mark.parametrize("track_id", [3, 7])
def test_forward_kinematics_matches_json_joints_in_world_frame(recorded, track_id):
    out, series, world = recorded
    track = series[track_id]
    fk, mocap = _fk(out / f"synthetic.track{track_id}.bvh", track)
    assert mocap.nframes == track.frame_indices[-1] - track.frame_indices[0] + 1  # covers first..last, gaps included
    assert mocap.frame_time == pytest.approx(1.0 / FPS, rel=1e-6)
    # The JSON's joints have one constant skeleton per track (to its 0.1 mm rounding) ...
    lengths = bone_lengths(track.joints_camera.astype(np.float64))
    assert np.abs(lengths - np.median(lengths, axis=0)).max() < 0.2
    # ... so the BVH reproduces them exactly, in the world frame (measured: max 0.17 mm, from the JSON's 0.1 mm rounding).
    error_mm = np.linalg.norm(fk - world.to_world(track.joints_camera) / 10.0, axis=-1) * 10.0
    assert error_mm.max() < 1.0, error_mm.max()
    # The network's raw joints (bones varying from frame to frame) are kept in the JSON, and differ.
    _, frames = iter_frame_dicts(out / "synthetic.json")
    raw = np.array([p["joints_3d_raw"] for f in frames for p in f["people"] if p["track_id"] == track_id])
    assert np.abs(bone_lengths(raw) - np.median(bone_lengths(raw), axis=0)).max() > 5.0


def test_camera_frame_option(tmp_path):
    out, series, world = _record(tmp_path, synthetic_results(30, FPS, gap=(99, 99)), 30, bvh_frame="camera")
    track = series[3]
    fk, _ = _fk(out / "synthetic.track3.bvh", track)
    error_mm = np.linalg.norm(fk - camera_to_bvh(track.joints_camera), axis=-1) * 10.0
    assert error_mm.max() < 1.0, error_mm.max()
    with pytest.raises(ValueError, match="BVH frame"):
        TrackRecorder(tmp_path, SourceInfo("x.mp4", 640, 480, FPS, 1), CAMERA, bvh_frame="screen")


def test_world_frame_bvh_walks_on_the_floor(walked):
    """A camera pitched 25 degrees down: the world-frame BVH is upright, its floor where the true floor is."""
    out, series, world, walk = walked
    assert world.pitch_deg == pytest.approx(25.0, abs=2.0) and world.height_mm == pytest.approx(1700.0, abs=60.0)
    track = series[1]
    fk, _ = _fk(out / "synthetic.track1.bvh", track)
    error_mm = np.linalg.norm(fk - world.to_world(track.joints_camera) / 10.0, axis=-1) * 10.0
    assert error_mm.max() < 1.0, error_mm.max()
    # Upright: the spine points up the BVH's Y axis (within the walker's lean), pelvis about 0.88 m up.
    spine = fk[:, 8] - fk[:, 0]
    assert np.degrees(np.arccos(np.median(spine[:, 1] / np.linalg.norm(spine, axis=1)))) < 12.0
    assert np.median(fk[:, 0, 1]) == pytest.approx(88.0, abs=8.0)
    # Feet in contact are on the floor: the lower ankle sits at ankle height (8 cm) most of the time.
    lower_ankle = np.minimum(fk[:, 3, 1], fk[:, 6, 1])
    assert np.median(lower_ankle) == pytest.approx(8.0, abs=3.0)


def test_rest_pose_uses_median_bone_lengths_and_is_y_up(recorded):
    out, series, _ = recorded
    with open(out / "synthetic.track3.bvh") as f:
        mocap = bvh_parser.Bvh(f.read())
    joints = series[3].joints_camera
    # A joint's OFFSET is the bone of its parent, which ends where the joint starts.
    for joint, node in (("r_knee", "RightLowerLeg"), ("l_ankle", "LeftFoot"), ("thorax", "Neck"),
                        ("l_wrist", "LeftHand"), ("l_shoulder", "LeftUpperArm"), ("spine", "Chest")):
        j = JOINT_NAMES.index(joint)
        median_cm = np.median(np.linalg.norm(joints[:, j] - joints[:, PARENTS[j]], axis=-1)) / 10.0
        assert np.linalg.norm(mocap.joint_offset(node)) == pytest.approx(median_cm, abs=1e-3)
    assert mocap.joint_offset("Chest")[1] > 0 and mocap.joint_offset("RightLowerLeg")[1] < 0  # Y up
    assert mocap.joint_channels("Hips")[:3] == ["Xposition", "Yposition", "Zposition"]
    assert mocap.joint_channels("RightLowerLeg") == ["Xrotation", "Zrotation", "Yrotation"]
    assert mocap.joint_channels("LeftLowerArm") == ["Zrotation", "Xrotation", "Yrotation"]
    assert mocap.get_joints_names() == list(NODE_NAMES)


def test_no_bone_has_zero_length(recorded):
    """Every BVH joint but the root has an OFFSET (the bone from its parent), and every joint's bone (to its
    children, or its End Site) has a length, as Blender's importer measures it (head to the mean of the
    children's heads), so no importer has to invent one."""
    out, _, _ = recorded
    with open(out / "synthetic.track3.bvh") as f:
        mocap = bvh_parser.Bvh(f.read())
    names = mocap.get_joints_names()
    offsets = {name: np.array(mocap.joint_offset(name)) for name in names}
    for name in names[1:]:
        assert np.linalg.norm(offsets[name]) > 1.0, name  # cm; measured: 9.7 cm at least (the hips)
    for name in names:
        joint = mocap.get_joint(name)
        children = [offsets[c.value[1]] for c in joint.filter("JOINT")]
        ends = [np.array([float(v) for v in e["OFFSET"]]) for e in joint.filter("End")]
        tail = np.mean(children or ends, axis=0)
        assert np.linalg.norm(tail) > 1.0, name  # cm; the shortest is the Hips bone, HIPS_BONE_CM
    assert np.linalg.norm(offsets["Spine"]) == pytest.approx(HIPS_BONE_CM)


def test_gap_frames_are_interpolated(recorded):
    out, series, _ = recorded
    track = series[7]
    positions, _ = forward_kinematics(str(out / "synthetic.track7.bvh"))
    first = track.frame_indices[0]
    missing = sorted(set(range(first, track.frame_indices[-1] + 1)) - set(track.frame_indices.tolist()))
    assert missing == list(range(20, 26))
    root = positions[JOINT_NODES["pelvis"]]
    before, after = root[19 - first], root[26 - first]
    for k, frame in enumerate(missing, start=1):
        expected = before + (after - before) * k / 7
        assert np.allclose(root[frame - first], expected, atol=1e-3)


def test_euler_angles_stay_continuous(recorded):
    out, _, _ = recorded
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
    fk = skeleton_positions(positions)
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
heads, tails = [], []
for frame in range(1, int(frames) + 1):
    bpy.context.scene.frame_set(frame)
    heads.append({b.name: list(armature.matrix_world @ b.head) for b in armature.pose.bones})
    tails.append({b.name: list(armature.matrix_world @ b.tail) for b in armature.pose.bones})
with _open(out_path, "w") as f:
    json.dump({"heads": heads, "tails": tails}, f)
"""


@pytest.mark.skipif(shutil.which("blender") is None, reason="Blender is not installed (optional: apt-get install blender)")
def test_blender_imports_the_world_frame_bvh_with_the_feet_on_the_floor(walked, tmp_path):
    """Blender's own BVH importer, run headless: the armature sits at the track's JSON joints in the world
    frame, and the lowest foot (the ankle's End Site, the sole) over the clip is within 3 cm of the floor."""
    out, series, world, _ = walked
    track = series[1]
    frames = int(track.frame_indices[-1] - track.frame_indices[0] + 1)
    script, dump_path = tmp_path / "import_bvh.py", tmp_path / "bones.json"
    script.write_text(BLENDER_SCRIPT)
    run = subprocess.run(["blender", "-b", "--factory-startup", "--python", str(script), "--",
                          str(out / "synthetic.track1.bvh"), str(dump_path), str(frames)],
                         check=True, capture_output=True, text=True, timeout=300)
    assert "zero length" not in run.stdout + run.stderr  # Blender's importer names every bone it had to lengthen
    dump = json.loads(dump_path.read_text())
    heads, tails = dump["heads"], dump["tails"]
    assert len(heads) == frames

    def bvh_axes(points):  # Blender is Z up: its (x, y, z) is the BVH's (X, -Z, Y)
        return np.stack([points[..., 0], points[..., 2], -points[..., 1]], axis=-1)

    blender = bvh_axes(np.array([[(tails if name == "head" else heads)[f][JOINT_NODES[name]] for name in JOINT_NAMES]
                                 for f in range(frames)]))
    seen = blender[track.frame_indices - track.frame_indices[0]]
    error_mm = np.linalg.norm(seen - world.to_world(track.joints_camera.astype(np.float64)) / 10.0, axis=-1) * 10
    assert error_mm.max() < 1.0, error_mm.max()
    soles = bvh_axes(np.array([[tails[f][name] for name in ("RightFoot", "LeftFoot")] for f in range(frames)]))
    lowest_cm = soles[..., 1].min()
    assert abs(lowest_cm) < 3.0, lowest_cm  # measured: 0.0008 cm (Blender 3.4.1)


def test_bone_names_are_the_vmc_streams_where_they_mean_the_same_bone():
    """A BVH joint named like a bone of the VMC stream (app.stream.humanoid) starts at the same skeleton joint and
    points to the same one; the two bones the stream has no name for are the pelvis -> hip bones."""
    from app.formats.bvh import NODES
    from app.stream.humanoid import BONES

    stream = {bone.name: bone for bone in BONES}
    shared = [spec for spec in NODES if spec.name in stream]
    assert {spec.name for spec in NODES} - set(stream) == {"LeftHip", "RightHip"}
    for spec in shared:
        bone = stream[spec.name]
        assert spec.joint == bone.joint, spec.name
        assert spec.target == bone.child or spec.name == "Hips", spec.name  # both Hips: the pelvis's orientation
    assert len(shared) == len(BONES)  # every bone the stream sends is in the BVH


def test_docs_table_is_the_skeleton():
    """docs/formats.md, "BVH skeleton": one row per BVH joint, in file order, with its parent, the skeleton joint it
    starts at and the one it points to (or its End Site), and the VMC bone of the same name."""
    from pathlib import Path

    from app.formats.bvh import HEAD_TOP, NODES
    from app.stream.humanoid import BONE_NAMES

    text = (Path(__file__).resolve().parents[3] / "docs" / "formats.md").read_text()
    section = text.split("## BVH skeleton", 1)[1].split("\n## ", 1)[0]
    rows = [[cell.strip().strip("`") for cell in line.strip().strip("|").split("|")]
            for line in section.splitlines() if line.startswith("| `")]
    assert [row[0].removesuffix("` (root)") for row in rows] == [spec.name for spec in NODES]
    for row, spec in zip(rows, NODES):
        name, parent, starts, points, vmc = row
        assert parent.strip("`") == (spec.parent or "-"), name
        if spec.parent:
            assert starts == spec.joint, name
            if spec.target and spec.target != HEAD_TOP:
                assert points == spec.target, name
            else:  # hands, feet, and the head top: End Sites
                assert points.startswith("End Site") and (spec.target in points), name
        assert vmc.strip("`") == (spec.name if spec.name in BONE_NAMES else "-"), name
