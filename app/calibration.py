"""Camera calibration files (--calibration): OpenCV YAML/XML/JSON, Pose2Sim TOML and Qualisys .qca.txt, read into one record.

Formats (one owner here; Qualisys parsing is model.data.multiview's):
- OpenCV FileStorage YAML/XML, or JSON with the same keys: camera_matrix (3x3; also K or cameraMatrix; as nested
  lists or OpenCV's {rows, cols, data}), dist_coeffs (also distortion_coefficients, D; k1 k2 p1 p2 [k3 ...]),
  and the image size the matrix is for: image_width + image_height, or image_size [width, height].
- Pose2Sim TOML (what Pose2Sim's calibration step writes): one [section] per camera with name, size
  [width, height], matrix (3x3) and distortions (k1 k2 p1 p2).
- Qualisys .qca.txt (what the Pose2Sim wheel's demos ship as Calib.qca.txt).
A file with several cameras needs one named: `FILE#NAME` (e.g. Calib.qca.txt#cam01).
"""

import json
import math
import os
import tomllib
from dataclasses import dataclass

import cv2
import numpy as np

from app.types import CameraIntrinsics
from model.data.multiview import CalibrationError as QcaError
from model.data.multiview import read_qca

MATRIX_KEYS = ("camera_matrix", "K", "cameraMatrix")
DIST_KEYS = ("dist_coeffs", "distortion_coefficients", "D", "distCoeffs")
FOV_HINT = "give the camera's calibration with --calibration FILE (OpenCV YAML/JSON, Pose2Sim TOML) or its lens with --fov DEG"


class CalibrationError(ValueError):
    """A calibration file that cannot be used; str() is one line naming the file and the problem."""


@dataclass(frozen=True, eq=False)
class Calibration:
    """One camera's intrinsics from a file.

    camera_matrix: (3, 3) pixels, for images of image_size (width, height) pixels, or None when the file does
    not say (then it is taken as is for any size). dist_coeffs: (N,) OpenCV order k1, k2, p1, p2[, k3, ...].
    path: the file; camera: the camera's name within it ('' for single-camera files).
    """

    camera_matrix: np.ndarray
    dist_coeffs: np.ndarray
    image_size: tuple[int, int] | None
    path: str
    camera: str = ""

    def matrix_for(self, width: int, height: int) -> np.ndarray:
        """(3, 3) the matrix for frames of width x height: scaled per axis where the calibration's size differs
        (a camera delivering a smaller mode of the same sensor area)."""
        if self.image_size is None or self.image_size == (width, height):
            return self.camera_matrix
        scale = np.diag([width / self.image_size[0], height / self.image_size[1], 1.0])
        return scale @ self.camera_matrix

    def intrinsics(self, width: int, height: int) -> CameraIntrinsics:
        k = self.matrix_for(width, height)
        return CameraIntrinsics(float(k[0, 0]), float(k[1, 1]), float(k[0, 2]), float(k[1, 2]))

    def undistort(self, points: np.ndarray, width: int, height: int) -> np.ndarray:
        """(N, 2) image pixels -> (N, 2) pixels of the same camera without lens distortion (cv2.undistortPoints,
        projected back with the same matrix), so that the pinhole placement holds."""
        if not np.any(self.dist_coeffs):
            return points
        k = self.matrix_for(width, height)
        undistorted = cv2.undistortPoints(points.reshape(-1, 1, 2).astype(np.float64), k, self.dist_coeffs, P=k)
        return undistorted.reshape(-1, 2)

    def to_dict(self) -> dict:
        """For output files: where the camera model came from."""
        return {"file": self.path, "camera": self.camera, "image_size": list(self.image_size or ()),
                "dist_coeffs": [float(v) for v in self.dist_coeffs]}


def load_calibration(spec: str) -> Calibration:
    """Read `FILE` or `FILE#CAMERA`; raises CalibrationError (one line naming the file) when it cannot be used."""
    path, name = spec, ""
    if not os.path.exists(spec) and "#" in spec:
        path, name = spec.rsplit("#", 1)
    if not os.path.isfile(path):
        raise CalibrationError(f"{path}: no such calibration file")
    lowered = path.lower()
    try:
        if lowered.endswith(".toml"):
            cameras = _read_toml(path)
        elif lowered.endswith(".qca.txt"):
            cameras = _read_qca(path)
        elif lowered.endswith(".json"):
            cameras = {"": _read_mapping(_json(path), path)}
        else:
            cameras = {"": _read_mapping(_filestorage(path), path)}
    except CalibrationError:
        raise
    except SystemError:  # what OpenCV's FileStorage raises on a YAML/XML syntax error
        raise CalibrationError(f"{path}: not a readable calibration (YAML/XML syntax error)") from None
    except (OSError, ValueError, TypeError, KeyError, IndexError, cv2.error, tomllib.TOMLDecodeError) as exc:
        raise CalibrationError(f"{path}: not a readable calibration ({' '.join(str(exc).split())[:200]})") from None
    return _pick(cameras, name, path)


def _pick(cameras: dict, name: str, path: str) -> Calibration:
    if name:
        if name not in cameras:
            raise CalibrationError(f"{path}: no camera '{name}' (it has {', '.join(cameras) or 'none'})")
        return cameras[name]
    if len(cameras) != 1:
        raise CalibrationError(f"{path}: holds {len(cameras)} cameras ({', '.join(cameras)}); "
                               f"name one as {path}#NAME")
    return next(iter(cameras.values()))


def _checked(matrix, dist, size, path: str, camera: str = "") -> Calibration:
    where = f"{path}" + (f" camera {camera}" if camera else "")
    matrix = np.asarray(matrix, dtype=np.float64)
    dist = np.asarray(dist if dist is not None else [], dtype=np.float64).reshape(-1)
    if matrix.size == 9:
        matrix = matrix.reshape(3, 3)
    if matrix.shape != (3, 3) or not np.all(np.isfinite(matrix)):
        raise CalibrationError(f"{where}: camera_matrix must be 3x3 numbers, got shape {matrix.shape}")
    fx, fy, cx, cy = matrix[0, 0], matrix[1, 1], matrix[0, 2], matrix[1, 2]
    if fx <= 0 or fy <= 0 or matrix[2, 2] != 1.0 or matrix[1, 0] or matrix[2, 0] or matrix[2, 1]:
        raise CalibrationError(f"{where}: camera_matrix is not a camera matrix (fx, fy > 0; last row 0 0 1)")
    if dist.size not in (0, 4, 5, 8, 12, 14) or not np.all(np.isfinite(dist)):
        raise CalibrationError(f"{where}: dist_coeffs must be 4, 5, 8, 12 or 14 numbers, got {dist.size}")
    if size is not None:
        size = tuple(int(v) for v in size)
        if len(size) != 2 or min(size) <= 0:
            raise CalibrationError(f"{where}: image size must be two positive numbers (width, height)")
        if not (0 <= cx <= size[0] and 0 <= cy <= size[1]):
            raise CalibrationError(f"{where}: principal point ({cx:g}, {cy:g}) lies outside the "
                                   f"{size[0]}x{size[1]} image")
    return Calibration(matrix, dist, size, path, camera)


def _first(mapping, keys, path: str, what: str, required: bool = True):
    for key in keys:
        if key in mapping and mapping[key] is not None:
            return mapping[key]
    if required:
        raise CalibrationError(f"{path}: no {what} (looked for {', '.join(keys)})")
    return None


def _matrix_value(value):
    """Nested lists, or OpenCV's JSON/YAML {rows, cols, data}."""
    if isinstance(value, dict):
        return np.asarray(value["data"], dtype=np.float64).reshape(int(value["rows"]), int(value["cols"]))
    return value


def _read_mapping(mapping: dict, path: str) -> Calibration:
    matrix = _matrix_value(_first(mapping, MATRIX_KEYS, path, "camera_matrix"))
    dist = _matrix_value(_first(mapping, DIST_KEYS, path, "dist_coeffs", required=False))
    size = mapping.get("image_size")
    if size is None and "image_width" in mapping and "image_height" in mapping:
        size = (mapping["image_width"], mapping["image_height"])
    if size is not None:
        size = np.asarray(size, dtype=np.float64).reshape(-1)
        if size.size != 2 or not all(math.isfinite(v) and v == int(v) for v in size):
            raise CalibrationError(f"{path}: image size must be two whole numbers (width, height)")
    return _checked(matrix, dist, size, path)


def _json(path: str) -> dict:
    with open(path, encoding="utf-8") as file:
        data = json.load(file)
    if not isinstance(data, dict):
        raise CalibrationError(f"{path}: expected a JSON object with camera_matrix and dist_coeffs")
    return data


def _filestorage(path: str) -> dict:
    """OpenCV FileStorage (YAML or XML) -> {key: value}; matrices as arrays."""
    storage = cv2.FileStorage(path, cv2.FILE_STORAGE_READ)
    try:
        if not storage.isOpened():
            raise CalibrationError(f"{path}: not an OpenCV YAML/XML or JSON calibration file")
        values = {}
        for key in (*MATRIX_KEYS, *DIST_KEYS, "image_width", "image_height", "image_size"):
            node = storage.getNode(key)
            if not node.empty() and not node.isNone():
                values[key] = _node_value(node)
        return values
    finally:
        storage.release()


def _node_value(node):
    """A FileStorage node as numbers: an opencv-matrix as an array, a plain sequence (nested or not) as lists."""
    if node.isMap():
        return node.mat()
    if node.isSeq():
        return [_node_value(node.at(i)) for i in range(node.size())]
    return node.real()


def _read_toml(path: str) -> dict[str, Calibration]:
    with open(path, "rb") as file:
        data = tomllib.load(file)
    cameras = {}
    for section, block in data.items():
        if not isinstance(block, dict) or "matrix" not in block:
            continue  # e.g. Pose2Sim's [metadata]
        name = str(block.get("name", section))
        cameras[name] = _checked(block["matrix"], block.get("distortions"), block.get("size"), path, name)
    if not cameras:
        raise CalibrationError(f"{path}: no camera sections (Pose2Sim TOML: [name] with matrix, distortions, size)")
    return cameras


def _read_qca(path: str) -> dict[str, Calibration]:
    try:
        cameras = read_qca(path)
    except QcaError as exc:
        raise CalibrationError(str(exc)) from None
    return {c.name: _checked(c.K, c.dist, c.size, path, c.name) for c in cameras}
