"""Hands results from the inference thread to the GUI thread through a queued Qt signal, keeping only the newest.

At most one wake-up is in flight, so a slow GUI drops results instead of queueing them; every result
(drawn or not) also goes to the recording sink on the inference thread.
"""

import threading
import time
from collections import deque

from PyQt6.QtCore import QObject, pyqtSignal

from app.types import FrameResult

FPS_WINDOW = 30  # results the FPS is averaged over: steady, yet follows a change within seconds


def events_per_second(times: list[float]) -> float | None:
    """The rate of events at increasing perf_counter() times: (n - 1) / span; None for fewer than two."""
    if len(times) < 2 or times[-1] <= times[0]:
        return None
    return (len(times) - 1) / (times[-1] - times[0])


class ResultMailbox(QObject):
    """on_result/on_status are called on pipeline threads; take() on the GUI thread."""

    ready = pyqtSignal()
    status = pyqtSignal(str)

    def __init__(self, max_results: int | None, recorder_sink):
        super().__init__()
        self._lock = threading.Lock()
        self._latest: tuple[int, FrameResult] | None = None
        self._wake_pending = False
        self._max_results = max_results
        self._recorder_sink = recorder_sink
        self.received = 0  # results delivered by the pipeline (not all of them are drawn)
        self.dropped = 0
        self._arrivals: deque[float] = deque(maxlen=FPS_WINDOW)

    def fps(self) -> float:
        """Results per second over the last FPS_WINDOW results (0 until two have come)."""
        with self._lock:
            arrivals = list(self._arrivals)
        return events_per_second(arrivals) or 0.0

    def on_result(self, result: FrameResult) -> None:
        """Called on the inference thread."""
        with self._lock:
            if self._max_results is not None and self.received >= self._max_results:
                return
            self.received += 1
            self._arrivals.append(time.perf_counter())
            if self._latest is not None:
                self.dropped += 1
            self._latest = (self.received, result)
            wake = not self._wake_pending
            self._wake_pending = True
        self._recorder_sink(result)
        if wake:
            self.ready.emit()

    def on_status(self, message: str) -> None:
        """Called on the inference/capture thread."""
        self.status.emit(message)

    def take(self) -> tuple[int, FrameResult] | None:
        """Called on the GUI thread: the newest (ordinal, result), or None."""
        with self._lock:
            latest, self._latest = self._latest, None
            self._wake_pending = False
            return latest
