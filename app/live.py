"""The live pipeline: capture thread -> latest-frame slot (size 1) -> inference thread -> FrameResult callbacks.

Stale frames are dropped, never queued, so latency stays at one frame; the per-frame work is
app.processor.FrameProcessor.
"""

import threading
import time
from typing import Callable

from app.memory import limit_malloc_arenas, release_freed_memory
from app.processor import FrameProcessor, PipelineConfig
from app.sources import FrameSource, SourceError, open_source
from app.types import FrameResult


class LatestSlot:
    """A one-item mailbox between the capture and inference threads.

    Live sources (cameras, files paced in real time) overwrite: put() replaces an unread item,
    so the inference thread always gets the newest frame and stale ones are dropped. In lossless
    mode (files read as fast as possible) put() waits until the item was taken instead.
    """

    def __init__(self, lossless: bool = False):
        self.lossless = lossless
        self._item = None
        self._cond = threading.Condition()
        self.dropped = 0

    def put(self, item, stop: threading.Event) -> None:
        with self._cond:
            while self.lossless and self._item is not None and not stop.is_set():
                self._cond.wait(0.1)
            if self._item is not None:
                self.dropped += 1
            self._item = item
            self._cond.notify_all()

    def get(self, timeout: float) -> object | None:
        with self._cond:
            if self._item is None:
                self._cond.wait(timeout)
            item, self._item = self._item, None
            self._cond.notify_all()
            return item


class Pipeline:
    """Live processing on two threads; on_result/on_status are called from the inference thread."""

    def __init__(
        self,
        config: PipelineConfig,
        on_result: Callable[[FrameResult], None],
        on_status: Callable[[str], None] = lambda message: None,
        processor: FrameProcessor | None = None,
        max_frames: int | None = None,
    ):
        self.config = config
        self.on_result, self.on_status = on_result, on_status
        self.processor = processor
        self._owns_processor = processor is None  # a processor passed in is the caller's to close
        self.max_frames = max_frames  # stop after this many results (scripted runs)
        self.source: FrameSource | None = None
        self.frames_done = 0
        self.error: str | None = None
        self.finished = threading.Event()
        self._stop = threading.Event()
        self._resume = threading.Event()
        self._resume.set()
        self._slot = LatestSlot()
        self._capture_done = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def paused(self) -> bool:
        return not self._resume.is_set()

    def set_paused(self, paused: bool) -> None:
        (self._resume.clear if paused else self._resume.set)()

    def set_smoothing(self, enabled: bool) -> None:
        if self.processor is not None:
            self.processor.set_smoothing(enabled)

    def start(self) -> None:
        """Open the source and the models (raises SourceError / BackendError), then start threads."""
        limit_malloc_arenas()  # the threads of every pipeline would get new arenas (app/memory.py: the window leak)
        self.source = open_source(self.config.source, loop=self.config.loop, realtime=self.config.realtime,
                                  live=self.config.live)
        # A file read as fast as it decodes would be dropped almost whole: process every frame.
        self._slot.lossless = not self.source.is_camera and not self.config.realtime
        try:
            if self.processor is None:
                self.processor = FrameProcessor(self.config)
        except Exception:
            self.source.close()
            raise
        self._threads = [
            threading.Thread(target=self._capture_loop, name="capture", daemon=True),
            threading.Thread(target=self._inference_loop, name="inference", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def _fail(self, message: str) -> None:
        self.error = message
        self.on_status(message)

    def _capture_loop(self) -> None:
        try:
            for frame in self.source:
                while not self._resume.is_set() and not self._stop.is_set():
                    if self.source.is_camera:
                        break  # a camera keeps streaming; its frames are simply not processed
                    self._resume.wait(0.05)
                if self._stop.is_set():
                    return
                if self._resume.is_set():
                    self._slot.put(frame, self._stop)
        except SourceError as exc:
            self._fail(str(exc))
        except Exception as exc:  # a broken driver must not kill the app silently
            self._fail(f"{self.source.description}: capture failed: {exc}")
        finally:
            self.source.close()
            self._capture_done.set()

    def _inference_loop(self) -> None:
        try:
            while not self._stop.is_set():
                done = self._capture_done.is_set()  # read before get(): no frame can follow it
                item = self._slot.get(timeout=0.1)
                if item is None:
                    if done:
                        self.finished.set()
                        return
                    continue
                result = self.processor.process(item, self.source.fps)
                self.frames_done += 1
                self.on_result(result)
                if self.max_frames is not None and self.frames_done >= self.max_frames:
                    self._stop.set()  # the capture thread stops too
                    self.finished.set()
                    return
        except Exception as exc:
            self._fail(f"inference failed: {type(exc).__name__}: {exc}")
            self.finished.set()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop both threads, release the source and the models; never blocks longer than timeout."""
        self._stop.set()
        self._resume.set()
        if self.source is not None:
            self.source.interrupt()  # a live source waiting for frames (reconnecting) lets go at once
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        if self._owns_processor and self.processor is not None and not any(t.is_alive() for t in self._threads):
            self.processor.close()
            self.processor = None
            release_freed_memory()
        self._threads = []
