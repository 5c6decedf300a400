"""Scripted (CI) runs of the window: stop after N results, save a screenshot of the whole window, exit code."""

from dataclasses import dataclass

from PyQt6.QtWidgets import QWidget

from model.atomic import atomic_path


@dataclass(frozen=True)
class ScriptedRun:
    """A headless run: stop after max_frames results, save a screenshot, quit with an exit code."""

    max_frames: int | None = None  # None = until the source ends
    screenshot: str | None = None  # PNG path of the whole window, written after the last result


def save_screenshot(widget: QWidget, path: str) -> None:
    """The whole widget as PNG, written atomically."""
    with atomic_path(path) as tmp:
        if not widget.grab().save(str(tmp), "PNG"):
            raise OSError("Qt could not encode the image")
