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
    view.flush()
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


def test_the_3d_view_renders_in_the_background_and_shows_the_newest_tracks(qapp):
    """show_tracks returns before the child process has rendered; tracks that arrive meanwhile replace each
    other, and the last ones are what ends up on screen (the video panel never waits for the 3D view)."""
    from app.ui.viewport_process import ViewportProcess

    view = View3D()
    view.resize(640, 480)
    view.show()
    assert isinstance(view.viewport, ViewportProcess), view.unavailable
    wait_until(qapp, lambda: view.viewport.config.width == 640, 5)
    shown_before = view.images_shown
    for i in range(5):
        view.show_tracks([standing_track(1, (-900 + 400 * i, 100, 4000))])
    assert view.images_shown == shown_before  # nothing rendered while the GUI thread was busy
    assert wait_until(qapp, lambda: not view.viewport.busy and view._queued is None, 30)
    assert view.images_shown - shown_before == 2  # the first frame, then only the newest of the other four
    assert view.render_ms is not None and view.render_ms > 0
    background = pixmap_rgb(view)
    view.redraw()  # a synchronous render of the same tracks
    assert np.array_equal(pixmap_rgb(view), background)
    view.show_tracks([standing_track(1, (900, 100, 4000))])
    view.flush()  # waits: the screenshot of a scripted run needs the last result's image
    assert not view.viewport.busy and np.abs(pixmap_rgb(view).astype(int) - background).mean() > 0.1
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
