"""The 3D viewport served by a child process, so that rendering never holds up the inference thread.

Open3D keeps Python's GIL for the whole of render_to_image (measured: a thread beside it got no Python
time for 50-120 ms per 640x480 frame on 2 busy cores), so in the GUI's process every 3D frame stalled the
inference thread's Python work (crops, placement, tracking). In a child process it stalls nothing: the
GUI thread sends the tracks and waits for the image on a pipe, which releases the GIL while it waits.

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
        self._answer(START_TIMEOUT_S)

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
        return not self._closed and self._process.is_alive() and self._request("get", "is_open")

    def close(self) -> None:
        if self._closed:
            return
        try:
            if self._process.is_alive():
                self._request("close", "close")
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
