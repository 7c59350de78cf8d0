"""Page-locked (pinned) host arrays for CUDA restores: the GPU copies a result into pinned
memory by DMA at the bus's full rate, into ordinary pageable memory at about half of it, which
is most of a 12 MP host-to-host restore's time (docs/results.md).

CUDA's runtime library comes with onnxruntime-gpu's CUDA wheels (`gamut-onnx[gpu]`); it is
found among the installed `nvidia` packages (or PyTorch's, where installed) and called through
ctypes. Where it is missing, `pinned_empty` returns an ordinary array.
"""

from __future__ import annotations

import ctypes
import glob
import importlib.util
import os
import weakref
from functools import cache

import numpy as np


@cache
def _cudart() -> ctypes.CDLL | None:
    """CUDA's runtime library, or None."""
    folders = []
    for package in ("nvidia", "torch"):
        spec = importlib.util.find_spec(package)
        if spec is not None and spec.submodule_search_locations:
            folders += list(spec.submodule_search_locations)
    for folder in folders:
        for path in sorted(glob.glob(os.path.join(folder, "**", "libcudart.so*"), recursive=True)):
            try:
                return ctypes.CDLL(path)
            except OSError:
                continue
    return None


def pinned_empty(shape: tuple[int, ...], dtype=np.float32) -> np.ndarray:
    """An uninitialised C-contiguous array in page-locked memory (freed with the array), or an
    ordinary one where CUDA's runtime is not installed or refuses."""
    size = int(np.prod(shape)) * np.dtype(dtype).itemsize
    cudart = _cudart()
    pointer = ctypes.c_void_p()
    if cudart is None or size == 0 or cudart.cudaMallocHost(ctypes.byref(pointer), size) != 0:
        return np.empty(shape, dtype)
    buffer = (ctypes.c_byte * size).from_address(pointer.value)
    array = np.frombuffer(buffer, dtype).reshape(shape)
    weakref.finalize(buffer, cudart.cudaFreeHost, pointer)
    return array


def is_pinned(array: np.ndarray) -> bool:
    """Whether `array`'s memory is page-locked (a CUDA query; False without CUDA)."""
    cudart = _cudart()
    if cudart is None:
        return False

    class Attributes(ctypes.Structure):  # cudaPointerAttributes
        _fields_ = [
            ("type", ctypes.c_int),
            ("device", ctypes.c_int),
            ("devicePointer", ctypes.c_void_p),
            ("hostPointer", ctypes.c_void_p),
        ]

    found = Attributes()
    if cudart.cudaPointerGetAttributes(ctypes.byref(found), ctypes.c_void_p(array.ctypes.data)):
        return False
    return found.type == 1  # cudaMemoryTypeHost
