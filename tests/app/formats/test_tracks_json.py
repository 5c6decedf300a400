"""The JSON track format: exact documented fields, read back into the project's types, crash-safe partial files."""

import json

import numpy as np
import pytest

from app.formats.recording import TrackRecorder
from app.formats.tracks_json import TrackFileError, read_series, read_tracks
from app.motion.angles import angle_between
from app.motion.bones import bone_lengths
from app.types import SourceInfo
from app.types import CameraIntrinsics, PersonPose, Track
from tests.app.track_fixtures import CAMERA, synthetic_results, validate_track_json

SOURCE = SourceInfo("clips/walk.mp4", 640, 480, 30.0, 40)
BACKEND = {"name": "synthetic", "device": "cpu", "smoothing": True}


@pytest.fixture()
def results():
    return synthetic_results(40)


def record(out, results, close=True, **kwargs) -> TrackRecorder:
    recorder = TrackRecorder(out, SOURCE, CAMERA, formats=("json",), backend_info=BACKEND, **kwargs)
    for result in results:
        recorder.add(result)
    if close:
        recorder.close()
    return recorder


def test_final_file_has_the_documented_fields(tmp_path, results):
    recorder = record(tmp_path, results)
    assert recorder.paths == [str(tmp_path / "walk.json")]
    assert not list(tmp_path.glob("*.partial")) and not list(tmp_path.glob("*.tmp"))
    data = json.loads((tmp_path / "walk.json").read_text())
    validate_track_json(data)
    assert data["source"] == {"path": "clips/walk.mp4", "width": 640, "height": 480, "fps": 30.0, "frames": 40}
    assert data["camera"] == CAMERA.to_dict() and data["backend"] == BACKEND
    assert len(data["frames"]) == 40


def test_reads_back_into_project_types(tmp_path, results):
    record(tmp_path, results)
    tracks = read_tracks(tmp_path / "walk.json")
    assert not tracks.partial
    assert tracks.source == SOURCE and tracks.camera == CAMERA and tracks.backend == BACKEND
    assert tracks.track_ids() == [3, 7]
    assert len(tracks.frames) == 40
    for written, read in zip(results, tracks.frames):
        assert read.index == written.frame.index and read.time_s == pytest.approx(written.frame.time_s, abs=1e-6)
        observed = [t for t in written.tracks if t.missed == 0]  # held poses are not written
        assert [t.track_id for t in read.tracks] == [t.track_id for t in observed]
        for a, b in zip(observed, read.tracks):
            assert isinstance(b, Track) and isinstance(b.pose, PersonPose) and b.smoothed
            # The network's joints are kept as joints_3d_raw; joints_3d are fitted to the track's bones.
            assert np.allclose(a.pose.joints_3d, b.pose.joints_3d_raw, atol=0.05)  # 0.1 mm rounding
            # (pinned legs move most: these synthetic people shuffle without planting their feet)
            assert np.linalg.norm(b.pose.joints_3d - b.pose.joints_3d_raw, axis=-1).mean() < 80.0
            assert b.pose.world_root is not None and b.pose.contact is not None
            # The network's root is kept as root_raw; root is placed along its camera ray (app.motion.support)
            # and follows pinned feet by the leash at most (100 mm, under 2 degrees at these 3.5 m).
            assert np.allclose(a.pose.root, b.pose.root_raw, atol=0.05)
            assert angle_between(b.pose.root, b.pose.root_raw) < 2.0
            assert np.allclose(a.pose.keypoints_2d, b.pose.keypoints_2d, atol=0.005)
            assert np.allclose(a.pose.box_xyxy, b.pose.box_xyxy, atol=0.05)
            assert b.pose.score == pytest.approx(a.pose.score, abs=1e-4)
    # Track 7 is unseen in frames 10..13 and comes back.
    assert [f.index for f in tracks.frames if 7 not in {t.track_id for t in f.tracks}] == [10, 11, 12, 13]
    assert tracks.frames[20].tracks[1].age == 20
    # One skeleton per track over the whole file, and the floor in the header.
    fitted = np.array([t.pose.joints_3d for f in tracks.frames for t in f.tracks if t.track_id == 7])
    lengths = bone_lengths(fitted)
    assert np.abs(lengths - lengths[0]).max() < 0.2
    assert tracks.world is not None and tracks.version == 2
    root = tracks.frames[5].tracks[0].pose
    assert np.allclose(tracks.world.to_world(root.root), root.world_root, atol=0.2)


def test_version_1_files_are_still_read(tmp_path, results):
    """A version 1 file (before the motion layer: no world, joints_3d_raw, world_root, contact) reads back."""
    record(tmp_path, results)
    data = json.loads((tmp_path / "walk.json").read_text())
    data["version"] = 1
    del data["world"]
    for frame in data["frames"]:
        for person in frame["people"]:
            for key in ("joints_3d_raw", "world_root", "contact"):
                del person[key]
    (tmp_path / "v1.json").write_text(json.dumps(data))
    tracks = read_tracks(tmp_path / "v1.json")
    assert tracks.version == 1 and tracks.world is None and len(tracks.frames) == 40
    pose = tracks.frames[0].tracks[0].pose
    assert pose.joints_3d_raw is None and pose.world_root is None and pose.contact is None


def test_partial_file_after_a_crash_keeps_every_frame(tmp_path, results):
    """A recorder that never closes (the process died) leaves NAME.json.partial; it reads back, and a
    half-written last line is dropped."""
    recorder = record(tmp_path, results[:25], close=False)
    partial = tmp_path / "walk.json.partial"
    assert recorder.partial_path == str(partial) and not (tmp_path / "walk.json").exists()
    with open(partial, "a") as f:
        f.write('{"index": 25, "time": 0.83, "peo')  # killed in the middle of a write
    tracks = read_tracks(partial)
    assert tracks.partial and [f.index for f in tracks.frames] == list(range(25))
    assert tracks.camera == CAMERA
    _, series = read_series(partial)
    assert len(series[3].frame_indices) == 25


def test_close_after_interrupt_finalises_what_was_written(tmp_path, results):
    recorder = record(tmp_path, results[:5], close=False)
    paths = recorder.close()
    assert recorder.close() == paths  # idempotent
    assert len(read_tracks(paths[0]).frames) == 5


def test_camera_from_first_result_and_unknown_frame_count(tmp_path, results):
    recorder = TrackRecorder(tmp_path, SourceInfo("camera 0", 640, 480, 30.0, 0), formats=("json",))
    for result in results[:3]:
        recorder.add(result)
    path = recorder.close()[0]
    assert path.endswith("camera_0.json")
    tracks = read_tracks(path)
    assert tracks.camera == CAMERA and tracks.source.frames == 3
    assert tracks.backend == {"name": "synthetic", "device": "cpu"}


def test_non_finite_values_round_trip_as_null(tmp_path, results):
    pose = results[0].tracks[0].pose
    joints = pose.joints_3d.copy()
    joints[5] = np.nan
    bad = PersonPose(pose.box_xyxy, pose.keypoints_2d, joints, pose.root, pose.score)
    first = results[0].__class__(results[0].frame, (Track(3, bad, 0),), CAMERA)
    record(tmp_path, [first])
    text = (tmp_path / "walk.json").read_text()
    assert "NaN" not in text
    json.loads(text)  # strict JSON
    assert np.isnan(read_tracks(tmp_path / "walk.json").frames[0].tracks[0].pose.joints_3d[5]).all()


@pytest.mark.parametrize("content, message", [
    (b"\x89PNG\r\n\x1a\n\x00\x00", "not a track file"),
    (b'{"hello": 1}', "not a track file"),
    (b'{"format": "other", "version": 1, "source": {}, "camera": {}, "skeleton": {}, "backend": {}, "frames": []}',
     "format is 'other'"),
    (b'{"format": "cascade3d-tracks", "frames": [', "not valid JSON"),
])
def test_bad_files_give_one_line_errors(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(TrackFileError) as error:
        read_tracks(path)
    assert message in str(error.value) and str(path) in str(error.value) and "\n" not in str(error.value)


def test_camera_intrinsics_survive_exactly(tmp_path, results):
    camera = CameraIntrinsics(1234.5678, 1234.5678, 271.9, 480.1)
    recorder = TrackRecorder(tmp_path, SOURCE, camera, formats=("json",), backend_info=BACKEND)
    recorder.add(results[0])
    assert read_tracks(recorder.close()[0]).camera == camera


def _damaged_final(tmp_path, results, change) -> str:
    """A real final file with one field changed by change(data); returns its path."""
    record(tmp_path, results[:6])
    path = tmp_path / "walk.json"
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))
    return str(path)


def _set_floor_normal(data, normal):
    data["world"] = {"floor": {"normal": normal, "offset_mm": 1500.0}, "samples": 4}


@pytest.mark.parametrize("change, field", [
    (lambda d: d["skeleton"].update(parents=[-1, 2, 0] + d["skeleton"]["parents"][3:]), "skeleton.parents"),
    (lambda d: d["source"].update(fps=0), "source.fps"),
    (lambda d: d["source"].update(fps=-30), "source.fps"),
    (lambda d: d["source"].update(fps=float("nan")), "source.fps"),
    (lambda d: d["source"].update(fps=2147483647), "source.fps"),
    (lambda d: d["frames"][2].update(index=2**53), "frames[2].index"),
    (lambda d: d["frames"][3].update(index=d["frames"][2]["index"]), "frames[3].index"),
    (lambda d: d["frames"][3].update(index=0), "frames[3].index"),
    (lambda d: _set_floor_normal(d, [float("nan"), 1.0, 0.0]), "world.floor.normal"),
    (lambda d: _set_floor_normal(d, [0, 0, 0]), "world.floor.normal"),
], ids=["parents-out-of-order", "fps-0", "fps-negative", "fps-nan", "fps-2147483647", "index-2^53",
        "index-duplicate", "index-descending", "floor-nan", "floor-zero"])
def test_every_field_the_readers_rely_on_is_checked(tmp_path, results, change, field):
    """Each was accepted, or raised AssertionError from Skeleton (issue 26.12 and the doubtful list): now one
    TrackFileError naming the file and the field, from every reader."""
    path = _damaged_final(tmp_path, results, change)
    for reader in (read_tracks, read_series):
        with pytest.raises(TrackFileError) as error:
            reader(path)
        message = str(error.value)
        assert path in message and field in message and "\n" not in message, message


def test_a_partial_file_drops_frames_that_do_not_follow_in_order(tmp_path, results):
    """A partial file's repeated or earlier frame index costs that line only, as any damaged line does."""
    recorder = record(tmp_path, results[:5], close=False)
    path = recorder.partial_path
    lines = open(path).read().splitlines()
    lines.insert(3, lines[2])  # frame 1 again after frame 1
    open(path, "w").write("\n".join(lines) + "\n")
    tracks = read_tracks(path)
    assert [f.index for f in tracks.frames] == [r.frame.index for r in results[:5]]
    assert tracks.damaged_lines == (4,)
