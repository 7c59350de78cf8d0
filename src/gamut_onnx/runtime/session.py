"""Restore on onnxruntime: one cached session over the fixed graph serves every image.

No torch here. Images are processed in fixed-size tiles so memory stays bounded whatever the
image size. On the CPU, tiles run in parallel, one single-threaded onnxruntime run per core:
several of the graph's heaviest ops (Sin, the table Gathers) gain little from onnxruntime's
intra-op threads: on a 12 MP photo with 2 cores this was 0.50 s against 0.69 s.

On CUDA a run is launch-bound, so bands of whole rows (up to `tile` x `tile` pixels) run one at
a time through IO binding: the result is copied from the GPU straight into the output array, and
`restore_on_device` keeps pixels and result in GPU memory for apps that have them there. TF32 is
off: it rounds MatMul inputs to 10 bits and moved outputs by up to 2.7e-3 against the CPU.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path

import numpy as np

from gamut_onnx.blob import Blob, boundary_edges, check_image_size
from gamut_onnx.colour.protocol import expansion_matrix
from gamut_onnx.context import CONTEXT_INPUTS, ContextGrids, context_grids, empty_grids
from gamut_onnx.cores import cpu_threads
from gamut_onnx.errors import GamutError
from gamut_onnx.runtime.backend import (
    conflict_message,
    cuda_missing_reason,
    import_onnxruntime,
    installed_builds,
    preload_cuda_libraries,
)

GRAPH_PATH = Path(__file__).with_name("restore.onnx")
PROVIDERS = {"cpu": "CPUExecutionProvider", "cuda": "CUDAExecutionProvider"}
DEFAULT_TILE = 256  # CPU tiles: 512 x 512 doubled peak memory (onnxruntime arena) for no speed
CUDA_TILE = 4096  # a 4096 x 4096 band: a 12 MP photo in one run
CUDA_OPTIONS = {"use_tf32": "0"}  # float32 MatMuls in float32, as on every other provider
OUTPUTS = ["prophoto", "residual_sum"]


@cache
def _session(provider: str, threads: int, graph: Path = GRAPH_PATH):
    ort = import_onnxruntime()
    if provider == "cuda":
        preload_cuda_libraries(ort)
    options = ort.SessionOptions()
    options.log_severity_level = 4
    options.intra_op_num_threads = threads
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    names = [PROVIDERS["cpu"]]
    if provider == "cuda":
        names = [(PROVIDERS["cuda"], CUDA_OPTIONS), PROVIDERS["cpu"]]
    try:
        return ort.InferenceSession(str(graph), sess_options=options, providers=names)
    except Exception as exc:  # onnxruntime raises its own unrelated types
        raise GamutError(f"cannot start onnxruntime with {provider}: {exc}") from exc


def cuda_usable() -> bool:
    """True when onnxruntime's CUDA provider actually loads (not merely compiled in) and no
    second onnxruntime build has overwritten its files."""
    if conflict_message(installed_builds()):
        return False
    if PROVIDERS["cuda"] not in import_onnxruntime().get_available_providers():
        return False
    try:
        return PROVIDERS["cuda"] in _session("cuda", cpu_threads()).get_providers()
    except GamutError:
        return False


def resolve_provider(provider: str = "auto") -> str:
    """'auto' -> 'cuda' when usable, else 'cpu'; an explicit choice must be usable."""
    if provider == "auto":
        return "cuda" if cuda_usable() else "cpu"
    if provider not in PROVIDERS:
        raise GamutError(f"unknown provider {provider!r} (choose auto, cpu or cuda)")
    if provider == "cuda" and not cuda_usable():
        raise GamutError(f"--provider cuda: {cuda_missing_reason(import_onnxruntime())}")
    return provider


class RestoreSession:
    """Runs the fixed restore graph for any blob.

    >>> session = RestoreSession()                 # CUDA when usable, else CPU
    >>> prophoto = session.restore(srgb8, blob)    # float32 HxWx3 linear ProPhoto
    """

    def __init__(
        self,
        provider: str = "auto",
        tile: int = 0,
        threads: int = 0,
        graph: str | os.PathLike = GRAPH_PATH,
    ):
        self.provider = resolve_provider(provider)
        self.tile = int(tile) or (CUDA_TILE if self.provider == "cuda" else DEFAULT_TILE)
        if self.tile < 16:
            raise GamutError(f"tile size {tile} is too small (minimum 16)")
        threads = threads or cpu_threads()
        # CPU: `threads` tiles at a time, each on a single-threaded run; CUDA: one at a time.
        self.workers = threads if self.provider == "cpu" else 1
        # `graph`: the shipped graph unless a benchmark compares another version of it.
        self._session = _session(
            self.provider, 1 if self.provider == "cpu" else threads, Path(graph)
        )

    def restore(self, srgb8: np.ndarray, blob: Blob, out: np.ndarray | None = None) -> np.ndarray:
        """8-bit sRGB carrier pixels (HxWx3) + blob -> linear ProPhoto float32 HxWx3.

        `out`: an HxWx3 float32 C-contiguous array to fill; reusing one across images of a size
        saves the page faults of a fresh one (150 MB at 12 MP, most of a CUDA restore's time).
        """
        h, w = srgb8.shape[:2]
        if out is None:
            out = np.empty((h, w, 3), np.float32)
        elif out.shape != (h, w, 3) or out.dtype != np.float32 or not out.flags.c_contiguous:
            raise GamutError(f"out must be a C-contiguous float32 array of shape {(h, w, 3)}")
        for top, rows in self.bands(srgb8, blob, out):
            if rows.base is not out:
                out[top : top + rows.shape[0]] = rows
        return out

    def bands(
        self,
        srgb8: np.ndarray,
        blob: Blob,
        out: np.ndarray | None = None,
        grids: ContextGrids | None = None,
    ) -> Iterator[tuple[int, np.ndarray]]:
        """(first row, restored rows) for one band of rows at a time: a writer can stream the
        result, so memory stays one band deep whatever the image size. With `out` (HxWx3
        float32) the bands are views of it, written in place. `grids`: the carrier's context
        grids, when the caller has them already."""
        h, w = srgb8.shape[:2]
        check_image_size(blob, h, w)
        feeds = _weight_feeds(blob, h, w, srgb8, grids)
        if self.provider == "cuda":
            yield from self.row_bands(srgb8, feeds, out)
            return
        t = self.tile
        with ThreadPoolExecutor(self.workers) as pool:
            for top in range(0, h, t):
                band = np.ascontiguousarray(srgb8[top : top + t, :, :3], dtype=np.uint8)
                rows = _band_buffer(out, top, band.shape[0], w)

                def run(left: int, band=band, rows=rows, top=top) -> None:
                    tile_feeds = {
                        **feeds,
                        "srgb8": np.ascontiguousarray(band[:, left : left + t]),
                        "origin": np.array([top, left], np.int64),
                    }
                    rows[:, left : left + t], check = self._session.run(OUTPUTS, tile_feeds)
                    _check(check)

                list(pool.map(run, range(0, w, t)))  # list(): re-raises a tile's error here
                yield top, rows

    def row_bands(
        self, srgb8: np.ndarray, feeds: dict, out: np.ndarray | None = None
    ) -> Iterator[tuple[int, np.ndarray]]:
        """Bands of whole rows, one run each, through IO binding: pixels in from host memory,
        the result copied from the device straight into the output rows (no second copy).
        The CUDA path; it runs on any provider, which is how the tests check it."""
        h, w = srgb8.shape[:2]
        step = max(1, min(h, self.tile * self.tile // w))
        binding = self._session.io_binding()
        for name, value in feeds.items():
            binding.bind_cpu_input(name, value)
        for top in range(0, h, step):
            band = np.ascontiguousarray(srgb8[top : top + step, :, :3], dtype=np.uint8)
            rows = _band_buffer(out, top, band.shape[0], w)
            binding.bind_cpu_input("srgb8", band)
            binding.bind_cpu_input("origin", np.array([top, 0], np.int64))
            binding.bind_output("prophoto", "cpu", 0, np.float32, rows.shape, rows.ctypes.data)
            binding.bind_output("residual_sum", "cpu")
            self._session.run_with_iobinding(binding)
            _check(binding.get_outputs()[1].numpy())
            yield top, rows

    def restore_on_device(self, srgb8, blob: Blob):
        """For apps that hold the carrier pixels in GPU memory: `srgb8` an onnxruntime OrtValue
        (HxWx3 uint8) on the session's device; returns the restored HxWx3 float32 as an OrtValue
        on the same device (only the graph's one-float check comes back to the host; a context
        blob's grids are computed from a host copy of the pixels)."""
        h, w = srgb8.shape()[:2]
        check_image_size(blob, h, w)
        binding = self._session.io_binding()
        host = srgb8.numpy() if blob.context else None
        for name, value in _weight_feeds(blob, h, w, host).items():
            binding.bind_cpu_input(name, value)
        binding.bind_cpu_input("origin", np.zeros(2, np.int64))
        binding.bind_ortvalue_input("srgb8", srgb8)
        binding.bind_output("prophoto", srgb8.device_name().lower(), 0)
        binding.bind_output("residual_sum", "cpu")
        self._session.run_with_iobinding(binding)
        restored, check = binding.get_outputs()
        _check(check.numpy())
        return restored


def graph_w1(blob: Blob) -> np.ndarray:
    """The graph's w1: the blob's, with zero context rows for a layout-1 blob (one graph runs
    both layouts; zero rows add exact zeros, so layout-1 results keep their bits)."""
    w1 = np.asarray(blob.weights[0], np.float32)
    if blob.context:
        return np.ascontiguousarray(w1)
    return np.concatenate([w1, np.zeros((CONTEXT_INPUTS, w1.shape[1]), np.float32)])


def _weight_feeds(
    blob: Blob,
    h: int,
    w: int,
    srgb8: np.ndarray | None = None,
    grids: ContextGrids | None = None,
) -> dict[str, np.ndarray]:
    """The graph inputs that stay the same for every tile of one image (a context blob's
    grids come from the whole carrier, `srgb8`, unless given)."""
    if not blob.context:
        grids = empty_grids()
    elif grids is None:
        grids = context_grids(srgb8)
    weights = [graph_w1(blob), *blob.weights[1:]]
    return {
        "image_size": np.array([h, w], np.int64),
        "edges": boundary_edges(blob),
        "to_prophoto": expansion_matrix(blob.carrier_transform),
        "context": grids.values,
        "context_layout": grids.layout,
        **{
            name: np.ascontiguousarray(v, np.float32)
            for name, v in zip(("w1", "b1", "w2", "b2", "w3", "b3"), weights, strict=True)
        },
    }


def _band_buffer(out: np.ndarray | None, top: int, rows: int, w: int) -> np.ndarray:
    """Where a band's result goes: its rows of `out` (contiguous), or a fresh array."""
    if out is None:
        return np.empty((rows, w, 3), np.float32)
    return out[top : top + rows]


def _check(residual_sum) -> None:
    """Refuse non-finite output: the graph's sum of the MLP outputs is finite exactly when every
    restored value is (blobs are bounded, so anything else is a bug or a device fault)."""
    if not np.isfinite(residual_sum):
        raise GamutError("restore produced non-finite values; refusing the output")
