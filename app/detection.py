"""Person detectors: find people boxes in a frame (the first stage of the top-down pipeline)."""

from typing import Protocol

from app.types import Detection, Frame


class Detector(Protocol):
    """detect(frame) -> person boxes in full-frame pixels, highest score first."""

    name: str

    def detect(self, frame: Frame) -> list[Detection]: ...

    def close(self) -> None: ...
