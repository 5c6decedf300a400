"""Native memory of a long-running app: few glibc malloc arenas, and freed memory handed back to the system.

Every pipeline (a window, a source switch) starts threads of its own (capture, inference, MediaPipe's graph,
ONNX Runtime's pools), and glibc gives new threads new malloc arenas (up to 8 per core), whose freed memory
stays in the process. Measured (MediaPipe's landmarker created, run on 5 frames and closed 20 times in one
process): resident memory wandered 180-243 MiB with the default arenas and settled at 160 MiB with 2; the app's
window opened and closed 50 times grew by about 16 MiB a window before (issue 24). Elsewhere than glibc
(macOS, Windows, musl) both calls do nothing.
"""

import ctypes
import ctypes.util
import sys

M_ARENA_MAX = -8  # mallopt parameter (glibc malloc.h)
ARENAS = 2


def _libc():
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None


def limit_malloc_arenas(arenas: int = ARENAS) -> bool:
    """At most `arenas` malloc arenas for threads started from now on; True where glibc took it."""
    libc = _libc()
    return bool(libc is not None and libc.mallopt(M_ARENA_MAX, arenas) == 1)


def release_freed_memory() -> None:
    """Hand memory freed inside the process back to the system (glibc malloc_trim), e.g. after a pipeline stops."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)
