"""Restored TIFFs: 16-bit (or 32-bit float) RGB(A), deflate with a predictor, the output space's
ICC profile, written tile by tile as the rows arrive so that memory stays a band deep."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import BinaryIO

import numpy as np
import tifffile

TILE = 256
ZLIB_LEVEL = 1  # restored images are working files: speed over the last few percent of size


def _tile_rows(bands: Iterable[np.ndarray], width: int, channels: int) -> Iterator[np.ndarray]:
    """Regroup bands of any height into TILE-row strips (the last one may be shorter)."""
    pending: list[np.ndarray] = []
    rows = 0
    for band in bands:
        pending.append(band)
        rows += band.shape[0]
        while rows >= TILE:
            block = np.concatenate(pending, axis=0)
            yield block[:TILE]
            pending, rows = [block[TILE:]], rows - TILE
    if rows:
        yield np.concatenate(pending, axis=0)


def _tiles(bands: Iterable[np.ndarray], width: int, channels: int) -> Iterator[np.ndarray]:
    for strip in _tile_rows(bands, width, channels):
        for left in range(0, width, TILE):
            yield strip[:, left : left + TILE]


def write_tiff(
    out: BinaryIO,
    bands: Iterable[np.ndarray],
    width: int,
    height: int,
    channels: int,
    icc: bytes | None,
    depth: str,
) -> None:
    """Write the TIFF into the open (seekable) file `out`."""
    dtype = np.float32 if depth == "float" else np.uint16
    with tifffile.TiffWriter(out) as tif:
        tif.write(
            _tiles(bands, width, channels),
            shape=(height, width, channels),
            dtype=dtype,
            tile=(TILE, TILE),
            photometric="rgb",
            planarconfig="contig",
            extrasamples=["unassalpha"] if channels == 4 else None,
            compression="zlib",
            compressionargs={"level": ZLIB_LEVEL},
            predictor=True,
            iccprofile=icc,
            metadata=None,
            software="gamut-onnx",
        )
