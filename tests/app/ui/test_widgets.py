"""The two view widgets driven by real Qt mouse events, offscreen."""

import numpy as np
from PyQt6.QtCore import QPoint, QPointF, Qt
from PyQt6.QtGui import QMouseEvent, QWheelEvent

from app.ui.widgets import View3D, VideoView
from tests.app.ui.ui_fixtures import frame_result, standing_track, track_exact_mask, wait_until


def pixmap_rgb(label) -> np.ndarray:
    image = label.pixmap().toImage().convertToFormat(label.pixmap().toImage().Format.Format_RGB888)
    data = np.frombuffer(image.constBits().asstring(image.sizeInBytes()), np.uint8)
    return data.reshape(image.height(), image.bytesPerLine())[:, : image.width() * 3].reshape(
        image.height(), image.width(), 3)


def mouse(kind, x, y, button=Qt.MouseButton.LeftButton) -> QMouseEvent:
    buttons = Qt.MouseButton.NoButton if kind == QMouseEvent.Type.MouseButtonRelease else button
    return QMouseEvent(kind, QPointF(x, y), QPointF(x, y), button, buttons, Qt.KeyboardModifier.NoModifier)


def test_drag_orbits_wheel_zooms_double_click_resets(qapp):
    view = View3D()
    view.resize(640, 480)
    view.show()
    wait_until(qapp, lambda: view.viewport.config.width == 640, 5)  # render size follows the widget
    view.show_tracks([standing_track(1, (-700, 100, 4000)), standing_track(2, (800, 100, 4800))])
    default, before = view.viewport.view, pixmap_rgb(view)
    for event in (mouse(QMouseEvent.Type.MouseButtonPress, 100, 200),
                  mouse(QMouseEvent.Type.MouseMove, 180, 230),
                  mouse(QMouseEvent.Type.MouseButtonRelease, 180, 230)):
        qapp.sendEvent(view, event)
    orbited = view.viewport.view
    assert orbited.yaw_deg < default.yaw_deg and orbited.pitch_deg > default.pitch_deg
    assert np.abs(pixmap_rgb(view).astype(int) - before).mean() > 1.0
    wheel = QWheelEvent(QPointF(320, 240), QPointF(320, 240), QPoint(0, 0), QPoint(0, 240),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    qapp.sendEvent(view, wheel)  # two notches towards the people
    assert view.viewport.view.distance < orbited.distance * 0.85
    qapp.sendEvent(view, mouse(QMouseEvent.Type.MouseButtonDblClick, 300, 300))
    assert view.viewport.view == default
    view.close_viewport()
    view.close()


def test_video_view_draws_the_overlay_at_the_label_scale(qapp):
    video = VideoView()
    video.resize(320, 240)  # half the frame size
    result = frame_result([standing_track(4, (0, 100, 4000))])
    video.show_frame(result.frame.image, result.tracks)
    shown = pixmap_rgb(video)
    assert shown.shape[:2] == (240, 320)
    assert track_exact_mask(shown, 4, tolerance=0).sum() > 200
    video.close()


def test_without_a_renderer_the_panel_says_why_and_the_rest_works(qapp, monkeypatch):
    # A machine without OpenGL/EGL cannot exist here; the renderer's failure is simulated.
    import app.ui.widgets as widgets

    def no_driver(config):
        raise RuntimeError("EGL: no display found")

    monkeypatch.setattr(widgets, "open_viewport", no_driver)
    view = View3D()
    view.resize(400, 300)
    view.show()
    assert view.unavailable and "EGL: no display found" in view.text()
    view.show_tracks([standing_track(1, (0, 100, 4000))])
    for event in (mouse(QMouseEvent.Type.MouseButtonPress, 10, 10), mouse(QMouseEvent.Type.MouseMove, 50, 10),
                  mouse(QMouseEvent.Type.MouseButtonDblClick, 50, 10)):
        qapp.sendEvent(view, event)
    view.reset_view()
    view.close_viewport()
    view.close()
