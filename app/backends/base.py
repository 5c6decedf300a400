"""The pose-backend interface every backend (MediaPipe, the cascaded network) implements."""

from typing import Protocol, Sequence

import numpy as np

from app.types import Detection, Frame


class BackendError(RuntimeError):
    """A backend cannot run (missing model file, unsupported device); the message is one line."""


class PoseBackend(Protocol):
    """Estimates root-relative poses for all people of one frame in one batched call.

    estimate(frame, detections) returns one (keypoints_2d, joints_3d) pair per detection, in the
    same order: keypoints_2d (17, 3) image pixels + confidence; joints_3d (17, 3) millimetres,
    camera axes, root-relative. A person the backend could not estimate is returned as None.
    Absolute placement (the root in camera space) is done afterwards by app.people.placement.
    """

    name: str
    device: str

    def estimate(
        self, frame: Frame, detections: Sequence[Detection]
    ) -> list[tuple[np.ndarray, np.ndarray] | None]: ...

    def close(self) -> None: ...
