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
    starts = range(0, outside.size, BAND)
    parts = [np.zeros((2, 2, 2))] * len(starts)  # replaced, never changed in place

    def band(start: int) -> None:
        keep = outside[start : start + BAND]
        if keep.any():
            part = slice(start, start + BAND)
            estimate = srgb8_to_prophoto(codes[part][keep, :3], transform)
            target = np.ascontiguousarray(want[part][keep].T)
            parts[start // BAND] = error_sums(estimate.T.copy(), target, og[part][keep], lattice)

    if parallel:
        on_every_core(band, starts)
    else:
        for start in starts:
            band(start)
    return sum(parts, np.zeros((2, 2, 2)))


def selected_sums(values: np.ndarray, truth: np.ndarray, og: np.ndarray, lattice: Lattice):
    """`error_sums` of the MLP's pixels: their restored `values` [n, 3], truth [n, 3] and OG
    flags [n], in the gate's row-major order, band by band on every core."""
    starts = range(0, len(values), BAND)
    parts = [np.zeros((2, 2, 2))] * len(starts)

    def band(start: int) -> None:
        part = slice(start, start + BAND)
        estimate, target = values[part].T.copy(), truth[part].T.copy()
        parts[start // BAND] = error_sums(estimate, target, og[part], lattice)

    on_every_core(band, starts)
    return sum(parts, np.zeros((2, 2, 2)))


def class_sums(unselected: np.ndarray, selected: np.ndarray) -> np.ndarray:
    """[2 (as restored, snapped), 2 (unselected, selected), 2 (all, OG), 2 (space)]: the two
    kinds' `error_sums` side by side, as exporters.lattice.choose_mode takes them."""
    return np.stack([unselected, selected], axis=1)
