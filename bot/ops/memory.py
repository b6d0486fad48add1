"""Memory the process no longer uses, handed back to the system.

Loading a list of 50 000 users passes through pages of API answers and a 10 MB JSON text; once
they are freed, glibc keeps the pages in its heap and the process's resident size stays at
the peak. `malloc_trim` returns them (a no-op where the C library has no such call).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools


@functools.cache
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name) if name else None
    except OSError:
        return None


def release_freed() -> bool:
    """Return freed heap memory to the system; True when the C library could."""
    libc = _libc()
    trim = getattr(libc, "malloc_trim", None) if libc is not None else None
    if trim is None:
        return False
    return bool(trim(0))
