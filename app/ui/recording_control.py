"""The Record button's work: record the running source into a new folder, finish it in the background, report."""

import os
import sys
from datetime import datetime
from typing import Callable

from PyQt6.QtCore import QObject, Qt, pyqtSignal
from PyQt6.QtWidgets import QPushButton

from app.formats.recording import FORMATS, RecordingSink, TrackRecorder, new_folder_name
from app.sources import FrameSource
from app.types import SourceInfo

# Every format but the preview video, the body (.glb) included: a recording is asked for once and closes in the
# background, but the preview would be encoded on the inference thread, frame by frame, while the window already
# shows the video (6-20 ms a frame measured by bench.output_cost's preview row).
RECORD_FORMATS = tuple(f for f in FORMATS if f != "preview")


class RecordingControl(QObject):
    """Records every live result into recordings_dir/<time>/ while `button` is down (GUI thread).

    show_error(message) and show_message(message, ms) are the window's status line; `sink` is fed every
    result on the inference thread (app.formats.recording.RecordingSink).
    """

    finished = pyqtSignal(str, bool)  # status message, whether it is an error (emitted by the closing thread)

    def __init__(self, button: QPushButton, recordings_dir: str, show_error: Callable[[str], None],
                 show_message: Callable[[str, int], None]):
        super().__init__()
        self.button = button
        self.recordings_dir = recordings_dir
        self.sink = RecordingSink()
        self.closing = False  # the window is going away: messages go to the terminal as well
        self._show_error, self._show_message = show_error, show_message
        self.finished.connect(self._on_finished, Qt.ConnectionType.QueuedConnection)

    def set_recording(self, on: bool, source: FrameSource | None) -> None:
        """The button was toggled; `source` is the running pipeline's (None when nothing runs)."""
        if not on:
            self.button.setText("Record")
            self.finish()
            return
        if source is None:
            self.button.setChecked(False)
            self._show_error("nothing to record: no source is running")
            return
        out_dir = new_folder_name(os.path.join(self.recordings_dir, datetime.now().strftime("%Y%m%d-%H%M%S")))
        try:
            recorder = TrackRecorder(out_dir, SourceInfo.from_source(source), formats=RECORD_FORMATS)
        except OSError as exc:
            self.button.setChecked(False)
            self._show_error(f"{out_dir}: cannot record there: {exc}")
            return
        self.sink.start(recorder)
        self.button.setText("Stop recording")
        self._show_message(f"recording into {out_dir}/", 5000)

    def finish(self) -> None:
        """Stops recording now; the final files are written on a background thread."""
        recorder = self.sink.finish(self._on_closed)
        if recorder is not None:
            self._show_message(f"finishing the recording in {recorder.out_dir}/ …", 0)

    def _on_closed(self, message: str, failed: bool) -> None:
        """On the recorder's closing thread."""
        if self.closing:  # say it where the user still looks
            print(message, file=sys.stderr if failed else sys.stdout, flush=True)
        self.finished.emit(message, failed)

    def _on_finished(self, message: str, failed: bool) -> None:
        if failed:
            self._show_error(message)
        else:
            self._show_message(message, 10000)
