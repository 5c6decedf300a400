"""MediaPipe BlazePose backend: the teacher of model/data/teacher on each person crop (33 -> 17 joints there)."""

import numpy as np

from app.backends.base import BackendError
from app.types import Detection, Frame
from model.data.teacher import BlazePoseCropTeacher, TeacherError
from model.data.teacher.blazepose import CROP_PADDING, CROP_SIZE


class MediaPipeBackend:
    """PoseBackend on MediaPipe's BlazePose full model, CPU only, one landmarker call per person."""

    name = "mediapipe"

    def __init__(self, device: str = "cpu", crop_size: int = CROP_SIZE, crop_padding: float = CROP_PADDING):
        if device not in ("cpu", "auto"):
            raise BackendError(f"mediapipe backend runs on the CPU only, not on '{device}'")
        self.device = "cpu"
        try:
            self._teacher = BlazePoseCropTeacher(crop_size, crop_padding)
        except TeacherError as e:
            raise BackendError(str(e)) from None

    def estimate(self, frame: Frame, detections: list[Detection]) -> list[tuple[np.ndarray, np.ndarray] | None]:
        return self._teacher.estimate(frame.image, [d.box_xyxy for d in detections])

    def close(self) -> None:
        self._teacher.close()
