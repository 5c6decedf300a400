"""glTF export (`--format glb`): the Khronos validator's report, the file re-read here (the posed joint nodes against the
JSON's fitted joints), and Blender's own glTF importer (joints, the body around them, feet on the floor)."""

import json
import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from app.formats.recording import TrackRecorder, recording_finished
from app.formats.tracks_json import iter_frame_dicts, read_series, world_from_header
from app.motion.floor import ANKLE_HEIGHT_MM
from app.sources import DEFAULT_SAMPLE
from app.types import FrameResult, SourceInfo
from model.net.skeleton import JOINT_NAMES, NUM_JOINTS, PARENTS
from tests.app.motion.walker import walk, walk_results
from tests.app.track_fixtures import CAMERA, synthetic_results

FPS = 30.0
NODE_DIR = Path(__file__).resolve().parents[2] / "node"
VALIDATOR = NODE_DIR / "node_modules" / "gltf-validator"


def _record(out: Path, results, frames: int) -> tuple[Path, Path]:
    recorder = TrackRecorder(out, SourceInfo("synthetic.mp4", 640, 480, FPS, frames), results[0].camera,
                             formats=("json", "glb"))
    for result in results:
        recorder.add(result)
    recorder.close()
    return out / "synthetic.json", out / "synthetic.glb"


@pytest.fixture(scope="module")
def walked(tmp_path_factory):
    """One person walking on a floor seen by a camera pitched 25 degrees down, 1.7 m up."""
    results, _ = walk_results(frames=90, fps=FPS, pitch_deg=25.0, height_mm=1700.0)
    return _record(tmp_path_factory.mktemp("walk"), results, 90)


@pytest.fixture(scope="module")
def two_people(tmp_path_factory):
    """Two noisy synthetic people, one of them unseen for 6 frames."""
    return _record(tmp_path_factory.mktemp("two"), synthetic_results(60, FPS, gap=(20, 26)), 60)


@pytest.fixture(scope="module")
def late_comer(tmp_path_factory):
    """Two synthetic people, the second (track 7) first seen in frame 10 and last in frame 29 of 40."""
    results = [FrameResult(r.frame, tuple(t for t in r.tracks if t.track_id == 3 or 10 <= r.frame.index < 30),
                           r.camera, r.timings_ms, r.backend, r.device) for r in synthetic_results(40, FPS, gap=(0, 0))]
    return _record(tmp_path_factory.mktemp("late"), results, 40)


@pytest.fixture(scope="module")
def sample_clip(tmp_path_factory):
    """`main.py process` on the bundled two-person clip (real decode, network, motion layer), 24 frames, json+glb."""
    from main import main

    out = tmp_path_factory.mktemp("clip")
    assert main(["process", DEFAULT_SAMPLE, "--out", str(out), "--max-frames", "24", "--format", "json,glb"]) == 0
    return out / "sample_two_people.json", out / "sample_two_people.glb"


def read_glb(path: Path) -> tuple[dict, bytes]:
    """(the JSON document, the binary chunk) of a GLB file, read independently of app.formats.gltf."""
    data = path.read_bytes()
    magic, version, length = struct.unpack_from("<III", data, 0)
    assert (magic, version, length) == (0x46546C67, 2, len(data))
    json_length, json_type = struct.unpack_from("<II", data, 12)
    assert json_type == 0x4E4F534A
    document = json.loads(data[20:20 + json_length])
    bin_length, bin_type = struct.unpack_from("<II", data, 20 + json_length)
    assert bin_type == 0x004E4942
    return document, data[28 + json_length:28 + json_length + bin_length]


def accessor(document: dict, binary: bytes, index: int) -> np.ndarray:
    acc = document["accessors"][index]
    view = document["bufferViews"][acc["bufferView"]]
    dtype = {5126: np.float32, 5121: np.uint8, 5123: np.uint16, 5125: np.uint32}[acc["componentType"]]
    width = {"SCALAR": 1, "VEC3": 3, "VEC4": 4, "MAT4": 16}[acc["type"]]
    array = np.frombuffer(binary, dtype, acc["count"] * width, view["byteOffset"] + acc.get("byteOffset", 0))
    return array.reshape(acc["count"], width) if width > 1 else array


def posed_nodes(document: dict, binary: bytes, first: int) -> tuple[np.ndarray, np.ndarray]:
    """(times (N,), world positions (N, 17, 3)) of one track's joint nodes at its own key times (forward kinematics
    of the animated local translations and rotations)."""
    animation = document["animations"][0]
    local_t, local_r, times = {}, {}, None
    for channel in animation["channels"]:
        node, path = channel["target"]["node"], channel["target"]["path"]
        if not first <= node < first + NUM_JOINTS or path == "scale":
            continue
        sampler = animation["samplers"][channel["sampler"]]
        times = accessor(document, binary, sampler["input"])
        values = accessor(document, binary, sampler["output"]).astype(np.float64)
        (local_t if path == "translation" else local_r)[node - first] = values
    world_r = [None] * NUM_JOINTS
    world_p = np.zeros((len(times), NUM_JOINTS, 3))
    for j in range(NUM_JOINTS):
        r = Rotation.from_quat(local_r[j]).as_matrix()
        if PARENTS[j] < 0:
            world_r[j], world_p[:, j] = r, local_t[j]
        else:
            p = PARENTS[j]
            world_r[j] = world_r[p] @ r
            world_p[:, j] = world_p[:, p] + np.einsum("nab,nb->na", world_r[p], local_t[j])
    return times, world_p


def json_world_joints(json_path: Path) -> dict[int, np.ndarray]:
    """{track: (N, 17, 3) m} the JSON's fitted joints (joints_3d + root) in its floor's world frame, per seen frame."""
    header, series = read_series(json_path)
    world = world_from_header(header)
    return {tid: world.to_world(s.joints_camera.astype(np.float64)) / 1000.0 for tid, s in series.items()}


def blender_import(glb_path, times, meshes, tmp_path):
    """Blender's own glTF importer on `glb_path` (tests/app/formats/blender_gltf.py): joint heads at `times` and
    the posed `meshes` (saved beside the returned path as OUT.MESH.npz)."""
    (tmp_path / "request.json").write_text(json.dumps({"times": list(times), "meshes": list(meshes)}))
    out_path = tmp_path / "out.json"
    subprocess.run(["blender", "-b", "--factory-startup", "--python", str(Path(__file__).with_name("blender_gltf.py")),
                    "--", str(glb_path), str(tmp_path / "request.json"), str(out_path)],
                   check=True, capture_output=True, timeout=300)
    return json.loads(out_path.read_text()), out_path


def test_the_recording_writes_and_finishes_a_glb(walked, two_people):
    for json_path, glb_path in (walked, two_people):
        assert glb_path.exists() and recording_finished(json_path.parent, "synthetic", ("json", "glb"))
    glb_path = two_people[1]
    document, _ = read_glb(glb_path)
    assert sorted(s["name"] for s in document["skins"]) == ["track3", "track7"]
    assert [c for c in document["animations"][0]["channels"] if c["target"]["path"] == "scale"] == []


def test_a_cut_short_glb_is_not_finished(two_people, tmp_path):
    """--skip-done redoes an input whose .glb lost its end (a full disk, a kill during a copy)."""
    json_path, glb_path = two_people
    for path in (json_path, glb_path):
        (tmp_path / path.name).write_bytes(path.read_bytes())
    assert recording_finished(tmp_path, "synthetic", ("json", "glb"))
    data = glb_path.read_bytes()
    (tmp_path / glb_path.name).write_bytes(data[:len(data) // 2])
    assert not recording_finished(tmp_path, "synthetic", ("json", "glb"))


def test_a_track_is_hidden_before_its_first_and_after_its_last_frame(late_comer):
    """Track 7, seen in frames 10-29 of 0-39: its root is scaled to 0 until its first frame's time and from just
    after its last (STEP), so it does not stand frozen where it was first or last seen; track 3 (all frames) is not."""
    document, binary = read_glb(late_comer[1])
    animation = document["animations"][0]
    scaled = {document["nodes"][c["target"]["node"]]["name"]: animation["samplers"][c["sampler"]]
              for c in animation["channels"] if c["target"]["path"] == "scale"}
    assert list(scaled) == ["track7_pelvis"]
    sampler = scaled["track7_pelvis"]
    assert sampler["interpolation"] == "STEP"
    times = accessor(document, binary, sampler["input"])
    np.testing.assert_allclose(times, [0.0, 10 / FPS, 29 / FPS], atol=1e-6)
    assert accessor(document, binary, sampler["output"])[:, 0].tolist() == [0.0, 1.0, 0.0]


def test_posed_joint_nodes_are_the_json_joints(two_people):
    """Forward kinematics of the file's animation at its key times equals the JSON's fitted joints in the world
    frame (float32 rounding only), at the JSON's frame times."""
    json_path, glb_path = two_people
    document, binary = read_glb(glb_path)
    expected = json_world_joints(json_path)
    _, frames = iter_frame_dicts(json_path)
    frame_time = {f["index"]: f["time"] for f in frames}
    _, series = read_series(json_path)
    for skin in document["skins"]:
        track_id = int(skin["name"][5:])
        times, joints = posed_nodes(document, binary, skin["joints"][0])
        np.testing.assert_allclose(times, [frame_time[i] for i in series[track_id].frame_indices], atol=1e-6)
        error_mm = np.linalg.norm(joints - expected[track_id], axis=-1).max() * 1000
        assert error_mm < 0.1, error_mm  # measured: 0.002 mm (float32 rounding)


@pytest.fixture(scope="module")
def edge_cases(tmp_path_factory):
    """A file with one track seen in one frame, and one with nobody."""
    from app.formats.gltf import TrackMotion, glb_bytes
    from model.data.synth.body_asset import read_body_asset

    out = tmp_path_factory.mktemp("edge")
    asset = read_body_asset()
    joints = walk(frames=1).world / 1000.0
    (out / "one.glb").write_bytes(glb_bytes([TrackMotion(3, np.array([0.5]), joints)], asset, (0.0, 1.0)))
    (out / "nobody.glb").write_bytes(glb_bytes([], asset))
    return [(None, out / "one.glb"), (None, out / "nobody.glb")]


@pytest.mark.skipif(not VALIDATOR.is_dir(), reason="the Khronos glTF validator is not installed "
                    "(npm ci --prefix tests/node; .ci/run installs it)")
def test_khronos_validator_reports_no_errors(walked, two_people, late_comer, sample_clip, edge_cases):
    for _, glb_path in [walked, two_people, late_comer, sample_clip] + edge_cases:
        report = subprocess.run(["node", str(NODE_DIR / "validate_gltf.js"), str(glb_path)], check=True,
                                capture_output=True, text=True, timeout=120)
        result = json.loads(report.stdout)
        assert result["numErrors"] == 0, result["errors"]
        assert result["numWarnings"] == 0, result["warnings"]  # measured: 0


def blender_axes(points: np.ndarray) -> np.ndarray:
    """glTF (Y up) -> Blender (Z up): (x, y, z) -> (x, -z, y)."""
    return np.stack([points[..., 0], -points[..., 2], points[..., 1]], axis=-1)


@pytest.mark.skipif(shutil.which("blender") is None, reason="Blender is not installed (optional: apt-get install blender "
                    "python3-numpy; .ci/run installs it)")
def test_blender_imports_the_body_with_its_animation(walked, tmp_path):
    """Blender's own glTF importer, headless, at sampled frames: the armature's joints are the JSON's fitted joints
    (<= 10 mm), each of the 17 joints lies inside the posed body or within 5 cm of it, and while a foot is on the
    floor (the JSON's contact) the body's lowest vertex is within 3 cm of the floor."""
    json_path, glb_path = walked
    expected = blender_axes(json_world_joints(json_path)[1])
    _, frames = iter_frame_dicts(json_path)
    frames = [f for f in frames if f["people"]]
    sampled = list(range(0, len(frames), 10))
    out, out_path = blender_import(glb_path, [frames[k]["time"] for k in sampled], ["track1_body"], tmp_path)
    heads = np.array([[h[f"track1_{name}"] for name in JOINT_NAMES] for h in out["heads"]])
    joint_error_mm = np.linalg.norm(heads - expected[sampled], axis=-1).max() * 1000
    assert joint_error_mm <= 10.0, joint_error_mm  # measured: 0.0 mm (float32 rounding)
    with np.load(f"{out_path}.track1_body.npz") as body:
        vertices, faces = body["vertices"], body["faces"]
    for k, joints in enumerate(expected[sampled]):
        inside = winding_numbers(vertices[k], faces, joints) > 0.5
        nearest = np.linalg.norm(vertices[k][None] - joints[:, None], axis=-1).min(axis=1)
        outside_by = np.where(inside, 0.0, nearest)
        assert outside_by.max() <= 0.05, (k, outside_by)  # measured: all 17 inside in every sampled frame
    contact = np.array([any(frames[k]["people"][0]["contact"] or [False]) for k in sampled])
    assert contact.sum() >= 3
    lowest = vertices[contact][..., 2].min(axis=1)
    assert np.abs(lowest).max() <= 0.03, lowest  # measured: 1.0-1.9 cm below the floor (anny's ankle is 9 cm up, 8 assumed)


def winding_numbers(vertices: np.ndarray, faces: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(P,) generalised winding number of the triangle mesh around each point (about 1 inside, 0 outside; robust to
    the self-intersections of a posed body, where a nearest face's normal is not)."""
    out = np.zeros(len(points))
    for i, p in enumerate(points):
        a, b, c = (vertices[faces[:, k]] - p for k in range(3))
        la, lb, lc = (np.linalg.norm(x, axis=1) for x in (a, b, c))
        det = np.einsum("ij,ij->i", a, np.cross(b, c))
        div = la * lb * lc + np.einsum("ij,ij->i", a, b) * lc + np.einsum("ij,ij->i", a, c) * lb \
            + np.einsum("ij,ij->i", b, c) * la
        out[i] = 2 * np.arctan2(det, div).sum() / (4 * np.pi)
    return out


@pytest.mark.skipif(shutil.which("blender") is None, reason="Blender is not installed (optional: apt-get install blender "
                    "python3-numpy; .ci/run installs it)")
def test_blender_imports_the_sample_clip_bodies(sample_clip, tmp_path):
    """`process --format glb` on the real clip, in Blender: every track's joints are the JSON's (<= 10 mm), each of
    its 17 joints inside its posed body or within 5 cm, and its lowest vertex where the JSON's lower ankle says the
    sole is (the ankle ANKLE_HEIGHT_MM above it) within 3 cm. (Where that is relative to the floor is the JSON's
    placement, app.motion: the walker test above checks a person placed on the floor.)"""
    json_path, glb_path = sample_clip
    expected = {t: blender_axes(j) for t, j in json_world_joints(json_path).items()}
    _, series = read_series(json_path)
    _, frames = iter_frame_dicts(json_path)
    times = {f["index"]: f["time"] for f in frames}
    sampled = [4, 12, 20]
    out, out_path = blender_import(glb_path, [times[i] for i in sampled], [f"track{t}_body" for t in series], tmp_path)
    checked = 0
    for track_id, track in series.items():
        with np.load(f"{out_path}.track{track_id}_body.npz") as body:
            vertices, faces = body["vertices"], body["faces"]
        seen = {int(i): k for k, i in enumerate(track.frame_indices)}
        for k, index in enumerate(sampled):
            if index not in seen:
                continue
            joints = expected[track_id][seen[index]]
            heads = np.array([out["heads"][k][f"track{track_id}_{name}"] for name in JOINT_NAMES])
            assert np.linalg.norm(heads - joints, axis=-1).max() <= 0.010  # measured: 0.0 mm (float32 rounding)
            inside = winding_numbers(vertices[k], faces, joints) > 0.5
            nearest = np.linalg.norm(vertices[k][None] - joints[:, None], axis=-1).min(axis=1)
            assert np.where(inside, 0.0, nearest).max() <= 0.05  # measured: all 17 inside, every track and frame
            sole = joints[[3, 6], 2].min() - ANKLE_HEIGHT_MM / 1000.0
            assert abs(vertices[k][:, 2].min() - sole) <= 0.03, (track_id, index)  # measured: 0.3-1.1 cm below it
            checked += 1
    assert checked >= 6
