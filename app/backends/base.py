"""The pose-backend interface every backend (MediaPipe, the cascaded network) implements."""

from typing import Protocol, Sequence

import numpy as np

from app.types import Detection, Frame


class BackendError(RuntimeError):
    """A backend cannot run (missing model file, unsupported device); the message is one line."""


class PoseEstimate(tuple):
    """A (keypoints_2d, joints_3d) pair that also carries the backend's own person score, .score in [0, 1],
    and its verdict, .is_person (the score reached the backend's threshold).

    It unpacks and indexes like the plain pair every backend returns, so code that only needs the pose
    is unchanged; the pipeline takes .score, where there is one, as the pose's score instead of the
    detector's box score, and a pose that is not a person may follow (and, in a detector's box, confirm)
    a person already tracked but never starts a track (app.processor, app.people.tracking)."""

    score: float
    is_person: bool

    def __new__(cls, keypoints_2d: np.ndarray, joints_3d: np.ndarray, score: float,
                is_person: bool = True) -> "PoseEstimate":
        pair = super().__new__(cls, (keypoints_2d, joints_3d))
        pair.score = float(score)
        pair.is_person = bool(is_person)
        return pair


class PoseBackend(Protocol):
    """Estimates root-relative poses for all people of one frame in one batched call.

    estimate(frame, detections) returns one (keypoints_2d, joints_3d) pair per detection, in the
    same order: keypoints_2d (17, 3) image pixels + confidence; joints_3d (17, 3) millimetres,
    camera axes, root-relative. A person the backend could not estimate (or that it judges is not a
    person) is returned as None. A backend with its own person score returns PoseEstimate pairs.
    Absolute placement (the root in camera space) is done afterwards by app.people.placement.
    """

    name: str
    device: str

    def estimate(
        self, frame: Frame, detections: Sequence[Detection]
    ) -> list[tuple[np.ndarray, np.ndarray] | None]: ...

    def close(self) -> None: ...
