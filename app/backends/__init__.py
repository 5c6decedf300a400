"""Pose backends (the shipped cascaded network, MediaPipe BlazePose) and the registry that builds them by name."""

from app.backends.base import BackendError, PoseBackend

BACKENDS = ("mediapipe", "cascade")


def make_backend(name: str, device: str, engine: str | None = None, threads: int = 0):
    """The pose backend called `name`; raises BackendError with one line if it cannot run.

    threads: CPU threads of the cascade backend's ONNX Runtime engine (0 = all cores); MediaPipe has no setting."""
    if name == "mediapipe":
        from app.backends.mediapipe import MediaPipeBackend

        return MediaPipeBackend(device=device)
    if name == "cascade":
        try:
            from app.backends.cascade import CascadeBackend
        except ImportError as exc:
            raise BackendError(f"cascade backend is not available: {exc}") from exc
        return CascadeBackend(engine=engine, device=device, threads=threads)
    raise BackendError(f"unknown pose backend '{name}' (choose from {', '.join(BACKENDS)})")


__all__ = ["BACKENDS", "BackendError", "PoseBackend", "make_backend"]
