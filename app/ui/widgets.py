"""The two views of the window: the video with its 2D overlay, and the interactive 3D viewport."""

import time
from typing import Sequence

import cv2
import numpy as np
from PyQt6.QtCore import QPointF, QSize, Qt, QTimer
from PyQt6.QtGui import QImage, QMouseEvent, QPixmap, QWheelEvent
from PyQt6.QtWidgets import QLabel, QSizePolicy

from app.draw import draw_tracks
from app.motion.floor import WorldFrame
from app.types import Track
from app.ui.viewport3d import SkeletonViewport, ViewportConfig
from app.ui.viewport_process import ViewportProcess, ViewportProcessError, open_viewport

BACKGROUND_CSS = "background-color: #141419;"
COLLECT_INTERVAL_MS = 5  # how often the GUI looks for the 3D view's image while one is being rendered


def rgb_to_qimage(image_rgb: np.ndarray) -> QImage:
    """(H, W, 3) uint8 RGB -> a QImage that owns its own copy of the pixels."""
    assert image_rgb.ndim == 3 and image_rgb.shape[2] == 3 and image_rgb.dtype == np.uint8
    image_rgb = np.ascontiguousarray(image_rgb)
    height, width = image_rgb.shape[:2]
    return QImage(image_rgb.data, width, height, 3 * width, QImage.Format.Format_RGB888).copy()


class _ImageLabel(QLabel):
    """A label that shows one image centred and letter-boxed; it never dictates the layout size."""

    def __init__(self, placeholder: str):
        super().__init__(placeholder)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.setMinimumSize(160, 120)
        self.setStyleSheet(BACKGROUND_CSS + " color: #aaaaaa;")

    def sizeHint(self) -> QSize:
        return QSize(640, 480)


class VideoView(_ImageLabel):
    """The live video with every track's skeleton drawn over it (app.draw)."""

    def __init__(self):
        super().__init__("waiting for video…")
        self.drawn_frames = 0

    def show_frame(self, image_bgr: np.ndarray, tracks: Sequence[Track]) -> None:
        """Scales the frame to the label first, then draws, so that lines stay crisp."""
        height, width = image_bgr.shape[:2]
        scale = min(self.width() / width, self.height() / height)
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        shown = cv2.resize(image_bgr, size, interpolation=interpolation)
        shown = draw_tracks(shown, tracks, scale=scale)
        self.setPixmap(QPixmap.fromImage(rgb_to_qimage(shown[:, :, ::-1])))
        self.drawn_frames += 1


class View3D(_ImageLabel):
    """The Open3D skeleton viewport: drag to orbit, wheel to zoom, double-click to reset."""

    def __init__(self, config: ViewportConfig = ViewportConfig()):
        super().__init__("")
        self.unavailable: str | None = None  # why there is no 3D view (the 2D video still works)
        try:
            # In a child process: Open3D holds the GIL while it renders, which stalled inference (issue 12).
            self.viewport: ViewportProcess | SkeletonViewport | None = open_viewport(config)
        except Exception as exc:  # e.g. no OpenGL/EGL driver: say so in the panel, keep the app
            self.viewport = None
            self.unavailable = f"3D view unavailable: Open3D could not start its renderer ({exc})"
            self.setText(self.unavailable)
            self.setWordWrap(True)
        self.pixel_budget = config.width * config.height  # render cost grows with pixels, not with the window
        self._drag_from: QPointF | None = None
        # Re-creating the renderer for every intermediate size of a window drag would stall it.
        self._resize_timer = QTimer(self)
        self._resize_timer.setSingleShot(True)
        self._resize_timer.setInterval(200)
        self._resize_timer.timeout.connect(self._fit_render_size)
        self.setToolTip("3D view: drag to orbit, mouse wheel to zoom, double-click to reset")
        self.setCursor(Qt.CursorShape.OpenHandCursor)
        # A viewport in a child process renders while the GUI goes on: show_tracks submits a frame, this timer
        # collects its image, and tracks that arrive meanwhile wait in _queued (only the newest).
        self._async = hasattr(self.viewport, "submit_frame")
        self._queued: tuple | None = None
        self._submitted_at: float | None = None
        self.render_ms: float | None = None  # submit to image, moving average (the 3D view's lag behind results)
        self.images_shown = 0
        self._collect_timer = QTimer(self)
        self._collect_timer.setInterval(COLLECT_INTERVAL_MS)
        self._collect_timer.timeout.connect(self._collect)
        self.redraw()

    @property
    def _live(self) -> bool:
        return self.viewport is not None and self.viewport.is_open

    def show_tracks(self, tracks: Sequence[Track], floor: WorldFrame | None = None) -> None:
        """floor: the estimated floor (FrameResult.world), or None. With the viewport in a child process
        this returns at once and the image follows (flush() waits for it); else it renders here."""
        if not self._live:
            return
        if not self._async:
            self.viewport.update(tracks, floor)
            self.redraw()
        elif self.viewport.busy:
            self._queued = (tracks, floor)  # drawn once the frame in flight is shown; older ones are skipped
        else:
            self._submit(tracks, floor)

    def _submit(self, tracks, floor) -> None:
        self._queued = None
        self._submitted_at = time.perf_counter()
        try:
            self.viewport.submit_frame(tracks, floor)
        except ViewportProcessError as exc:  # an exception must not leave a Qt slot: PyQt aborts
            self._fail(exc)
            return
        self._collect_timer.start()

    def _collect(self) -> None:
        try:
            if not self._live:
                self._collect_timer.stop()
                return
            image = self.viewport.take_image()
        except ViewportProcessError as exc:
            self._fail(exc)
            return
        if image is None:
            if not self.viewport.busy:  # a redraw took the frame's image
                if self._queued is not None:
                    self._submit(*self._queued)
                else:
                    self._collect_timer.stop()
            return
        self._show(image)
        if self._queued is not None:
            self._submit(*self._queued)
        else:
            self._collect_timer.stop()

    def flush(self) -> None:
        """Wait until the newest tracks given to show_tracks are on screen (a screenshot needs them)."""
        if not self._async or not self._live:
            return
        if self._queued is not None:
            self._submit(*self._queued)
        image = self.viewport.wait_image()
        self._collect_timer.stop()
        if image is not None:
            self._show(image)

    def _show(self, image) -> None:
        if self._submitted_at is not None:
            lag = (time.perf_counter() - self._submitted_at) * 1000
            self.render_ms = lag if self.render_ms is None else 0.8 * self.render_ms + 0.2 * lag
            self._submitted_at = None
        self.images_shown += 1
        self._set_image(image)

    def _fail(self, exc: Exception) -> None:
        self._collect_timer.stop()
        self._queued = None
        self.unavailable = f"3D view stopped: {exc}"
        self.viewport = None
        self.setPixmap(QPixmap())
        self.setText(self.unavailable)

    def _set_image(self, image) -> None:
        pixmap = QPixmap.fromImage(rgb_to_qimage(image)).scaled(
            self.size(), Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
        self.setPixmap(pixmap)

    def redraw(self) -> None:
        """Render now (view changes: orbit, zoom, resize), after the frame in flight, whose image is stale."""
        if not self._live:
            return
        if self._async:
            self.viewport.wait_image()
        self._set_image(self.viewport.render())

    def reset_view(self) -> None:
        if self._live:
            self.viewport.reset_view()
            self.redraw()

    def set_show(self, show: str) -> None:
        """Draw skeletons, bodies or both (app.ui.viewport3d.SHOW_MODES); the people in view are redrawn now."""
        if self._live:
            try:
                self.viewport.set_show(show)
            except ViewportProcessError as exc:  # an exception must not leave a Qt slot: PyQt aborts
                self._fail(exc)
                return
            self.redraw()

    def _pixels_per_render_pixel(self) -> float:
        config = self.viewport.config
        return max(1e-6, min(self.width() / config.width, self.height() / config.height))

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self._live:
            self._drag_from = event.position()
            self.setCursor(Qt.CursorShape.ClosedHandCursor)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._drag_from is None or not self._live:
            return
        delta = (event.position() - self._drag_from) / self._pixels_per_render_pixel()
        self._drag_from = event.position()
        self.viewport.orbit(delta.x(), delta.y())
        self.redraw()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        self._drag_from = None
        self.setCursor(Qt.CursorShape.OpenHandCursor)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        self.reset_view()

    def wheelEvent(self, event: QWheelEvent) -> None:
        if self._live:
            self.viewport.zoom(event.angleDelta().y() / 120.0)  # 120 = one wheel notch
            self.redraw()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.redraw()
        self._resize_timer.start()

    def render_size_for(self, width: int, height: int) -> tuple[int, int]:
        """The widget's aspect ratio within the pixel budget, never more pixels than the widget."""
        scale = min(1.0, (self.pixel_budget / max(1, width * height)) ** 0.5)
        return max(64, round(width * scale)), max(64, round(height * scale))

    def _fit_render_size(self) -> None:
        if self._live:
            self.viewport.resize(*self.render_size_for(self.width(), self.height()))
            self.redraw()

    def close_viewport(self) -> None:
        self._collect_timer.stop()
        self._queued = None
        if self.viewport is not None:
            self.viewport.close()
