"""The 3D viewport served by a child process, so that rendering never holds up the inference thread.

Open3D keeps Python's GIL for the whole of render_to_image (measured: a thread beside it got no Python
time for 50-120 ms per 640x480 frame on 2 busy cores), so in the GUI's process every 3D frame stalled the
inference thread's Python work (crops, placement, tracking). In a child process it stalls nothing, and
the GUI thread does not wait for it either: submit_frame sends the tracks and returns, take_image
collects the image once it is rendered (app.ui.widgets.View3D polls), so the video panel is drawn while
the 3D view renders (waiting for each image, 55-90 ms, put the video 130 ms behind its result: issue 12).

ViewportProcess offers SkeletonViewport's interface (app.ui.viewport3d): its methods and properties are
called in the child. open_viewport() starts one and falls back to an in-process SkeletonViewport where
a child process cannot start.
"""

import multiprocessing
import sys

from app.ui.viewport3d import ViewportConfig

START_TIMEOUT_S = 120.0  # the child imports Open3D and opens its renderer: seconds on a busy machine
CALL_TIMEOUT_S = 30.0


class ViewportProcessError(RuntimeError):
    """The child process failed or did not answer; the message is one line."""


def _serve(conn, config: ViewportConfig) -> None:
    """The child: one SkeletonViewport, driven by (kind, name, args, kwargs) requests until 'close'."""
    try:
        from app.ui.viewport3d import SkeletonViewport

        viewport = SkeletonViewport(config)
    except Exception as exc:
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
        return
    conn.send(("ok", None))
    while True:
        try:
            kind, name, args, kwargs = conn.recv()
        except EOFError:  # the GUI went away without closing
            viewport.close()
            return
        try:
            if kind == "close":
                viewport.close()
                conn.send(("ok", None))
                return
            if kind == "frame":  # ViewportProcess.submit_frame: new tracks, then their image
                viewport.update(*args, **kwargs)
                conn.send(("ok", viewport.render()))
                continue
            value = getattr(viewport, name)
            if kind == "call":
                value = value(*args, **kwargs)
            elif callable(value):
                value = _Method(name)
            conn.send(("ok", value))
        except Exception as exc:  # reported on the GUI side, the child keeps serving
            conn.send(("error", f"{type(exc).__name__}: {exc}"))


class _Method:
    """Stands for a method of the child's viewport (attributes are sent by value, methods by name)."""

    def __init__(self, name: str):
        self.name = name


class ViewportProcess:
    """SkeletonViewport in a child process ('spawn': no state of this process is copied into it)."""

    def __init__(self, config: ViewportConfig = ViewportConfig()):
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=_serve, args=(child, config), name="viewport3d", daemon=True)
        self._process.start()
        child.close()
        self._closed = False
        self._in_flight = False  # a submit_frame whose image has not been read yet
        self._ready = None  # an image read while finishing a frame early (see _finish_frame)
        self._answer(START_TIMEOUT_S)

    # ---- asynchronous frames: the GUI thread sends tracks and goes on; the image is collected later ----

    def submit_frame(self, tracks, floor=None) -> None:
        """Send tracks (and floor) for the child to draw and render, without waiting for the image
        (take_image collects it). A frame still in flight is finished first: one at a time."""
        if self._closed:
            raise ViewportProcessError("3D view process is closed")
        self._finish_frame()
        self._ready = None
        self._conn.send(("frame", "", (tracks, floor), {}))
        self._in_flight = True

    @property
    def busy(self) -> bool:
        """Whether a submitted frame's image has not been collected yet."""
        return self._in_flight or self._ready is not None

    def take_image(self):
        """The last submitted frame's (H, W, 3) uint8 image once rendered, else None (never waits)."""
        if self._in_flight and self._conn.poll(0):
            self._in_flight = False
            self._ready = self._answer(CALL_TIMEOUT_S)
        image, self._ready = self._ready, None
        return image

    def wait_image(self):
        """The last submitted frame's image, waiting for it; None when none was submitted or it was taken."""
        self._finish_frame()
        return self.take_image()

    def _finish_frame(self) -> None:
        # Replies come in order: a frame in flight must be read before any other request's answer.
        if self._in_flight:
            self._in_flight = False
            self._ready = self._answer(CALL_TIMEOUT_S)

    def _answer(self, timeout: float):
        if not self._conn.poll(timeout):
            self._kill()
            raise ViewportProcessError(f"3D view process did not answer within {timeout:.0f} s")
        try:
            status, value = self._conn.recv()
        except EOFError:
            self._kill()
            raise ViewportProcessError("3D view process ended unexpectedly") from None
        if status == "error":
            raise ViewportProcessError(value)
        return value

    def _request(self, kind: str, name: str, *args, **kwargs):
        if self._closed:
            raise ViewportProcessError("3D view process is closed")
        self._finish_frame()
        self._conn.send((kind, name, args, kwargs))
        return self._answer(CALL_TIMEOUT_S)

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        value = self._request("get", name)
        if isinstance(value, _Method):
            return lambda *args, **kwargs: self._request("call", name, *args, **kwargs)
        return value

    @property
    def is_open(self) -> bool:
        if self._closed or not self._process.is_alive():
            return False
        return self._in_flight or self._request("get", "is_open")  # asking would wait for the frame in flight

    def close(self) -> None:
        if self._closed:
            return
        try:
            if self._process.is_alive():
                self._request("close", "close")  # after the frame in flight, if any
        except (ViewportProcessError, OSError):
            pass
        self._closed = True
        self._conn.close()
        self._process.join(5.0)
        self._kill()

    def _kill(self) -> None:
        self._closed = True
        if self._process.is_alive():
            self._process.kill()
            self._process.join(5.0)


def open_viewport(config: ViewportConfig = ViewportConfig()):
    """A ViewportProcess, or an in-process SkeletonViewport (with a note on stderr) where none can start."""
    try:
        return ViewportProcess(config)
    except (ViewportProcessError, OSError) as exc:
        print(f"3D view runs in the GUI's process ({exc}); it may slow the pipeline", file=sys.stderr, flush=True)
        from app.ui.viewport3d import SkeletonViewport

        return SkeletonViewport(config)
