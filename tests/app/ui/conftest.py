"""A QApplication for the UI tests, offscreen when there is no display."""

import os

import pytest

if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("EGL_PLATFORM", "surfaceless")


@pytest.fixture(scope="session")
def qapp():
    import cv2  # noqa: F401  (sets QT_QPA_PLATFORM_PLUGIN_PATH, removed below as the app does)

    os.environ.pop("QT_QPA_PLATFORM_PLUGIN_PATH", None)
    from PyQt6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(["pytest"])
    app.setQuitOnLastWindowClosed(False)  # the tests open and close several windows
    return app

