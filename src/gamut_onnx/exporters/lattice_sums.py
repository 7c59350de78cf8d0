"""The squared-error sums the encoder's lattice choice compares (exporters/lattice.py).

Each kind of pixel is summed on its own: the pixels the MLP does not run on ("unselected")
restore to the carrier's plain expansion whatever the model and map, so their sums need only
the carrier, the truth and the gate, and can be taken while the map is searched; the MLP's
pixels ("selected") are summed once their restore is final.
"""

from __future__ import annotations

import numpy as np

from gamut_onnx.colour import srgb8_to_prophoto
from gamut_onnx.colour.lattice import Lattice, snap
from gamut_onnx.cores import on_every_core
from gamut_onnx.pixels import masked

BAND = 1 << 16  # pixels at a time: temporaries of a few MB, in cache


def error_sums(estimate: np.ndarray, target: np.ndarray, og: np.ndarray, lattice: Lattice):
    """[2 (as restored, snapped), 2 (all, OG), 2 (linear ProPhoto, the source's linear space
    clipped to [0, 1], as a file in that space holds it)] squared-error sums of the estimates
    [3, n] against the truth `target` [3, n] (float32, linear ProPhoto); `og` [n] bool."""
    target_source = lattice.source_linear(target)
    sums = np.zeros((2, 2, 2))
    for k, values in enumerate((estimate, snap(estimate, lattice))):
        in_source = lattice.source_linear(values) - target_source
        for space, diff in enumerate((values - target, in_source)):
            error = np.einsum("ij,ij->j", diff, diff, dtype=np.float64)
            sums[k, 0, space] = error.sum()
            sums[k, 1, space] = error[og].sum()
    return sums


def unselected_sums(
    seen: np.ndarray,
    truth: np.ndarray,
    og: np.ndarray,
    gate: np.ndarray,
    transform: int,
    lattice: Lattice,
    parallel: bool = True,
) -> np.ndarray:
    """`error_sums` of the pixels outside `gate`, whose restore is the plain expansion of the
    carrier pixels `seen` (with the blob's carrier `transform`), band by band; on every core
    when `parallel`, else on the calling thread (beside other work). The same sums either way."""
    codes = seen.reshape(-1, seen.shape[-1])
    want, og, outside = truth.reshape(-1, 3), og.reshape(-1), ~gate.reshape(-1)

    def sums_of(part: slice) -> np.ndarray | None:
        keep = outside[part]
        if not keep.any():
            return None
        estimate = srgb8_to_prophoto(masked(codes[part], keep)[:, :3], transform)
        target = np.ascontiguousarray(masked(want[part], keep).T)
        return error_sums(estimate.T.copy(), target, masked(og[part], keep), lattice)

    return _in_bands(outside.size, sums_of, parallel)


def selected_sums(values: np.ndarray, truth: np.ndarray, og: np.ndarray, lattice: Lattice):
    """`error_sums` of the MLP's pixels: their restored `values` [n, 3], truth [n, 3] and OG
    flags [n], in the gate's row-major order, band by band on every core."""

    def sums_of(part: slice) -> np.ndarray:
        return error_sums(values[part].T.copy(), truth[part].T.copy(), og[part], lattice)

    return _in_bands(len(values), sums_of)


def _in_bands(count: int, sums_of, parallel: bool = True) -> np.ndarray:
    """The sum, in band order, of `sums_of(part)` over the parts of BAND pixels of [0, count)
    (None: nothing there), on every core when `parallel`, else on the calling thread: the
    same float64 additions either way."""
    starts = range(0, count, BAND)
    parts = [None] * len(starts)

    def band(start: int) -> None:
        parts[start // BAND] = sums_of(slice(start, start + BAND))

    if parallel:
        on_every_core(band, starts)
    else:
        for start in starts:
            band(start)
    return sum((part for part in parts if part is not None), np.zeros((2, 2, 2)))


def class_sums(unselected: np.ndarray, selected: np.ndarray) -> np.ndarray:
    """[2 (as restored, snapped), 2 (unselected, selected), 2 (all, OG), 2 (space)]: the two
    kinds' `error_sums` side by side, as exporters.lattice.choose_mode takes them."""
    return np.stack([unselected, selected], axis=1)
