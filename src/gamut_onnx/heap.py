"""Handing freed heap memory back to the system between an encode's stages.

glibc keeps what a stage frees, in the arena of each thread that allocated it (the fit's
threads, the scoring's tile workers), for reuse. The next stage's largest allocations are made
elsewhere (libaom's frame buffers for the map's AVIF, 160-190 MB at 12 MP), so the kept memory
and theirs add up at the encode's peak. malloc_trim returns the free pages of every arena in a
few milliseconds; other C libraries have no such call, and there this does nothing.
"""

from __future__ import annotations

import ctypes
from functools import cache


@cache
def _malloc_trim():
    try:
        return ctypes.CDLL(None).malloc_trim  # glibc
    except (AttributeError, OSError, TypeError):  # musl, macOS, Windows
        return None


def trim_heap() -> None:
    """Return the free pages of every malloc arena to the system, where glibc can."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
