"""Restore on onnxruntime: cached sessions over the shipped graphs serve every image.

No torch here. Images are processed in fixed-size tiles so memory stays bounded whatever the
image size. On the CPU, tiles run in parallel, one single-threaded onnxruntime run per core:
several of the graph's heaviest ops (Sin, the table lookups) gain little from onnxruntime's
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
from pathlib import Path

import numpy as np

from gamut_onnx.blob import Blob, check_image_size
from gamut_onnx.context import LEVELS
from gamut_onnx.cores import cpu_threads
from gamut_onnx.errors import GamutError
from gamut_onnx.runtime.backend import (
    conflict_message,
    cuda_missing_reason,
    import_onnxruntime,
    installed_builds,
)
from gamut_onnx.runtime.feeds import UNUSED_SAMPLES, Grids, image_feeds
from gamut_onnx.runtime.graphs import GRAPH_PATH, GRIDS_PATH, PROVIDERS, session

DEFAULT_TILE = 128  # CPU tiles: 512 x 512 doubled peak memory (onnxruntime arena) for no speed
CUDA_TILE = 4096  # a 4096 x 4096 band: a 12 MP photo in one run
GRID_BLOCK = (LEVELS[-1], LEVELS[-1])  # grid graph blocks of whole 256-pixel cells: 0.15 s, 30 MB
OUTPUTS = ["prophoto", "residual_sum"]


def cuda_usable() -> bool:
    """True when onnxruntime's CUDA provider actually loads (not merely compiled in) and no
    second onnxruntime build has overwritten its files."""
    if conflict_message(installed_builds()):
        return False
    if PROVIDERS["cuda"] not in import_onnxruntime().get_available_providers():
        return False
    try:
        return PROVIDERS["cuda"] in session(GRAPH_PATH, "cuda", cpu_threads()).get_providers()
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
    """Runs the shipped graphs for any carrier.

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
        run_threads = 1 if self.provider == "cpu" else threads
        # `graph`: the shipped graph unless a benchmark compares another version of it.
        self._session = session(Path(graph), self.provider, run_threads)
        self._grids = session(GRIDS_PATH, self.provider, run_threads)
        # CPU: blocks whose float64 sums stay a few MB; CUDA: the image in one run or a few.
        self.grid_block = GRID_BLOCK if self.provider == "cpu" else (CUDA_TILE, CUDA_TILE)

    def grids(self, srgb8: np.ndarray) -> Grids:
        """The carrier's context grids from the grid graph, run on blocks of `grid_block`
        pixels (in parallel) and stitched."""
        h, w = srgb8.shape[:2]
        grids = [np.empty((4, -(-h // s), -(-w // s)), np.float32) for s in LEVELS]

        def block(corner: tuple[int, int]) -> None:
            top, left = corner
            pixels = srgb8[top : top + rows, left : left + cols, :3]
            parts = self._grids.run(None, {"srgb8": np.ascontiguousarray(pixels, np.uint8)})
            for grid, part, size in zip(grids, parts, LEVELS, strict=True):
                row, col = top // size, left // size
                grid[:, row : row + part.shape[1], col : col + part.shape[2]] = part

        rows, cols = self.grid_block
        corners = [(t, c) for t in range(0, h, rows) for c in range(0, w, cols)]
        with ThreadPoolExecutor(self.workers) as pool:
            list(pool.map(block, corners))
        return Grids(tuple(grids))

    def feeds(
        self,
        srgb8: np.ndarray,
        blob: Blob | None,
        grids: Grids | None = None,
        map_params: tuple[float, float] | None = None,
    ) -> dict[str, np.ndarray]:
        """The per-image inputs; a context blob's grids are computed here unless given."""
        h, w = srgb8.shape[:2]
        if blob is not None:
            check_image_size(blob, h, w)
            if blob.context and grids is None:
                grids = self.grids(srgb8)
        if blob is None or not blob.context:
            grids = None
        return image_feeds(blob, h, w, grids, map_params)

    def restore(
        self,
        srgb8: np.ndarray,
        blob: Blob | None,
        out: np.ndarray | None = None,
        residual_map=None,
    ) -> np.ndarray:
        """8-bit sRGB carrier pixels (HxWx3) + blob -> linear ProPhoto float32 HxWx3. `blob`
        None: the plain expansion; `residual_map`: a checked container.residual_map.MapSamples.

        `out`: an HxWx3 float32 C-contiguous array to fill; reusing one across images of a size
        saves the page faults of a fresh one (150 MB at 12 MP, most of a CUDA restore's time).
        """
        h, w = srgb8.shape[:2]
        if out is None:
            out = np.empty((h, w, 3), np.float32)
        elif out.shape != (h, w, 3) or out.dtype != np.float32 or not out.flags.c_contiguous:
            raise GamutError(f"out must be a C-contiguous float32 array of shape {(h, w, 3)}")
        for top, rows in self.bands(srgb8, blob, out, residual_map=residual_map):
            if rows.base is not out:
                out[top : top + rows.shape[0]] = rows
        return out

    def bands(
        self,
        srgb8: np.ndarray,
        blob: Blob | None,
        out: np.ndarray | None = None,
        grids: Grids | None = None,
        residual_map=None,
    ) -> Iterator[tuple[int, np.ndarray]]:
        """(first row, restored rows) for one band of rows at a time: a writer can stream the
        result, so memory stays one band deep whatever the image size. With `out` (HxWx3
        float32) the bands are views of it, written in place. `grids`: the carrier's context
        grids, when the caller has them already."""
        params = None if residual_map is None else residual_map.params
        samples = None if residual_map is None else residual_map.samples
        feeds = self.feeds(srgb8, blob, grids, params)
        if self.provider == "cuda":
            yield from self.row_bands(srgb8, feeds, out, samples)
            return
        h, w = srgb8.shape[:2]
        t = self.tile

        def run(band: np.ndarray, rows: np.ndarray, top: int, left: int) -> None:
            tile_feeds = {
                **feeds,
                "srgb8": np.ascontiguousarray(band[:, left : left + t]),
                "origin": np.array([top, left], np.int64),
                "map_samples": _tile(samples, top, left, t, t),
            }
            rows[:, left : left + t], check = self._session.run(OUTPUTS, tile_feeds)
            _check(check)

        def start(top: int, pool: ThreadPoolExecutor) -> tuple:
            band = np.ascontiguousarray(srgb8[top : top + t, :, :3], dtype=np.uint8)
            rows = _band_buffer(out, top, band.shape[0], w)
            return top, rows, [pool.submit(run, band, rows, top, x) for x in range(0, w, t)]

        # The next band's tiles run while the caller takes this one: no core waits for it.
        with ThreadPoolExecutor(self.workers) as pool:
            ahead = start(0, pool)
            while ahead is not None:
                top, rows, tiles = ahead
                for tile in tiles:
                    tile.result()  # re-raises a tile's error here
                ahead = start(top + t, pool) if top + t < h else None
                yield top, rows

    def row_bands(
        self,
        srgb8: np.ndarray,
        feeds: dict,
        out: np.ndarray | None = None,
        samples: np.ndarray | None = None,
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
            binding.bind_cpu_input("map_samples", _tile(samples, top, 0, step, w))
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
        grids = self.grids(srgb8.numpy()) if blob.context else None
        binding = self._session.io_binding()
        for name, value in image_feeds(blob, h, w, grids).items():
            binding.bind_cpu_input(name, value)
        binding.bind_cpu_input("origin", np.zeros(2, np.int64))
        binding.bind_cpu_input("map_samples", UNUSED_SAMPLES)
        binding.bind_ortvalue_input("srgb8", srgb8)
        binding.bind_output("prophoto", srgb8.device_name().lower(), 0)
        binding.bind_output("residual_sum", "cpu")
        self._session.run_with_iobinding(binding)
        restored, check = binding.get_outputs()
        _check(check.numpy())
        return restored


def _tile(samples: np.ndarray | None, top: int, left: int, rows: int, cols: int) -> np.ndarray:
    """The residual map's samples under a tile (the graph reads them at the tile's pixels)."""
    if samples is None:
        return UNUSED_SAMPLES
    return np.ascontiguousarray(samples[top : top + rows, left : left + cols])


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
