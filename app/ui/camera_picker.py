"""The tool bar's camera control: the cameras by name (Qt's QMediaDevices), or a stream URL typed in."""

from PyQt6.QtMultimedia import QMediaDevices
from PyQt6.QtWidgets import QComboBox

NO_CAMERA = "no camera found: type a stream URL"


class CameraPicker(QComboBox):
    """An editable list of the cameras' names; source() is what --source would take for the choice: the
    camera's device path where Qt gives one (/dev/videoN on Linux), else its place in Qt's list, or the text typed
    (a URL such as rtsp://host:8554/live, an index, a name). The list follows cameras plugged in and out."""

    def __init__(self):
        super().__init__()
        self.setEditable(True)
        self.setMinimumContentsLength(14)
        self.setToolTip("a camera by name, or type a stream URL (rtsp://..., http://...) or a camera index")
        self._devices = QMediaDevices(self)
        self._devices.videoInputsChanged.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        """Re-read the cameras, keeping the text the user typed or chose."""
        text = self.currentText()
        self.blockSignals(True)
        self.clear()
        for position, device in enumerate(QMediaDevices.videoInputs()):
            device_id = bytes(device.id()).decode(errors="replace")
            self.addItem(device.description(), device_id if device_id.startswith("/dev/video") else str(position))
        if self.count() == 0:
            self.lineEdit().setPlaceholderText(NO_CAMERA)
        if text:
            self.setCurrentText(text)
        self.blockSignals(False)

    def source(self) -> str:
        """The --source text for the current choice ('' when nothing is chosen or typed)."""
        text = self.currentText().strip()
        index = self.findText(text)
        if index >= 0 and self.itemData(index) is not None:
            return str(self.itemData(index))
        return text
