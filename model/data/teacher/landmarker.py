"""Builds MediaPipe's multi-person PoseLandmarker from the model files bundled in the mediapipe wheel.

mediapipe 0.10.14 ships pose_detection.tflite and pose_landmark_full.tflite (Apache-2.0) but no
`.task` bundle, and the Tasks API wants one. A `.task` is a zip holding the two models under fixed
names; the landmark model also needs image-normalisation metadata ([0, 255] -> [0, 1]) that only
the legacy graph knew about. Building it in memory takes a fraction of a second and needs no
download, so nothing is cached on disk.
"""

import io
import os
import zipfile


DETECTOR_FILE = os.path.join("modules", "pose_detection", "pose_detection.tflite")
LANDMARKER_FILE = os.path.join("modules", "pose_landmark", "pose_landmark_full.tflite")


class TeacherError(RuntimeError):
    """The MediaPipe teacher cannot run (not installed, models missing); the message is one line."""


def _mediapipe_dir() -> str:
    try:
        import mediapipe
    except ImportError as exc:
        raise TeacherError(f"mediapipe is not installed ({exc}); run setup.sh") from exc
    return os.path.dirname(mediapipe.__file__)


def build_pose_task_bytes() -> bytes:
    """The PoseLandmarker `.task` bundle as bytes, from the wheel's bundled tflite models."""
    from mediapipe.tasks.python.metadata.metadata_writers import metadata_writer

    base = _mediapipe_dir()
    paths = [os.path.join(base, DETECTOR_FILE), os.path.join(base, LANDMARKER_FILE)]
    for path in paths:
        if not os.path.isfile(path):
            raise TeacherError(
                f"{path}: missing; this mediapipe wheel bundles no pose models (use mediapipe==0.10.14)"
            )
    with open(paths[0], "rb") as f:
        detector = f.read()
    with open(paths[1], "rb") as f:
        writer = metadata_writer.MetadataWriter.create(f.read())
    writer.add_image_input(norm_mean=[0.0], norm_std=[255.0])
    landmarker, _ = writer.populate()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        bundle.writestr("pose_detector.tflite", detector)
        bundle.writestr("pose_landmarks_detector.tflite", landmarker)
    return buffer.getvalue()


def create_pose_landmarker(
    num_poses: int = 1,
    video_mode: bool = False,
    min_detection_confidence: float = 0.5,
    min_presence_confidence: float = 0.5,
    min_tracking_confidence: float = 0.5,
):
    """A mediapipe.tasks PoseLandmarker (IMAGE or VIDEO running mode) on the CPU."""
    from mediapipe.tasks.python import BaseOptions, vision

    options = vision.PoseLandmarkerOptions(
        base_options=BaseOptions(model_asset_buffer=build_pose_task_bytes()),
        running_mode=vision.RunningMode.VIDEO if video_mode else vision.RunningMode.IMAGE,
        num_poses=num_poses,
        min_pose_detection_confidence=min_detection_confidence,
        min_pose_presence_confidence=min_presence_confidence,
        min_tracking_confidence=min_tracking_confidence,
    )
    return vision.PoseLandmarker.create_from_options(options)
