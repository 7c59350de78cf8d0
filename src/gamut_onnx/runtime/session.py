"""Restore on onnxruntime: one cached session over the fixed graph serves every image.

No torch here. Images are processed in fixed-size tiles so memory stays bounded whatever the
image size. On the CPU, tiles run in parallel, one single-threaded onnxruntime run per core:
several of the graph's heaviest ops (Sin, the table Gathers) gain little from onnxruntime's
intra-op threads: on a 12 MP photo with 2 cores this was 0.50 s against 0.69 s.
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
DEFAULT_TILE = 512


@cache
def _session(provider: str, threads: int, graph: Path = GRAPH_PATH):
    ort = import_onnxruntime()
    if provider == "cuda":
        preload_cuda_libraries(ort)
    options = ort.SessionOptions()
    options.log_severity_level = 4
    options.intra_op_num_threads = threads
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    names = [PROVIDERS[provider]] + ([PROVIDERS["cpu"]] if provider != "cpu" else [])
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
        return PROVIDERS["cuda"] in _session("cuda", os.cpu_count() or 1).get_providers()
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
        tile: int = DEFAULT_TILE,
        threads: int = 0,
        graph: str | os.PathLike = GRAPH_PATH,
    ):
        self.provider = resolve_provider(provider)
        self.tile = int(tile)
        if self.tile < 16:
            raise GamutError(f"tile size {tile} is too small (minimum 16)")
        threads = threads or os.cpu_count() or 1
        # CPU: `threads` tiles at a time, each on a single-threaded run; CUDA: one at a time.
        self.workers = threads if self.provider == "cpu" else 1
        # `graph`: the shipped graph unless a benchmark compares another version of it.
        self._session = _session(
            self.provider, 1 if self.provider == "cpu" else threads, Path(graph)
        )

    def restore(self, srgb8: np.ndarray, blob: Blob) -> np.ndarray:
        """8-bit sRGB carrier pixels (HxWx3) + blob -> linear ProPhoto float32 HxWx3."""
        h, w = srgb8.shape[:2]
        out = np.empty((h, w, 3), np.float32)
        for top, rows in self.bands(srgb8, blob):
            out[top : top + rows.shape[0]] = rows
        return out

    def bands(self, srgb8: np.ndarray, blob: Blob) -> Iterator[tuple[int, np.ndarray]]:
        """(first row, restored rows) for one row of tiles at a time: a writer can stream the
        result, so memory stays one band deep whatever the image size."""
        h, w = srgb8.shape[:2]
        check_image_size(blob, h, w)
        feeds = {
            "image_size": np.array([h, w], np.int64),
            "edges": boundary_edges(blob),
            "to_prophoto": expansion_matrix(blob.carrier_transform),
            **{
                name: np.ascontiguousarray(v, np.float32)
                for name, v in zip(("w1", "b1", "w2", "b2", "w3", "b3"), blob.weights, strict=True)
            },
        }
        t = self.tile
        with ThreadPoolExecutor(self.workers) as pool:
            for top in range(0, h, t):
                band = np.ascontiguousarray(srgb8[top : top + t, :, :3], dtype=np.uint8)
                out = np.empty(band.shape[:2] + (3,), np.float32)

                def run(left: int, band=band, out=out, top=top) -> None:
                    tile_feeds = {
                        **feeds,
                        "srgb8": np.ascontiguousarray(band[:, left : left + t]),
                        "origin": np.array([top, left], np.int64),
                    }
                    (out[:, left : left + t],) = self._session.run(["prophoto"], tile_feeds)

                list(pool.map(run, range(0, w, t)))  # list(): re-raises a tile's error here
                if not np.isfinite(out).all():  # blobs are bounded, so this is a bug or a GPU fault
                    raise GamutError("restore produced non-finite values; refusing the output")
                yield top, out
