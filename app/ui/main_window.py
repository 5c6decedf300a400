"""The main window: live video with 2D skeletons, the 3D viewport, controls and a status line.

Threads: the Pipeline calls on_result on its inference thread. _ResultMailbox keeps only the
newest result and wakes the GUI thread through a queued signal, at most one wake-up in flight,
so a slow GUI drops results instead of queueing them; the GUI thread only draws.
"""

import dataclasses
import importlib.util
import os
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime

from PyQt6.QtCore import QObject, Qt, QTimer, pyqtSignal
from PyQt6.QtWidgets import (
    QCheckBox, QComboBox, QFileDialog, QLabel, QMainWindow, QMessageBox, QPushButton,
    QSpinBox, QSplitter, QToolBar, QWidget,
)

from app.pipeline import BACKENDS, Pipeline, PipelineConfig
from app.types import FrameResult
from app.ui.widgets import VideoView, View3D

STATS_INTERVAL_MS = 500  # how often the status line is refreshed
FPS_WINDOW = 30  # results the FPS is averaged over: steady, yet follows a change within seconds
STOP_TIMEOUT_S = 5.0  # Pipeline.stop never blocks longer than this


def available_devices() -> list[str]:
    """'cpu', plus 'cuda' where PyTorch sees a GPU (torch is imported only to ask)."""
    devices = ["cpu"]
    if importlib.util.find_spec("torch") is not None:
        try:
            import torch

            if torch.cuda.is_available():
                devices.append("cuda")
        except Exception:  # a broken CUDA install still leaves the CPU
            pass
    return devices


@dataclass(frozen=True)
class ScriptedRun:
    """A headless run: stop after max_frames results, save a screenshot, quit with an exit code."""

    max_frames: int | None = None  # None = until the source ends
    screenshot: str | None = None  # PNG path of the whole window, written after the last result


class _ResultMailbox(QObject):
    """Hands results from the inference thread to the GUI thread, keeping only the newest."""

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
        if len(arrivals) < 2 or arrivals[-1] <= arrivals[0]:
            return 0.0
        return (len(arrivals) - 1) / (arrivals[-1] - arrivals[0])

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


class _RecordingSink:
    """Feeds every result (not only the drawn ones) to an app.recording.TrackRecorder.

    add() runs on the inference thread, start()/detach() on the GUI thread; the lock makes sure the
    recorder is never used by both at once, and whoever detaches it closes it (writing BVH) outside the lock.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._recorder = None
        self.error: str | None = None  # set when writing failed; the GUI reports it and stops

    @property
    def active(self) -> bool:
        return self._recorder is not None

    def start(self, recorder) -> None:
        with self._lock:
            self._recorder, self.error = recorder, None

    def __call__(self, result: FrameResult) -> None:
        with self._lock:
            if self._recorder is None or self.error is not None:
                return
            try:
                self._recorder.add(result)
            except Exception as exc:  # a full disk must not stop the live pipeline
                self.error = f"recording failed: {_one_line(exc)}"

    def detach(self):
        """Stops feeding the recorder and hands it over (None if none was recording); the caller closes it."""
        with self._lock:
            recorder, self._recorder = self._recorder, None
        return recorder


class MainWindow(QMainWindow):
    """The app window. `config` is the first pipeline to run; `scripted` makes it a headless run."""

    recording_finished = pyqtSignal(str, bool)  # status message, whether it is an error

    def __init__(self, config: PipelineConfig, scripted: ScriptedRun | None = None,
                 recordings_dir: str = "recordings"):
        super().__init__()
        self.config = config
        self.scripted = scripted
        self.recordings_dir = recordings_dir
        self.exit_code = 0
        self.pipeline: Pipeline | None = None
        self.last_error: str | None = None
        self.last_result: FrameResult | None = None
        self._mailbox: _ResultMailbox | None = None
        self._recording = _RecordingSink()
        # Closing a recorder writes the final JSON and a BVH per track: tens of seconds after a long
        # session, so it runs on its own thread and the window stays responsive (closeEvent waits).
        self._closers: list[threading.Thread] = []
        self.recording_finished.connect(self._on_recording_finished, Qt.ConnectionType.QueuedConnection)
        self._screen_latency_ms: float | None = None
        self._finishing = False
        self._closed = False

        self.setWindowTitle("Cascade3D: real-time 3D human pose")
        self.resize(1280, 720)
        self.video = VideoView()
        self.view3d = View3D()
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.video)
        splitter.addWidget(self.view3d)
        splitter.setSizes([620, 660])
        self.setCentralWidget(splitter)
        self._build_controls()
        self.stats_label = QLabel("starting…")
        self.statusBar().addWidget(self.stats_label, 1)
        if self.view3d.unavailable:
            print(self.view3d.unavailable, file=sys.stderr, flush=True)

        self._timer = QTimer(self)
        self._timer.timeout.connect(self._tick)
        self._timer.start(STATS_INTERVAL_MS)
        # Start after the event loop runs, so that a scripted run's exit code reaches app.exec().
        QTimer.singleShot(0, lambda: self.start_pipeline(self.config))

    # ---- controls ------------------------------------------------------------------------

    def _build_controls(self) -> None:
        bar = QToolBar("controls")
        bar.setMovable(False)
        self.addToolBar(bar)

        bar.addWidget(QLabel(" Camera "))
        self.camera_spin = QSpinBox()
        self.camera_spin.setRange(0, 16)
        self.camera_spin.setToolTip("camera index (0 = the default camera)")
        bar.addWidget(self.camera_spin)
        self.camera_button = QPushButton("Open camera")
        self.camera_button.clicked.connect(lambda: self.change_source(str(self.camera_spin.value())))
        bar.addWidget(self.camera_button)
        self.file_button = QPushButton("Open file…")
        self.file_button.setToolTip("a video, an image or a folder of images")
        self.file_button.clicked.connect(self._open_file_dialog)
        bar.addWidget(self.file_button)
        bar.addSeparator()

        self.pause_button = QPushButton("Pause")
        self.pause_button.setCheckable(True)
        self.pause_button.toggled.connect(self.set_paused)
        bar.addWidget(self.pause_button)
        bar.addSeparator()

        bar.addWidget(QLabel(" Backend "))
        self.backend_combo = QComboBox()
        self.backend_combo.addItems(BACKENDS)
        self.backend_combo.setCurrentText(self.config.backend)
        self.backend_combo.currentTextChanged.connect(lambda name: self.change_config(backend=name))
        bar.addWidget(self.backend_combo)
        bar.addWidget(QLabel(" Device "))
        self.device_combo = QComboBox()
        devices = available_devices()
        self.device_combo.addItems(devices)
        self.device_combo.setCurrentText(self.config.device if self.config.device in devices else devices[-1])
        self.device_combo.currentTextChanged.connect(lambda device: self.change_config(device=device))
        bar.addWidget(self.device_combo)
        self.smoothing_box = QCheckBox("Smoothing")
        self.smoothing_box.setToolTip("One-Euro filter per joint per track")
        self.smoothing_box.setChecked(self.config.smoothing)
        self.smoothing_box.toggled.connect(self.set_smoothing)
        bar.addWidget(self.smoothing_box)
        bar.addSeparator()

        self.record_button = QPushButton("Record")
        self.record_button.setCheckable(True)
        if importlib.util.find_spec("app.recording") is None:
            self.record_button.setEnabled(False)
            self.record_button.setToolTip("recording is not available: app/recording.py is missing")
        else:
            self.record_button.setToolTip(f"record tracks as JSON, BVH and CSV into {self.recordings_dir}/<time>/")
        self.record_button.toggled.connect(self.set_recording)
        bar.addWidget(self.record_button)
        self.reset_button = QPushButton("Reset 3D view")
        self.reset_button.clicked.connect(self.view3d.reset_view)
        bar.addWidget(self.reset_button)

    def _open_file_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open a video or image", "",
            "Videos and images (*.mp4 *.avi *.mov *.mkv *.webm *.jpg *.jpeg *.png *.bmp);;All files (*)")
        if path:
            self.change_source(path)

    def change_source(self, source: str) -> None:
        self.change_config(source=source)

    def change_config(self, **changes) -> None:
        """Restarts the pipeline with some config fields replaced; keeps the old one if that fails."""
        previous = self.config
        if self.start_pipeline(dataclasses.replace(previous, **changes)):
            return
        if self.scripted is None and previous != self.config:
            error = self.last_error  # already shown; keep it in the status line after the restart
            if self.start_pipeline(previous):  # the user keeps a working app and sees why
                self.last_error = error
                self._refresh_status()
            self._sync_controls()

    def _sync_controls(self) -> None:
        for widget, value in ((self.backend_combo, self.config.backend), (self.device_combo, self.config.device)):
            widget.blockSignals(True)
            widget.setCurrentText(value)
            widget.blockSignals(False)

    def set_paused(self, paused: bool) -> None:
        self.pause_button.setText("Resume" if paused else "Pause")
        if self.pipeline is not None:
            self.pipeline.set_paused(paused)
        self._refresh_status()

    def set_smoothing(self, enabled: bool) -> None:
        self.config = dataclasses.replace(self.config, smoothing=enabled)
        if self.pipeline is not None:
            self.pipeline.set_smoothing(enabled)

    def set_recording(self, on: bool) -> None:
        if on:
            if self.pipeline is None or self.pipeline.source is None:
                self.record_button.setChecked(False)
                self.show_error("nothing to record: no source is running")
                return
            from app.recording import TrackRecorder
            from app.tracks_json import SourceInfo

            out_dir = _new_folder_name(os.path.join(self.recordings_dir, datetime.now().strftime("%Y%m%d-%H%M%S")))
            try:
                recorder = TrackRecorder(out_dir, SourceInfo.from_source(self.pipeline.source))
            except OSError as exc:
                self.record_button.setChecked(False)
                self.show_error(f"{out_dir}: cannot record there: {exc}")
                return
            self._recording.start(recorder)
            self.record_button.setText("Stop recording")
            self.statusBar().showMessage(f"recording into {out_dir}/", 5000)
        else:
            self.record_button.setText("Record")
            self._finish_recording()

    def _finish_recording(self) -> None:
        """Stops recording now and writes the final files on a background thread."""
        recorder = self._recording.detach()
        if recorder is None:
            return
        self.statusBar().showMessage(f"finishing the recording in {recorder.out_dir}/ …")
        closer = threading.Thread(target=self._close_recorder, args=(recorder,), name="recording-close")
        self._closers = [t for t in self._closers if t.is_alive()] + [closer]
        closer.start()

    def _close_recorder(self, recorder) -> None:
        try:
            paths = recorder.close()
            message, failed = (f"recorded: {', '.join(paths)}" if paths else "nothing recorded"), False
        except Exception as exc:  # a failed write must not take the app down
            message, failed = f"recording failed: {_one_line(exc)}", True
        if self._closed:  # the window is going away: say it where the user still looks
            print(message, file=sys.stderr if failed else sys.stdout, flush=True)
        self.recording_finished.emit(message, failed)

    def _on_recording_finished(self, message: str, failed: bool) -> None:
        if failed:
            self.show_error(message)
        else:
            self.statusBar().showMessage(message, 10000)

    def wait_for_recordings(self) -> None:
        """Blocks until every recording being finished is written (the app must not quit before)."""
        for closer in self._closers:
            closer.join()
        self._closers = []

    # ---- pipeline lifecycle --------------------------------------------------------------

    def start_pipeline(self, config: PipelineConfig) -> bool:
        """Stops the running pipeline and starts one with `config`; False (error shown) if it fails."""
        self.stop_pipeline()
        self.config = config
        mailbox = _ResultMailbox(self.scripted and self.scripted.max_frames, self._recording)
        mailbox.ready.connect(self._on_result_ready, Qt.ConnectionType.QueuedConnection)
        mailbox.status.connect(self.show_error, Qt.ConnectionType.QueuedConnection)
        if self.scripted is not None:
            # Every frame in order, none dropped, exactly the first N: the screenshot must not
            # depend on machine load (Pipeline reads a file losslessly when not paced).
            config = dataclasses.replace(config, loop=False, realtime=False)
        pipeline = Pipeline(config, mailbox.on_result, mailbox.on_status,
                            max_frames=self.scripted.max_frames if self.scripted else None)
        self.stats_label.setText(f"opening {config.source or 'the default source'} with {config.backend}…")
        try:
            pipeline.start()
        except Exception as exc:  # SourceError, BackendError or a broken install: one line, app stays
            pipeline.stop(STOP_TIMEOUT_S)
            self.show_error(_one_line(exc))
            if self.scripted is not None:
                self._finish(exit_code=2)
            return False
        self.pipeline, self._mailbox = pipeline, mailbox
        self.last_error = None
        if self.pause_button.isChecked():
            pipeline.set_paused(True)
        self._refresh_status()
        return True

    def stop_pipeline(self) -> None:
        if self.pipeline is None:
            return
        if self.record_button.isChecked():
            self.record_button.setChecked(False)  # a recording belongs to one source and camera
        pipeline, self.pipeline, self._mailbox = self.pipeline, None, None
        pipeline.stop(STOP_TIMEOUT_S)

    def _on_result_ready(self) -> None:
        mailbox = self._mailbox
        if mailbox is None or self.sender() is not mailbox:
            return  # a late wake-up from a pipeline that was already replaced
        taken = mailbox.take()
        if taken is None or self._closed:
            return
        ordinal, result = taken
        self._draw(result)
        if self.scripted and self.scripted.max_frames is not None and ordinal >= self.scripted.max_frames:
            self._finish(exit_code=0)

    def _draw(self, result: FrameResult) -> None:
        self.last_result = result
        self.video.show_frame(result.frame.image, result.tracks)
        self.view3d.show_tracks(result.tracks)
        if result.frame.captured_at:
            self._screen_latency_ms = (time.perf_counter() - result.frame.captured_at) * 1000

    def _tick(self) -> None:
        """Timer: recording errors, the end of a scripted run, and the status line."""
        pipeline = self.pipeline
        if pipeline is not None:
            if self._recording.error:
                error, self._recording.error = self._recording.error, None
                self.record_button.setChecked(False)
                self.show_error(error)
            if self.scripted is not None and pipeline.finished.is_set():
                # The source ended (or broke) before max_frames: draw what is left, then stop.
                taken = self._mailbox.take()
                if taken is not None:
                    self._draw(taken[1])
                self._finish(exit_code=1 if pipeline.error else 0)
        self._refresh_status()

    def status_text(self) -> str:
        """The status line: FPS | latency | people | backend on device | source."""
        pipeline = self.pipeline
        if pipeline is None:
            return self.last_error or "no source running: pick a camera or open a file"
        fps = self._mailbox.fps() if self._mailbox is not None else 0.0
        parts = ["paused" if pipeline.paused else f"{fps:.1f} fps"]
        result = self.last_result
        if result is not None:
            latency = result.timings_ms.get("latency")
            if self._screen_latency_ms is not None:
                text = f"latency {self._screen_latency_ms:.0f} ms"
                if latency is not None:
                    text += f" (to result {latency:.0f} ms)"
                parts.append(text)
            people = len(result.tracks)
            parts.append(f"{people} {'person' if people == 1 else 'people'}")
            parts.append(f"{result.backend or self.config.backend} on {result.device or self.config.device}")
            processor = pipeline.processor
            if processor is not None and processor.detect_every > 1:
                parts.append(f"detector every {processor.detect_every} frames")
        else:
            parts.append(f"{self.config.backend} on {self.config.device}")
        source = pipeline.source
        if source is not None:
            description = source.description
            if source.fallback_reason:
                description += f" ({source.fallback_reason})"
            parts.append(description)
        if self._recording.active:
            parts.append("● recording")
        if self.last_error:
            parts.append(self.last_error)
        return " | ".join(parts)

    def _refresh_status(self) -> None:
        self.stats_label.setText(self.status_text())

    def show_error(self, message: str) -> None:
        """One line in the status bar, plus a non-blocking message box when a person is watching."""
        message = " ".join(str(message).split())
        self.last_error = message
        self.stats_label.setText(self.status_text())
        if self.scripted is not None:
            print(message, file=sys.stderr, flush=True)
            return
        box = QMessageBox(QMessageBox.Icon.Warning, "Cascade3D", message, QMessageBox.StandardButton.Ok, self)
        box.setWindowModality(Qt.WindowModality.NonModal)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.show()

    # ---- scripted runs and shutdown ------------------------------------------------------

    def _finish(self, exit_code: int) -> None:
        """End of a scripted run: screenshot (when asked and something ran), close, exit code."""
        if self._finishing:
            return
        self._finishing = True
        self.exit_code = exit_code
        if self.scripted is not None and self.scripted.screenshot and exit_code == 0:
            try:
                save_screenshot(self, self.scripted.screenshot)
                print(f"screenshot: {self.scripted.screenshot} ({self._drawn_summary()})", flush=True)
            except OSError as exc:
                print(f"{self.scripted.screenshot}: cannot write the screenshot: {exc}", file=sys.stderr)
                self.exit_code = 1
        self.close()

    def _drawn_summary(self) -> str:
        result = self.last_result
        frames = self._mailbox.received if self._mailbox else 0
        people = len(result.tracks) if result else 0
        return f"{frames} frames processed, {people} people in the last one"

    def closeEvent(self, event) -> None:
        if not self._closed:
            self._closed = True
            self._timer.stop()
            self.stop_pipeline()
            self._finish_recording()
            self.wait_for_recordings()
            self.view3d.close_viewport()
        event.accept()


def save_screenshot(widget: QWidget, path: str) -> None:
    """The whole widget as PNG, written atomically (tmp file, then rename)."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    tmp = os.path.join(directory, f".{os.path.basename(path)}.tmp")
    if not widget.grab().save(tmp, "PNG"):
        raise OSError("Qt could not encode the image")
    os.replace(tmp, path)


def _new_folder_name(path: str) -> str:
    """path, or path-2, path-3, ... whichever does not exist yet (two recordings in one second)."""
    candidate, n = path, 1
    while os.path.exists(candidate):
        n += 1
        candidate = f"{path}-{n}"
    return candidate


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__
