"""The source's code lattice: most wide-gamut photos were 8-bit (a phone's HEIC or JPEG), so every
true colour is one of 256^3 code triples of the source space. A restored colour moved to the
nearest of them is exact wherever the restore was within half a code of the truth: every
in-gamut pixel of a lossless carrier, and most restored ones.

`snap` is the numpy twin of the restore graph's lattice step (exporters/lattice_graph.py, bit
for bit); `pack_lattice` / `parse_lattice` are blob record 131 (docs/blob-format.md section 3.1).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np

from gamut_onnx.errors import GamutError

BUCKETS = 4096  # of u = s^(1/4): each holds at most one code threshold (the encoder checks)
MAX_LEVELS = 1024  # 8- and 10-bit sources; 12- and 16-bit steps are below what a restore keeps
MAX_MATRIX_ENTRY = 16.0
MODE_UNSELECTED = 1  # snap the pixels the MLP does not run on (their carrier colour)
MODE_SELECTED = 2  # snap the restored pixels
RECORD_HEAD = struct.Struct("<BBH")  # mode, curves, levels
MATRIX_BYTES = 2 * 9 * 4


@dataclass(frozen=True)
class Lattice:
    """Linear ProPhoto <-> the source's linear RGB, and the linear value of each source code."""

    to_source: np.ndarray = field(repr=False)  # float32 [3, 3]: linear ProPhoto -> source
    to_prophoto: np.ndarray = field(repr=False)  # float32 [3, 3]: source -> linear ProPhoto
    codes: np.ndarray = field(repr=False)  # float32 [1 or 3, levels], strictly increasing
    mode: int = MODE_UNSELECTED | MODE_SELECTED
    name: str = ""  # what it is, for reports (not stored)

    @property
    def levels(self) -> int:
        return int(self.codes.shape[1])

    def source_linear(self, planes: np.ndarray) -> np.ndarray:
        """[3, N] linear ProPhoto -> the source's linear RGB, clipped to [0, 1] (the graph's
        order of operations)."""
        return np.clip(times(self.to_source, planes), np.float32(0), np.float32(1))

    def with_mode(self, mode: int) -> Lattice:
        return Lattice(self.to_source, self.to_prophoto, self.codes, mode, self.name)


def lattice_facts(lattice: Lattice | None) -> dict | None:
    """What `inspect` says of a blob's lattice record."""
    if lattice is None:
        return None
    curves, levels = lattice.codes.shape
    return {"mode": lattice.mode, "curves": int(curves), "levels": int(levels)}


def pack_lattice(lattice: Lattice) -> bytes:
    """Record 131's payload."""
    curves, levels = lattice.codes.shape
    return (
        RECORD_HEAD.pack(lattice.mode, curves, levels)
        + np.asarray(lattice.to_source, "<f4").tobytes()
        + np.asarray(lattice.to_prophoto, "<f4").tobytes()
        + np.asarray(lattice.codes, "<f4").tobytes()
    )


def record_bytes(lattice: Lattice | None) -> int:
    """What record 131 adds to a blob (the residual map's budget leaves room for it)."""
    return 0 if lattice is None else 5 + len(pack_lattice(lattice))


def parse_lattice(payload: bytes) -> Lattice:
    """Record 131's payload, checked as strictly as the weights (section 3.1's rules)."""
    if len(payload) < RECORD_HEAD.size:
        raise GamutError("lattice record is truncated")
    mode, curves, levels = RECORD_HEAD.unpack_from(payload)
    if mode not in (1, 2, 3):
        raise GamutError(f"lattice record mode {mode} (expected 1 to 3)")
    if curves not in (1, 3) or not 2 <= levels <= MAX_LEVELS:
        raise GamutError(f"lattice record has {curves} curves of {levels} codes")
    expected = RECORD_HEAD.size + MATRIX_BYTES + 4 * curves * levels
    if len(payload) != expected:
        raise GamutError(f"lattice record is {len(payload)} bytes, its header says {expected}")
    values = np.frombuffer(payload, "<f4", offset=RECORD_HEAD.size).astype(np.float32)
    if not np.all(np.isfinite(values)):
        raise GamutError("lattice record holds NaN or infinity")
    matrices, codes = values[:18].reshape(2, 3, 3), values[18:].reshape(curves, levels)
    if np.abs(matrices).max() > MAX_MATRIX_ENTRY:
        raise GamutError(f"lattice record matrix entries exceed +-{MAX_MATRIX_ENTRY:g}")
    if codes.min() < 0 or codes.max() > 1 or np.any(np.diff(codes, axis=1) <= 0):
        raise GamutError("lattice record codes are not strictly increasing within [0, 1]")
    return Lattice(matrices[0], matrices[1], codes, mode)


def times(matrix: np.ndarray, planes: np.ndarray) -> np.ndarray:
    """[3, 3] x [3, N] as fl(fl(fl(m0 p0) + fl(m1 p1)) + fl(m2 p2)), the graph's order."""
    m = np.asarray(matrix, np.float32)
    return (m[:, 0:1] * planes[0:1] + m[:, 1:2] * planes[1:2]) + m[:, 2:3] * planes[2:3]


def _bucket(values: np.ndarray) -> np.ndarray:
    """int(fl(sqrt(sqrt(v)) * BUCKETS)) (truncation, a floor here): the bucket of a linear value
    in [0, 1] (code values are checked to lie there, restored values are clipped)."""
    u = np.sqrt(np.sqrt(values))
    return (u * np.float32(BUCKETS)).astype(np.int32)


def thresholds(codes: np.ndarray) -> np.ndarray:
    """[3, levels - 1] float32 midpoints between neighbouring codes, per channel."""
    full = np.broadcast_to(np.asarray(codes, np.float32), (3, codes.shape[1]))
    return (full[:, :-1] + full[:, 1:]) * np.float32(0.5)


def buckets_ok(codes: np.ndarray) -> bool:
    """Whether no bucket holds two thresholds (then `snap` finds the nearest code)."""
    return all(np.bincount(_bucket(t)).max() <= 1 for t in thresholds(codes))


def snap(planes: np.ndarray, lattice: Lattice) -> np.ndarray:
    """[3, N] float32 linear ProPhoto -> the nearest lattice colour (in the source's linear
    light, per channel), clipped to [0, 1]."""
    planes = np.asarray(planes, np.float32)
    s = lattice.source_linear(planes)
    mids = thresholds(lattice.codes)
    padded = np.concatenate([mids, np.full((3, 1), 2.0, np.float32)], axis=1)  # [3, L]
    codes = np.empty(s.shape, np.int64)
    for c in range(3):
        below = np.bincount(_bucket(mids[c]), minlength=BUCKETS + 1)[: BUCKETS + 1]
        first = np.concatenate([[0], np.cumsum(below)[:-1]])  # thresholds in lower buckets
        bucket = _bucket(s[c])
        codes[c] = first[bucket] + (s[c] > padded[c][first][bucket])
    table = np.broadcast_to(np.asarray(lattice.codes, np.float32), (3, lattice.levels))
    linear = np.take_along_axis(table, codes, axis=1)
    return np.clip(times(lattice.to_prophoto, linear), np.float32(0), np.float32(1))
