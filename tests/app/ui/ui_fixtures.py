"""Hand-made people (standing skeletons at chosen places) and colour counting, for the UI tests."""

import time

import cv2
import numpy as np

from app.colors import track_color
from app.types import CameraIntrinsics, Frame, FrameResult, PersonPose, Track

# A person standing upright facing the camera, root-relative camera axes (x right, y down), mm.
STANDING_MM = np.array([
    (0, 0, 0), (-130, 0, 0), (-130, 450, 0), (-130, 880, 0), (130, 0, 0), (130, 450, 0), (130, 880, 0),
    (0, -230, 0), (0, -480, 0), (0, -580, -90), (0, -700, 0),
    (180, -460, 0), (200, -200, 0), (210, 40, 0), (-180, -460, 0), (-200, -200, 0), (-210, 40, 0),
], dtype=np.float64)

CAMERA = CameraIntrinsics.from_fov(640, 480, 60.0)


def tilt_x(points: np.ndarray, degrees: float) -> np.ndarray:
    """Rotates (N, 3) points about the camera x axis (what a camera pitched up or down sees)."""
    a = np.radians(degrees)
    rotation = np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])
    return points @ rotation.T


def standing_track(track_id: int, root_mm, camera: CameraIntrinsics = CAMERA, tilt_deg: float = 0.0) -> Track:
    """A Track standing at root_mm (camera space) whose 2D keypoints are its exact projection."""
    root = np.asarray(root_mm, dtype=np.float64)
    joints = tilt_x(STANDING_MM, tilt_deg)
    absolute = joints + root
    keypoints = np.ones((17, 3))
    keypoints[:, 0] = camera.fx * absolute[:, 0] / absolute[:, 2] + camera.cx
    keypoints[:, 1] = camera.fy * absolute[:, 1] / absolute[:, 2] + camera.cy
    box = np.array([keypoints[:, 0].min(), keypoints[:, 1].min(), keypoints[:, 0].max(), keypoints[:, 1].max()])
    return Track(track_id, PersonPose(box, keypoints, joints, root, 0.9), age=3)


def frame_result(tracks, camera: CameraIntrinsics = CAMERA, index: int = 0) -> FrameResult:
    image = np.full((int(camera.cy * 2), int(camera.cx * 2), 3), 40, np.uint8)
    return FrameResult(Frame(index, index / 30.0, image), tuple(tracks), camera, {"total": 1.0})


def track_hue_mask(image_rgb: np.ndarray, track_id: int, hue_tolerance_deg: float = 14.0) -> np.ndarray:
    """(H, W) bool: pixels whose hue is the track colour's (lit or shaded) and that are clearly coloured.

    Saturation >= 0.4 and value >= 0.25 leave out the grey grid, the dark background and the
    anti-aliased edges; hue alone survives Open3D's lighting, which changes only brightness.
    """
    r, g, b = track_color(track_id)
    swatch = np.array([[[r * 255, g * 255, b * 255]]], dtype=np.uint8)
    target_hue = int(cv2.cvtColor(swatch, cv2.COLOR_RGB2HSV)[0, 0, 0])
    hsv = cv2.cvtColor(np.ascontiguousarray(image_rgb), cv2.COLOR_RGB2HSV).astype(np.int32)
    difference = np.abs(hsv[..., 0] - target_hue)
    difference = np.minimum(difference, 180 - difference)  # OpenCV hue: 0..179, 2 degrees per unit
    return (difference * 2 <= hue_tolerance_deg) & (hsv[..., 1] >= 102) & (hsv[..., 2] >= 64)


def track_exact_mask(image_rgb: np.ndarray, track_id: int, tolerance: int = 12) -> np.ndarray:
    """(H, W) bool: pixels within `tolerance` per channel of the track colour (the flat 2D overlay)."""
    r, g, b = track_color(track_id)
    target = np.array([r, g, b]) * 255
    return (np.abs(image_rgb.astype(np.int32) - target.round().astype(np.int32)) <= tolerance).all(axis=-1)


def wait_until(app, predicate, timeout_s: float) -> bool:
    """Runs the Qt event loop until predicate() is true; False if timeout_s passed first."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        app.processEvents()
        if predicate():
            return True
        time.sleep(0.01)
    app.processEvents()
    return predicate()
