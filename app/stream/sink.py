"""Streams every live result to a VMC receiver while switched on: the app's Stream toggle (Qt-free).

__call__ runs on the pipeline's inference thread (every result, drawn or not, like the recording sink);
start()/stop() on the GUI thread; a lock keeps them apart. A network failure while streaming does not
stop the pipeline: it is kept in `error` for the window to show, and streaming stops.
"""

import threading

from app.stream.performer import Streamer
from app.stream.vmc import VmcError, VmcSender
from app.types import FrameResult


class StreamSink:
    """The app's VMC stream: off until start(target); one performer (app.stream.performer)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._streamer: Streamer | None = None
        self.error: str | None = None  # one line, set when sending failed (streaming has stopped)

    @property
    def active(self) -> bool:
        return self._streamer is not None

    @property
    def target(self) -> str:
        """'HOST:PORT' while streaming, else ''."""
        streamer = self._streamer
        return str(streamer.sender.target) if streamer is not None else ""

    @property
    def frames_sent(self) -> int:
        streamer = self._streamer
        return streamer.sender.frames_sent if streamer is not None else 0

    def start(self, target: str, track_id: int | None = None) -> None:
        """Start (or retarget) streaming; raises VmcError with one line for a bad or unreachable target."""
        sender = VmcSender(target)
        with self._lock:
            previous, self._streamer, self.error = self._streamer, Streamer(sender, track_id), None
        if previous is not None:
            previous.close()

    def stop(self) -> None:
        with self._lock:
            streamer, self._streamer = self._streamer, None
        if streamer is not None:
            streamer.close()

    def new_source(self) -> None:
        """Track ids start again with a new source or pipeline: choose the performer afresh."""
        with self._lock:
            if self._streamer is not None:
                self._streamer = Streamer(self._streamer.sender, self._streamer.picker.track_id)

    def __call__(self, result: FrameResult) -> None:
        with self._lock:
            if self._streamer is None:
                return
            try:
                self._streamer.send(result)
            except VmcError as exc:
                self.error = str(exc)
                self._streamer.close()
                self._streamer = None
