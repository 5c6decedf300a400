"""app/memory.py on this machine's C library: glibc takes the arena limit; elsewhere both calls do nothing."""

import platform

from app.memory import limit_malloc_arenas, release_freed_memory


def test_arena_limit_and_trim_run_here():
    taken = limit_malloc_arenas()
    release_freed_memory()
    if platform.libc_ver()[0] == "glibc":
        assert taken
    else:
        assert not taken
