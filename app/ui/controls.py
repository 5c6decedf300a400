"""The window's tool bar: source, pause, pipeline choices, recording, streaming, the 3D view's people and reset.

The bar only holds the widgets and asks for a file; app.ui.main_window connects them to what they do.
"""

from PyQt6.QtWidgets import QCheckBox, QComboBox, QFileDialog, QLabel, QLineEdit, QPushButton, QToolBar

from app.engines import available_devices
from app.processor import BACKENDS, PipelineConfig
from app.ui.camera_picker import CameraPicker
from app.ui.viewport3d import SHOW_MODES

OPEN_FILE_FILTER = "Videos and images (*.mp4 *.avi *.mov *.mkv *.webm *.jpg *.jpeg *.png *.bmp);;All files (*)"


class ControlBar(QToolBar):
    """The controls, set from `config`; records into `recordings_dir`, streams to `vmc_target` (HOST:PORT)."""

    def __init__(self, config: PipelineConfig, recordings_dir: str, vmc_target: str):
        super().__init__("controls")
        self.setMovable(False)

        self.addWidget(QLabel(" Camera "))
        self.camera_picker = CameraPicker()
        self.addWidget(self.camera_picker)
        self.camera_button = QPushButton("Open")
        self.camera_button.setToolTip("open the camera or stream URL on the left")
        self.addWidget(self.camera_button)
        self.file_button = QPushButton("Open file…")
        self.file_button.setToolTip("a video, an image or a folder of images")
        self.addWidget(self.file_button)
        self.addSeparator()

        self.pause_button = QPushButton("Pause")
        self.pause_button.setCheckable(True)
        self.addWidget(self.pause_button)
        self.addSeparator()

        self.addWidget(QLabel(" Backend "))
        self.backend_combo = QComboBox()
        self.backend_combo.addItems(BACKENDS)
        self.backend_combo.setCurrentText(config.backend)
        self.addWidget(self.backend_combo)
        self.addWidget(QLabel(" Device "))
        self.device_combo = QComboBox()
        devices = available_devices()
        self.device_combo.addItems(devices)
        self.device_combo.setCurrentText(config.device if config.device in devices else devices[-1])
        self.addWidget(self.device_combo)
        self.smoothing_box = QCheckBox("Smoothing")
        self.smoothing_box.setToolTip("One-Euro filter per joint per track")
        self.smoothing_box.setChecked(config.smoothing)
        self.addWidget(self.smoothing_box)
        self.addSeparator()

        self.record_button = QPushButton("Record")
        self.record_button.setCheckable(True)
        self.record_button.setToolTip(f"record tracks as JSON, BVH and CSV into {recordings_dir}/<time>/")
        self.addWidget(self.record_button)
        self.vmc_edit = QLineEdit(vmc_target)
        self.vmc_edit.setToolTip("where a VMC receiver listens: HOST:PORT (VSeeFace, Warudo, EVMC4U, VMC4B: port 39539)")
        self.vmc_edit.setMaximumWidth(150)
        self.addWidget(self.vmc_edit)
        self.stream_button = QPushButton("Stream")
        self.stream_button.setCheckable(True)
        self.stream_button.setToolTip("stream the largest person's pose live over the VMC protocol (OSC/UDP)")
        self.addWidget(self.stream_button)
        self.show_combo = QComboBox()
        self.show_combo.addItems(SHOW_MODES)
        self.show_combo.setToolTip("the 3D view draws each person as a skeleton, a body (anny, fitted to the "
                                   "person's bones) or both")
        self.addWidget(self.show_combo)
        self.reset_button = QPushButton("Reset 3D view")
        self.addWidget(self.reset_button)

    def ask_for_file(self) -> str:
        """A video or image the user picks ('' when they cancel)."""
        path, _ = QFileDialog.getOpenFileName(self, "Open a video or image", "", OPEN_FILE_FILTER)
        return path

    def show_config(self, config: PipelineConfig) -> None:
        """The backend and device shown become `config`'s, without asking for another restart."""
        for widget, value in ((self.backend_combo, config.backend), (self.device_combo, config.device)):
            widget.blockSignals(True)
            widget.setCurrentText(value)
            widget.blockSignals(False)
