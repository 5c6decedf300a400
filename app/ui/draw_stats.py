"""What the window measures as it draws results: drawn rate, cost of a draw, screen latency, step times."""

import time
from collections import deque

from app.status import PIPELINE_STEPS
from app.types import FrameResult
from app.ui.mailbox import events_per_second

DRAWN_WINDOW = 30  # draws the drawn rate is averaged over (as the mailbox averages arrivals)


class DrawStats:
    """Running figures for the status line; GUI thread only."""

    def __init__(self):
        self.screen_latency_ms: float | None = None  # capture to screen of the last result drawn
        self.draw_ms: float | None = None  # exponential mean of the time to draw one result
        self.step_ms: dict[str, float] = {}  # exponential means of the pipeline's step times
        self._drawn_at: deque[float] = deque(maxlen=DRAWN_WINDOW)  # perf_counter seconds of the last draws

    def clear(self) -> None:
        """A new pipeline: forget the rates and step times of the last one (the latency stays until the next draw)."""
        self._drawn_at.clear()
        self.step_ms.clear()

    def drawn(self, result: FrameResult, started: float) -> None:
        """`result` was drawn; the draw began at `started` (time.perf_counter seconds)."""
        now = time.perf_counter()
        if result.frame.captured_at:
            self.screen_latency_ms = (now - result.frame.captured_at) * 1000
        cost = (now - started) * 1000
        self.draw_ms = cost if self.draw_ms is None else 0.8 * self.draw_ms + 0.2 * cost
        self._drawn_at.append(now)
        for step in (*PIPELINE_STEPS, "total"):
            if step in result.timings_ms:
                old = self.step_ms.get(step)
                value = result.timings_ms[step]
                self.step_ms[step] = value if old is None else 0.9 * old + 0.1 * value

    def drawn_fps(self) -> float | None:
        """Results drawn per second over the last DRAWN_WINDOW draws (None until two)."""
        return events_per_second(list(self._drawn_at))
