"""A person detector on its own thread: it works on one frame while the pose network works on the next ones.

The processing thread hands it a frame (submit) when it is idle and picks up the boxes later (take),
a frame or two after they were asked for; wait() blocks until the frame in flight is done, for when
there is nobody to follow in the meantime. The detector's native code (MediaPipe, ONNX Runtime)
releases the GIL, so on a 2-core CPU it runs beside the pose network instead of before it.
"""

import threading

from app.types import Detection, Frame


class BackgroundDetector:
    """Wraps a Detector (app.detection.base) and owns it: close() stops the thread and closes the detector.

    One frame at a time: submit() returns False while a frame is still being detected. A detector
    error is raised again by the next take() or wait() on the caller's thread.
    """

    def __init__(self, detector):
        self.detector = detector
        self.name = getattr(detector, "name", type(detector).__name__)
        self._cond = threading.Condition()
        self._job: Frame | None = None
        self._busy = False
        self._done: tuple[Frame, list[Detection]] | None = None
        self._error: BaseException | None = None
        self._stop = False
        self._thread = threading.Thread(target=self._loop, name="detector", daemon=True)
        self._thread.start()

    @property
    def busy(self) -> bool:
        return self._busy

    def submit(self, frame: Frame) -> bool:
        """Start detecting `frame` unless a frame is in flight; True if it was taken."""
        with self._cond:
            if self._busy or self._stop:
                return False
            self._job, self._busy = frame, True
            self._cond.notify_all()
            return True

    def take(self) -> tuple[Frame, list[Detection]] | None:
        """The newest finished (frame, detections) not taken yet, or None."""
        with self._cond:
            return self._pop()

    def wait(self, timeout: float | None = None) -> tuple[Frame, list[Detection]] | None:
        """Blocks until no frame is in flight, then take()."""
        with self._cond:
            self._cond.wait_for(lambda: not self._busy, timeout)
            return self._pop()

    def settle(self, timeout: float | None = None) -> None:
        """Blocks until no frame is in flight; the result stays to be taken (benchmarks time contenders apart)."""
        with self._cond:
            self._cond.wait_for(lambda: not self._busy, timeout)

    def _pop(self) -> tuple[Frame, list[Detection]] | None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        done, self._done = self._done, None
        return done

    def _loop(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._job is not None or self._stop)
                if self._stop:
                    return
                frame, self._job = self._job, None
            try:
                done, error = (frame, self.detector.detect(frame)), None
            except BaseException as exc:  # handed to the processing thread, which reports it
                done, error = None, exc
            with self._cond:
                self._done, self._error, self._busy = done, error, False
                self._cond.notify_all()

    def close(self, timeout: float = 5.0) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        self._thread.join(timeout)
        if not self._thread.is_alive():  # a detector still running must not be closed under it
            self.detector.close()
