"""Calibration files (app/calibration.py): OpenCV YAML written by OpenCV itself, JSON, Pose2Sim TOML, the Pose2Sim
wheel's Qualisys file; undistortion; every bad file is one line naming it; `process --calibration` records it."""

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from app.calibration import CalibrationError, load_calibration
from app.sources import DEFAULT_SAMPLE

ROOT = Path(__file__).resolve().parents[2]
K = np.array([[1000.0, 0.0, 640.0], [0.0, 990.0, 360.0], [0.0, 0.0, 1.0]])
DIST = np.array([-0.2, 0.05, 0.001, -0.002, 0.0])


def _qca() -> Path:
    import Pose2Sim

    return Path(Pose2Sim.__file__).parent / "Demo_SinglePerson" / "calibration" / "Calib.qca.txt"


def _opencv_yaml(path: Path, size=(1280, 720), matrix=K) -> str:
    storage = cv2.FileStorage(str(path), cv2.FILE_STORAGE_WRITE)
    storage.write("image_width", size[0])
    storage.write("image_height", size[1])
    storage.write("camera_matrix", matrix)
    storage.write("distortion_coefficients", DIST.reshape(1, 5))
    storage.release()
    return str(path)


def test_opencv_yaml_as_opencv_writes_it(tmp_path):
    calibration = load_calibration(_opencv_yaml(tmp_path / "cam.yaml"))
    assert np.allclose(calibration.camera_matrix, K) and np.allclose(calibration.dist_coeffs, DIST)
    assert calibration.image_size == (1280, 720)
    intrinsics = calibration.intrinsics(640, 360)  # half the calibrated size: the matrix scales with it
    assert (intrinsics.fx, intrinsics.fy, intrinsics.cx, intrinsics.cy) == (500.0, 495.0, 320.0, 180.0)


def test_hand_written_yaml_with_plain_lists(tmp_path):
    path = tmp_path / "cam.yml"
    path.write_text("%YAML:1.0\n---\nimage_width: 1280\nimage_height: 720\n"
                    "camera_matrix: [[1000, 0, 640], [0, 990, 360], [0, 0, 1]]\n"
                    "dist_coeffs: [-0.2, 0.05, 0.001, -0.002, 0]\n")
    calibration = load_calibration(str(path))
    assert np.allclose(calibration.camera_matrix, K) and np.allclose(calibration.dist_coeffs, DIST)
    assert calibration.image_size == (1280, 720)


def test_json_with_opencv_matrix_blocks(tmp_path):
    path = tmp_path / "cam.json"
    path.write_text(json.dumps({"camera_matrix": {"rows": 3, "cols": 3, "data": K.ravel().tolist()},
                                "dist_coeffs": DIST.tolist(), "image_size": [1280, 720]}))
    calibration = load_calibration(str(path))
    assert np.allclose(calibration.camera_matrix, K) and calibration.image_size == (1280, 720)


def test_pose2sim_toml_and_qualisys_name_the_camera(tmp_path):
    path = tmp_path / "Calib.toml"
    # Pose2Sim's own layout (Pose2Sim/calibration.py toml_write): one section per camera, then [metadata].
    path.write_text("".join(
        f'[{name}]\nname = "{name}"\nsize = [ 1088.0, 1920.0]\n'
        f"matrix = [ [ {fx}, 0.0, 540.0], [ 0.0, {fx}, 960.0], [ 0.0, 0.0, 1.0]]\n"
        "distortions = [ -0.04, 0.13, 0.0006, 0.0007]\nrotation = [ 0.1, 0.2, 0.3]\n"
        "translation = [ 1.0, 2.0, 3.0]\nfisheye = false\n\n" for name, fx in (("cam01", 1681.2), ("cam02", 1673.7)))
        + "[metadata]\nadjusted = false\nerror = 0.0\n")
    assert load_calibration(f"{path}#cam02").camera_matrix[0, 0] == 1673.7
    with pytest.raises(CalibrationError, match=r"holds 2 cameras \(cam01, cam02\); name one as .*#NAME"):
        load_calibration(str(path))
    qca = load_calibration(f"{_qca()}#cam01")
    assert qca.image_size == (1088, 1920) and qca.camera == "cam01"
    assert qca.camera_matrix[0, 0] == pytest.approx(107599.671875 / 64)


def test_undistorted_points_reproject_to_the_distorted_ones(tmp_path):
    calibration = load_calibration(_opencv_yaml(tmp_path / "cam.yaml"))
    ideal = np.array([[100.0, 80.0], [640.0, 360.0], [1200.0, 700.0]])
    rays = np.concatenate([(ideal - K[:2, 2]) / np.diag(K)[:2], np.ones((3, 1))], axis=1)
    distorted, _ = cv2.projectPoints(rays, np.zeros(3), np.zeros(3), K, DIST)
    undistorted = calibration.undistort(distorted.reshape(-1, 2), 1280, 720)
    assert np.abs(undistorted - ideal).max() < 0.05  # px; the iterative undistortion converges this close here
    assert np.abs(distorted.reshape(-1, 2) - ideal).max() > 20  # and the lens moved the corner by more


@pytest.mark.parametrize("name, text, expected", [
    ("missing.yaml", None, "no such calibration file"),
    ("garbage.yaml", "%YAML:1.0\n: : [\n", "not a readable calibration"),
    ("empty.json", "{}", "no camera_matrix"),
    ("list.json", "[1, 2]", "expected a JSON object"),
    ("bad_matrix.json", json.dumps({"camera_matrix": [[1, 2], [3, 4]]}), "camera_matrix must be 3x3"),
    ("negative_f.json", json.dumps({"camera_matrix": [[-5, 0, 1], [0, 5, 1], [0, 0, 1]]}), "not a camera matrix"),
    ("bad_dist.json", json.dumps({"camera_matrix": K.tolist(), "dist_coeffs": [1, 2, 3]}), "dist_coeffs must be"),
    ("outside.json", json.dumps({"camera_matrix": K.tolist(), "image_size": [100, 100]}), "principal point"),
    ("nan.json", '{"camera_matrix": [[NaN, 0, 1], [0, 5, 1], [0, 0, 1]]}', "camera_matrix must be 3x3 numbers"),
    ("no_cams.toml", "[metadata]\nerror = 0.0\n", "no camera sections"),
    ("broken.toml", "[cam01\n", "not a readable calibration"),
    ("broken.qca.txt", "<calibration><cameras>", "cannot read the calibration"),
])
def test_bad_files_are_one_line_naming_them(tmp_path, name, text, expected):
    path = tmp_path / name
    if text is not None:
        path.write_text(text)
    with pytest.raises(CalibrationError) as error:
        load_calibration(str(path))
    message = str(error.value)
    assert message.startswith(str(path)) and expected in message and "\n" not in message


def test_process_records_the_calibrated_camera(tmp_path):
    matrix = np.array([[700.0, 0.0, 270.0], [0.0, 690.0, 480.0], [0.0, 0.0, 1.0]])
    calibration = _opencv_yaml(tmp_path / "cam.yaml", size=(544, 960), matrix=matrix)  # the bundled clip's size
    out = tmp_path / "out"
    run = subprocess.run([sys.executable, "main.py", "process", DEFAULT_SAMPLE, "--out", str(out), "--max-frames", "2",
                          "--format", "json", "--calibration", calibration], cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    track = json.loads((out / "sample_two_people.json").read_text())
    assert track["camera"] == {"fx": 700.0, "fy": 690.0, "cx": 270.0, "cy": 480.0}
    assert track["backend"]["calibration"]["file"] == calibration
    assert "no --calibration" not in run.stderr


def test_process_bad_calibration_is_one_line_before_any_model(tmp_path):
    run = subprocess.run([sys.executable, "main.py", "process", DEFAULT_SAMPLE, "--out", str(tmp_path / "out"),
                          "--calibration", str(tmp_path / "nope.yaml")], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 2
    assert run.stderr.strip().splitlines() == [f"error: --calibration {tmp_path / 'nope.yaml'}: no such calibration file"]
