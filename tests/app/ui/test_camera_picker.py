"""The tool bar's camera list (Qt's QMediaDevices; no camera on CI: the list is empty and says so)."""

from PyQt6.QtMultimedia import QMediaDevices

from app.ui.camera_picker import NO_CAMERA, CameraPicker


def test_lists_qt_cameras_by_name_or_says_there_is_none(qapp):
    picker = CameraPicker()
    devices = QMediaDevices.videoInputs()
    assert [picker.itemText(i) for i in range(picker.count())] == [d.description() for d in devices]
    if not devices:
        assert picker.lineEdit().placeholderText() == NO_CAMERA and picker.source() == ""
    else:
        assert picker.source() in {str(picker.itemData(0))}


def test_a_typed_url_or_index_is_the_source(qapp):
    picker = CameraPicker()
    picker.setCurrentText(" rtsp://127.0.0.1:8554/live ")
    assert picker.source() == "rtsp://127.0.0.1:8554/live"
    picker.setCurrentText("1")
    assert picker.source() == "1"
    picker.refresh()  # a camera plugged in or out keeps what was typed
    assert picker.source() == "1"
