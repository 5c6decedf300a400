"""Atomic file writes (readers see the old file or the whole new one, never a part) and file hashes, for all layers."""

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path
from typing import IO, Iterator


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, mode: int = 0o644) -> Iterator[Path]:
    """Yields a temporary path beside `path`; on a clean exit it replaces `path`, on an error it is removed.

    For writers that want a file name (torch.save, onnx.save, QImage.save). The temporary file lives in
    the same folder so that os.replace is a rename on one filesystem (atomic on POSIX).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name[:200]}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, mode)  # mkstemp makes owner-only files; outputs are meant to be shared
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, text: bool = True, encoding: str = "utf-8") -> Iterator[IO]:
    """An open file whose contents replace `path` atomically when the block ends without an error."""
    with atomic_path(path) as tmp:
        with open(tmp, "w" if text else "wb", **({"encoding": encoding} if text else {})) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write `data` to `path` atomically; returns the path."""
    with atomic_open(path, text=False) as f:
        f.write(data)
    return Path(path)


def atomic_write_text(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> Path:
    """Write `text` to `path` atomically; returns the path."""
    with atomic_open(path, text=True, encoding=encoding) as f:
        f.write(text)
    return Path(path)


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes (checkpoints and exported artifacts are identified by it)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()
