"""The 2D video overlay: each track's skeleton, joints and ID drawn with OpenCV in its track colour."""

from typing import Sequence

import cv2
import numpy as np

from app.colors import track_color_bgr
from model.net.skeleton import BONES, NUM_JOINTS
from app.types import Track

# Joints below this 2D confidence are not drawn (and neither are their bones): a guessed,
# occluded joint drawn at full strength misleads more than a gap does.
MIN_CONFIDENCE = 0.2


def draw_tracks(
    image_bgr: np.ndarray,
    tracks: Sequence[Track],
    scale: float = 1.0,
    min_confidence: float = MIN_CONFIDENCE,
) -> np.ndarray:
    """Returns a copy of image_bgr with every track drawn on it.

    image_bgr: (H, W, 3) uint8, already resized by `scale` from the frame the keypoints refer to
    (drawing after resizing keeps lines crisp and one thickness on screen). tracks: their
    pose.keypoints_2d (17, 3) are in the original frame's pixels.
    """
    assert image_bgr.ndim == 3 and image_bgr.shape[2] == 3 and image_bgr.dtype == np.uint8
    out = image_bgr.copy()
    height, width = out.shape[:2]
    # Line widths follow the image size so that the overlay reads the same on small and big views.
    thickness = max(2, round(min(height, width) / 160))
    radius = thickness + 1
    for track in tracks:
        keypoints = track.pose.keypoints_2d
        assert keypoints.shape == (NUM_JOINTS, 3)
        color = track_color_bgr(track.track_id)
        points = np.round(keypoints[:, :2] * scale).astype(np.int32)
        visible = np.isfinite(keypoints).all(axis=1) & (keypoints[:, 2] >= min_confidence)
        for parent, child in BONES:
            if visible[parent] and visible[child]:
                cv2.line(out, tuple(points[parent]), tuple(points[child]), color, thickness, cv2.LINE_AA)
        for joint in np.flatnonzero(visible):
            cv2.circle(out, tuple(points[joint]), radius, color, -1, cv2.LINE_AA)
        _draw_label(out, f"ID {track.track_id}", track.pose.box_xyxy * scale, color, thickness)
    return out


def _draw_label(image: np.ndarray, text: str, box_xyxy: np.ndarray, color, thickness: int) -> None:
    """A filled tag in the track colour at the top-left of the person box, kept inside the image."""
    if not np.isfinite(box_xyxy).all():
        return
    font_scale = 0.25 * thickness
    (text_w, text_h), baseline = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, font_scale, 1)
    pad = thickness
    height, width = image.shape[:2]
    x = int(np.clip(box_xyxy[0], 0, max(0, width - text_w - 2 * pad)))
    y = int(np.clip(box_xyxy[1] - text_h - baseline - 2 * pad, 0, max(0, height - text_h - 2 * pad)))
    cv2.rectangle(image, (x, y), (x + text_w + 2 * pad, y + text_h + baseline + 2 * pad), color, -1)
    cv2.putText(image, text, (x + pad, y + pad + text_h), cv2.FONT_HERSHEY_SIMPLEX, font_scale,
                (0, 0, 0), 1, cv2.LINE_AA)
