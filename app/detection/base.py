"""Person detectors: find people boxes in a frame (the first stage of the top-down pipeline)."""

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from app.backends.base import BackendError
from app.types import Detection, Frame


class DetectorError(BackendError):
    """A detector cannot run (missing model file, unknown name); the message is one line."""


@dataclass(frozen=True)
class DetectorConfig:
    """Post-processing shared by all detectors."""

    min_score: float = 0.5  # measured on the bundled clip: people 0.5-0.98 (SSDLite), 0.7-0.98 (MediaPipe)
    nms_iou: float = 0.5  # two people side by side overlap less than this; duplicates overlap more
    max_people: int = 6  # the pose stage costs time per person; more than a few is a crowd


def check_frame(frame: Frame) -> np.ndarray:
    image = frame.image
    assert image.ndim == 3 and image.shape[2] == 3 and image.dtype == np.uint8, (image.shape, image.dtype)
    return image


class Detector(Protocol):
    """detect(frame) -> person boxes in full-frame pixels, highest score first."""

    name: str

    def detect(self, frame: Frame) -> list[Detection]: ...

    def close(self) -> None: ...


def nms(boxes_xyxy, scores, iou_threshold: float):
    """Greedy non-maximum suppression. boxes_xyxy (N, 4), scores (N,) -> kept indices, best first."""
    import numpy as np

    boxes = np.asarray(boxes_xyxy, dtype=np.float64).reshape(-1, 4)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    assert boxes.shape[0] == scores.shape[0], (boxes.shape, scores.shape)
    areas = np.clip(boxes[:, 2] - boxes[:, 0], 0, None) * np.clip(boxes[:, 3] - boxes[:, 1], 0, None)
    order = np.argsort(-scores, kind="stable")
    keep = []
    while order.size:
        best, rest = order[0], order[1:]
        keep.append(int(best))
        ix = np.clip(np.minimum(boxes[best, 2], boxes[rest, 2]) - np.maximum(boxes[best, 0], boxes[rest, 0]), 0, None)
        iy = np.clip(np.minimum(boxes[best, 3], boxes[rest, 3]) - np.maximum(boxes[best, 1], boxes[rest, 1]), 0, None)
        inter = ix * iy
        union = areas[best] + areas[rest] - inter
        iou = np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)
        order = rest[iou <= iou_threshold]
    return np.asarray(keep, dtype=np.int64)


def select_detections(
    boxes_xyxy, scores, width: int, height: int, min_score: float, nms_iou: float, max_people: int
) -> list[Detection]:
    """Boxes (N, 4) full-frame pixels + scores (N,) -> at most max_people Detections, best first.

    Boxes are clipped to the W x H frame; empty boxes and scores below min_score are dropped
    before NMS.
    """
    import numpy as np

    boxes = np.asarray(boxes_xyxy, dtype=np.float64).reshape(-1, 4).copy()
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    boxes[:, [0, 2]] = np.clip(boxes[:, [0, 2]], 0, width)
    boxes[:, [1, 3]] = np.clip(boxes[:, [1, 3]], 0, height)
    valid = (scores >= min_score) & (boxes[:, 2] - boxes[:, 0] >= 1) & (boxes[:, 3] - boxes[:, 1] >= 1)
    boxes, scores = boxes[valid], scores[valid]
    keep = nms(boxes, scores, nms_iou)[: max(0, max_people)]
    return [Detection(boxes[i].astype(np.float32), float(scores[i])) for i in keep]


class UnionDetector:
    """Runs several detectors and keeps the union of their boxes (NMS across them).

    Detectors fail on different people (SSDLite misses unusual clothing, MediaPipe misses people
    in some poses): together they miss fewer, at the sum of their costs.
    """

    def __init__(self, detectors: list, max_people: int, nms_iou: float = 0.5):
        self.detectors = detectors
        self.max_people = max_people
        self.nms_iou = nms_iou
        self.name = "+".join(d.name for d in detectors)

    def detect(self, frame: Frame) -> list[Detection]:
        import numpy as np

        found = [d for detector in self.detectors for d in detector.detect(frame)]
        if not found:
            return []
        boxes = np.array([d.box_xyxy for d in found])
        keep = nms(boxes, np.array([d.score for d in found]), self.nms_iou)[: self.max_people]
        return [found[i] for i in keep]

    def reset(self) -> None:
        """Reset the detectors that keep state between frames (between two unrelated inputs)."""
        for detector in self.detectors:
            if hasattr(detector, "reset"):
                detector.reset()

    def close(self) -> None:
        for detector in self.detectors:
            detector.close()
