"""Restored TIFFs: 16-bit (or 32-bit float) RGB(A), deflate, the output space's ICC profile,
written tile by tile as the rows arrive so that memory stays a strip of tiles deep.

The tiles are compressed here, a few at a time on every core (the codecs release the GIL), and
tifffile writes them with the file's structure. 16-bit samples take the horizontal predictor
(TIFF predictor 2: each sample minus its left neighbour's, modulo 2^16); float samples take
none, since the floating-point predictor needs imagecodecs, which the decode-only install
lacks. Deflate is libdeflate's (imagecodecs) where installed, twice as fast as zlib's at level
1 and 2 % smaller, else zlib's. Tiles 256 columns wide compress 10 % better than full-width
strips: zlib's 32 KB window then reaches twenty rows back instead of one.
"""

from __future__ import annotations

import zlib
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import BinaryIO

import numpy as np
import tifffile

from gamut_onnx.cores import cpu_threads

TILE = (128, 256)  # rows, columns: the restore's bands are 128 rows, and 256 columns compress
# as well as 256 x 256 tiles (zlib's window reaches 20 rows back)
DEFLATE_LEVEL = 1  # restored images are working files: speed over the last few percent of size


def _strips(bands: Iterable[np.ndarray], rows: int) -> Iterator[np.ndarray]:
    """Regroup bands of any height into strips of `rows` rows (the last one may be shorter)."""
    pending: list[np.ndarray] = []
    held = 0
    for band in bands:
        pending.append(band)
        held += band.shape[0]
        while held >= rows:
            block = pending[0] if len(pending) == 1 else np.concatenate(pending, axis=0)
            yield block[:rows]
            held -= rows
            pending = [block[rows:]] if held else []  # bands of `rows` rows are never copied
    if held:
        yield np.concatenate(pending, axis=0)


def _deflate():
    """libdeflate's zlib-format deflate where imagecodecs is installed, else zlib's."""
    try:
        import imagecodecs

        return lambda data: imagecodecs.deflate_encode(data, level=DEFLATE_LEVEL)
    except ImportError:
        return lambda data: zlib.compress(data, DEFLATE_LEVEL)


def _tiles(strip: np.ndarray, width: int) -> Iterator[np.ndarray]:
    """The TILE-sized tiles of a strip, padded with zeros at the right and bottom edges."""
    for left in range(0, width, TILE[1]):
        tile = strip[:, left : left + TILE[1]]
        if tile.shape[:2] != TILE:
            padded = np.zeros((*TILE, strip.shape[2]), strip.dtype)
            padded[: tile.shape[0], : tile.shape[1]] = tile
            tile = padded
        yield tile


def _encoded(tile: np.ndarray, deflate) -> bytes:
    """One tile, predicted (integers) and deflated, little-endian."""
    if tile.dtype == np.uint16:
        predicted = tile.copy()
        predicted[:, 1:] -= tile[:, :-1]  # wraps modulo 2^16, as the predictor specifies
        tile = predicted
    return deflate(np.ascontiguousarray(tile, tile.dtype.newbyteorder("<")))


def _encoded_tiles(bands: Iterable[np.ndarray], width: int, workers: int) -> Iterator[bytes]:
    """The tiles compressed on `workers` threads, in order, a few tiles at a time."""
    deflate = _deflate()
    ahead = 2 * workers
    with ThreadPoolExecutor(workers) as pool:
        pending: deque = deque()
        for strip in _strips(bands, TILE[0]):
            for tile in _tiles(strip, width):
                pending.append(pool.submit(_encoded, tile, deflate))
                if len(pending) > ahead:
                    yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


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
            _encoded_tiles(bands, width, cpu_threads()),
            shape=(height, width, channels),
            dtype=dtype,
            tile=TILE,
            photometric="rgb",
            planarconfig="contig",
            extrasamples=["unassalpha"] if channels == 4 else None,
            compression="zlib",
            predictor=dtype == np.uint16,
            iccprofile=icc,
            metadata=None,
            software="gamut-onnx",
        )
