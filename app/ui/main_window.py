"""The main window: live video with 2D skeletons, the 3D viewport, controls and a status line.

Threads: the Pipeline calls on_result on its inference thread; app.ui.mailbox hands the newest
result to the GUI thread, which only draws. Recording (app.ui.recording_control), VMC
streaming (app.stream.sink.StreamSink: the Stream toggle, or --vmc HOST:PORT), the status text
(app.status), the tool bar (app.ui.controls), the draw figures (app.ui.draw_stats) and scripted runs
(app.ui.scripted) live in their own modules.
"""

import dataclasses
import sys
import time

from PyQt6.QtCore import Qt, QTimer
from PyQt6.QtWidgets import QLabel, QMainWindow, QMessageBox, QSplitter

from app.live import Pipeline
from app.processor import PipelineConfig
from app.status import StatusInputs, status_text
from app.stream.sink import StreamSink
from app.stream.vmc import DEFAULT_PORT, VmcError
from app.types import FrameResult
from app.ui.controls import ControlBar
from app.ui.draw_stats import DrawStats
from app.ui.mailbox import ResultMailbox
from app.ui.recording_control import RecordingControl
from app.ui.scripted import ScriptedRun, save_screenshot
from app.ui.widgets import VideoView, View3D
from model.commands import EXIT_INTERRUPTED, EXIT_TERMINATED
from model.errors import one_line

STATS_INTERVAL_MS = 500  # how often the status line is refreshed
STOP_TIMEOUT_S = 5.0  # Pipeline.stop never blocks longer than this


class MainWindow(QMainWindow):
    """The app window. `config` is the first pipeline to run; `scripted` makes it a headless run."""

    def __init__(self, config: PipelineConfig, scripted: ScriptedRun | None = None,
                 recordings_dir: str = "recordings", vmc: str | None = None):
        """vmc: 'HOST:PORT' of a VMC receiver to stream to from the start (the Stream toggle's target)."""
        super().__init__()
        self.config = config
        self.scripted = scripted
        self.recordings_dir = recordings_dir
        self.exit_code = 0
        self.pipeline: Pipeline | None = None
        self.last_error: str | None = None
        self.last_result: FrameResult | None = None
        self._mailbox: ResultMailbox | None = None
        self._streaming = StreamSink()
        self.vmc_target = vmc or f"127.0.0.1:{DEFAULT_PORT}"
        self._stats = DrawStats()
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
        self.controls = ControlBar(config, recordings_dir, self.vmc_target)
        self.addToolBar(self.controls)
        self._recording = RecordingControl(self.controls.record_button, recordings_dir, self.show_error,
                                           self.statusBar().showMessage)
        self._connect_controls()
        self.stats_label = QLabel("starting…")
        if vmc:
            self.controls.stream_button.setChecked(True)
        self.statusBar().addWidget(self.stats_label, 1)
        if self.view3d.unavailable:
            print(self.view3d.unavailable, file=sys.stderr, flush=True)

        self._timer = QTimer(self)
        self._timer.timeout.connect(self._tick)
        self._timer.start(STATS_INTERVAL_MS)
        # Start after the event loop runs, so that a scripted run's exit code reaches app.exec().
        QTimer.singleShot(0, lambda: self.start_pipeline(self.config))

    # ---- controls ------------------------------------------------------------------------

    def _connect_controls(self) -> None:
        bar = self.controls
        bar.camera_button.clicked.connect(lambda: self.change_source(bar.camera_picker.source() or "0"))
        bar.file_button.clicked.connect(self._open_file_dialog)
        bar.pause_button.toggled.connect(self.set_paused)
        bar.backend_combo.currentTextChanged.connect(lambda name: self.change_config(backend=name))
        bar.device_combo.currentTextChanged.connect(lambda device: self.change_config(device=device))
        bar.smoothing_box.toggled.connect(self.set_smoothing)
        bar.record_button.toggled.connect(self.set_recording)
        bar.stream_button.toggled.connect(self.set_streaming)
        bar.reset_button.clicked.connect(self.view3d.reset_view)
        bar.show_combo.currentTextChanged.connect(self.view3d.set_show)

    def _open_file_dialog(self) -> None:
        path = self.controls.ask_for_file()
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
            self.controls.show_config(self.config)

    def set_paused(self, paused: bool) -> None:
        self.controls.pause_button.setText("Resume" if paused else "Pause")
        if self.pipeline is not None:
            self.pipeline.set_paused(paused)
        self._refresh_status()

    def set_smoothing(self, enabled: bool) -> None:
        self.config = dataclasses.replace(self.config, smoothing=enabled)
        if self.pipeline is not None:
            self.pipeline.set_smoothing(enabled)

    def set_recording(self, on: bool) -> None:
        self._recording.set_recording(on, self.pipeline.source if self.pipeline is not None else None)

    def set_streaming(self, on: bool) -> None:
        if on:
            try:
                self._streaming.start(self.controls.vmc_edit.text())
            except VmcError as exc:
                self.controls.stream_button.setChecked(False)
                self.show_error(str(exc))
                return
            self.vmc_target = self._streaming.target
            self.controls.stream_button.setText("Stop streaming")
            self.controls.vmc_edit.setEnabled(False)
        else:
            self._streaming.stop()
            self.controls.stream_button.setText("Stream")
            self.controls.vmc_edit.setEnabled(True)
        self._refresh_status()

    def _feed_sinks(self, result: FrameResult) -> None:
        """On the inference thread: every result to the recording and the stream."""
        self._recording.sink(result)
        self._streaming(result)

    @property
    def recorded_frames(self) -> int:
        """Frames the running recording holds so far (0 when not recording)."""
        return self._recording.sink.frames

    def wait_for_recordings(self) -> None:
        """Blocks until every recording being finished is written (the app must not quit before)."""
        self._recording.sink.wait()

    # ---- pipeline lifecycle --------------------------------------------------------------

    def start_pipeline(self, config: PipelineConfig) -> bool:
        """Stops the running pipeline and starts one with `config`; False (error shown) if it fails."""
        self.stop_pipeline()
        self.config = config
        mailbox = ResultMailbox(self.scripted and self.scripted.max_frames, self._feed_sinks)
        self._streaming.new_source()
        self._stats.clear()
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
            self.show_error(one_line(exc))
            if self.scripted is not None:
                self._finish(exit_code=2)
            return False
        self.pipeline, self._mailbox = pipeline, mailbox
        self.last_error = None
        if self.controls.pause_button.isChecked():
            pipeline.set_paused(True)
        self._refresh_status()
        return True

    def stop_pipeline(self) -> None:
        if self.pipeline is None:
            return
        if self.controls.record_button.isChecked():
            self.controls.record_button.setChecked(False)  # a recording belongs to one source and camera
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
        started = time.perf_counter()
        self.last_result = result
        self.video.show_frame(result.frame.image, result.tracks)
        self.view3d.show_tracks(result.tracks, result.world)
        self._stats.drawn(result, started)

    def result_fps(self) -> float | None:
        """Results the running pipeline delivered per second (None when none runs)."""
        return self._mailbox.fps() if self._mailbox is not None else None

    @property
    def screen_latency_ms(self) -> float | None:
        """Capture to screen of the last result drawn, ms (None for sources without a capture time)."""
        return self._stats.screen_latency_ms

    def drawn_fps(self) -> float | None:
        """Results drawn per second over the last draws (None until two)."""
        return self._stats.drawn_fps()

    def _tick(self) -> None:
        """Timer: recording errors, the end of a scripted run, and the status line."""
        pipeline = self.pipeline
        if pipeline is not None:
            if self._recording.sink.error:
                error, self._recording.sink.error = self._recording.sink.error, None
                self.controls.record_button.setChecked(False)
                self.show_error(error)
            if self._streaming.error:
                error, self._streaming.error = self._streaming.error, None
                self.controls.stream_button.setChecked(False)
                self.show_error(error)
            if self.scripted is not None and pipeline.finished.is_set():
                # The source ended (or broke) before max_frames: draw what is left, then stop.
                taken = self._mailbox.take()
                if taken is not None:
                    self._draw(taken[1])
                self._finish(exit_code=1 if pipeline.error else 0)
        self._refresh_status()

    def status_text(self) -> str:
        """The status line (app.status.status_text of what the window knows now)."""
        pipeline = self.pipeline
        if pipeline is None:
            return status_text(StatusInputs(running=False, error=self.last_error))
        processor, source = pipeline.processor, pipeline.source
        return status_text(StatusInputs(
            running=True,
            paused=pipeline.paused,
            fps=self._mailbox.fps() if self._mailbox is not None else 0.0,
            drawn_fps=self.drawn_fps(),
            draw_ms=self._stats.draw_ms,
            step_ms=dict(self._stats.step_ms),
            screen_latency_ms=self._stats.screen_latency_ms,
            result=self.last_result,
            backend=self.config.backend,
            device=self.config.device,
            detect_every=processor.detect_every if processor is not None else 1,
            source=source.status() if source is not None else "",  # live: what it delivers, reconnecting
            source_fallback=(source.fallback_reason or "") if source is not None else "",
            recording=self._recording.sink.active,
            streaming=self._streaming.target,
            error=self.last_error,
        ))

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
        kept = exit_code in (0, EXIT_INTERRUPTED, EXIT_TERMINATED)  # done, or asked to stop: what was drawn is kept
        if self.scripted is not None and self.scripted.screenshot and kept:
            try:
                self.view3d.flush()  # the 3D view renders asynchronously: the last result's image first
                save_screenshot(self, self.scripted.screenshot)
                print(f"screenshot: {self.scripted.screenshot} ({self._drawn_summary()})", flush=True)
            except OSError as exc:
                print(f"{self.scripted.screenshot}: cannot write the screenshot: {exc}", file=sys.stderr)
                self.exit_code = self.exit_code or 1
        self.close()

    def stop(self, exit_code: int) -> None:
        """Ctrl-C or SIGTERM (app.ui.cli): close with that exit code; a scripted run saves its screenshot first."""
        self._finish(exit_code)

    def _drawn_summary(self) -> str:
        result = self.last_result
        frames = self._mailbox.received if self._mailbox else 0
        people = len(result.tracks) if result else 0
        return f"{frames} frames processed, {people} people in the last one"

    def closeEvent(self, event) -> None:
        if not self._closed:
            self._closed = self._recording.closing = True
            self._timer.stop()
            self.stop_pipeline()
            self._recording.finish()
            self._streaming.stop()
            self.wait_for_recordings()
            self.view3d.close_viewport()
        event.accept()
