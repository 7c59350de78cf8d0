"""heap: freed memory goes back to the system between an encode's stages (glibc)."""

import ctypes
import platform

import pytest

from gamut_onnx.heap import trim_heap


def resident_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096


def test_trim_heap_runs_everywhere():
    trim_heap()  # glibc or not: no error, nothing returned
    assert trim_heap() is None


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's")
def test_trim_heap_returns_free_pages_that_free_itself_keeps():
    libc = ctypes.CDLL(None)
    libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    size = 64 * 1024  # under the mmap threshold: these live on the heap
    blocks = [libc.malloc(size) for _ in range(1025)]  # 64 MB
    for block in blocks:
        ctypes.memset(block, 1, size)
    above = max(blocks)  # the highest stays live, so free() cannot shrink the heap below it
    for block in blocks:
        if block != above:
            libc.free(block)
    kept = resident_bytes()
    trim_heap()
    returned = kept - resident_bytes()
    libc.free(above)
    assert returned > 32e6, f"only {returned / 1e6:.1f} MB went back"
