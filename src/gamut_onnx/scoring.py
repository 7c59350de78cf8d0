"""How the encoder scores a restore: per-pixel squared errors, streamed in bands, and the
whole-image PSNR of each mode it may choose (MLP everywhere, or gated at a margin)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from gamut_onnx.colour import boundary_mask, srgb8_to_prophoto
from gamut_onnx.metrics import psnr_of_error, psnr_of_sum, squared_error
from gamut_onnx.pixels import masked, put_masked


def gate_restore(
    restored: np.ndarray, clipped: np.ndarray, seen: np.ndarray, margin: int
) -> np.ndarray:
    """What the graph outputs in gated mode: MLP result at boundary pixels, clip elsewhere."""
    return np.where(boundary_mask(seen, margin)[..., None], restored, clipped)


def candidate_modes(gate: str, margins: tuple[int, ...]) -> list[tuple[bool, int]]:
    """(gated, margin) pairs the encoder may choose among for `gate` = auto, on or off."""
    candidates = [] if gate == "on" else [(False, 0)]
    if gate != "off":
        candidates += [(True, m) for m in margins]
    return candidates


def gated_error(
    mlp_error: np.ndarray, clip_error: np.ndarray, seen: np.ndarray, margin: int
) -> np.ndarray:
    """`squared_error` of the gated restore: the MLP's at boundary pixels, clipping's elsewhere."""
    return np.where(boundary_mask(seen, margin), mlp_error, clip_error)


EXPANSION_ROWS = 512


def expanded_bands(srgb8: np.ndarray):
    """(first row, rows) of the reference expansion without a model, band by band (the
    encoder's baseline: numpy's twin of the restore graph with no pixel selected)."""
    for top in range(0, srgb8.shape[0], EXPANSION_ROWS):
        yield top, srgb8_to_prophoto(srgb8[top : top + EXPANSION_ROWS])


def banded_squared_error(bands, prophoto: np.ndarray) -> np.ndarray:
    """`squared_error` of an image that arrives as (first row, rows) bands (the plain expansion
    or a restore as it streams), so the whole image is never held beside the truth. Float32
    restores and truth give float32 errors, stored as such (half the bytes, the same values)."""
    error = np.empty(prophoto.shape[:2], np.float32)
    for top, rows in bands:
        error[top : top + len(rows)] = squared_error(rows, prophoto[top : top + len(rows)])
    return error


def clip_error(
    seen: np.ndarray,
    prophoto: np.ndarray,
    mlp_error: np.ndarray | None = None,
    gate: np.ndarray | None = None,
) -> np.ndarray:
    """Per-pixel squared error of the plain expansion (the clip). Given the error `mlp_error` of
    a restore gated at `gate`, only the gated pixels are expanded: elsewhere that restore is the
    expansion, bit for bit."""
    if mlp_error is None or gate is None:
        return banded_squared_error(expanded_bands(seen), prophoto)
    error = mlp_error.copy()
    diff = srgb8_to_prophoto(masked(seen, gate)) - masked(prophoto, gate)  # float32, as ever
    put_masked(error, gate, np.einsum("ij,ij->i", diff, diff))
    return error


def mode_error(
    mlp_error: np.ndarray,
    clip_error: np.ndarray,
    seen: np.ndarray,
    mode: tuple[bool, int],
    probe: tuple[bool, int] = (False, 0),
) -> np.ndarray:
    """The per-pixel squared error of the restore in `mode` from those of the MLP output in
    `probe` mode (every pixel, or a gate at least as wide) and of clipping; the probe's own mode
    is `mlp_error` itself (outside its gate the graph gave the clip)."""
    gated, margin = mode
    if not gated or mode == probe:
        return mlp_error
    return gated_error(mlp_error, clip_error, seen, margin)


@dataclass(frozen=True)
class GatedRestore:
    """A restore as the encoder keeps it: the values at the pixels its model ran on (`gate`,
    row-major); everywhere else the graph gives the carrier's plain expansion, recomputed when
    needed. So a gated 12 MP restore holds 18 MB instead of 146 MB."""

    gate: np.ndarray  # HxW bool
    values: np.ndarray  # [n, 3] float32
    transform: int  # the blob's carrier transform (its expansion matrix)


@dataclass(frozen=True)
class GatedError:
    """A restore's per-pixel squared error as the map and the lattice need it: the errors of its
    gated pixels (row-major), which they change, and the float64 sums over every other pixel,
    which nothing after the scoring changes. A 12 MP photo keeps 6 MB of it, not a 48 MB image,
    while the map's AVIF encodes run."""

    gated: np.ndarray  # [n] float32
    og_gated: np.ndarray  # [n] bool: the OG pixels among them
    outside: float  # sum over the pixels outside the gate
    outside_og: float  # ... over the OG pixels among those
    pixels: int
    og_pixels: int

    @classmethod
    def of(cls, error: np.ndarray, gate: np.ndarray, og: np.ndarray) -> GatedError:
        """From an HxW squared-error image, its restore's HxW `gate` and the OG mask."""
        outside = ~gate
        return cls(
            gated=masked(error, gate),
            og_gated=masked(og, gate),
            outside=float(error.sum(dtype=np.float64, where=outside)),
            outside_og=float(error.sum(dtype=np.float64, where=outside & og)),
            pixels=error.size,
            og_pixels=int(np.count_nonzero(og)),
        )

    def replaced(self, gated: np.ndarray) -> GatedError:
        """The same restore with other errors at its gated pixels."""
        return dataclasses.replace(self, gated=gated)

    def psnr(self) -> dict[str, float]:
        """Whole-image and OG PSNR (`metrics.psnr_of_error`'s formula; nan for no OG pixel)."""
        whole = self.outside + float(self.gated.sum(dtype=np.float64))
        og = self.outside_og + float(self.gated.sum(dtype=np.float64, where=self.og_gated))
        return {"psnr": psnr_of_sum(whole, self.pixels), "psnr_og": psnr_of_sum(og, self.og_pixels)}


def restore_and_error(bands, prophoto: np.ndarray, gate: np.ndarray, blob):
    """(`banded_squared_error` of a restore streamed in bands, the GatedRestore of its `gate`
    pixels), for the Blob `blob` the restore ran."""
    values = np.empty((np.count_nonzero(gate), 3), np.float32)
    filled = 0

    def keeping():
        nonlocal filled
        for top, rows in bands:  # in order, top to bottom
            part = masked(rows, gate[top : top + len(rows)])
            values[filled : filled + len(part)] = part
            filled += len(part)
            yield top, rows

    error = banded_squared_error(keeping(), prophoto)
    return error, GatedRestore(gate, values, blob.carrier_transform)


def score_modes(
    mlp_error: np.ndarray,
    clip_error: np.ndarray,
    seen: np.ndarray,
    candidates: list[tuple[bool, int]],
    probe: tuple[bool, int] = (False, 0),
) -> dict[tuple[bool, int], float]:
    """Whole-image PSNR of each candidate from the per-pixel squared errors of the MLP output
    in `probe` mode (every pixel, or the widest gate) and of clipping."""
    return {
        mode: psnr_of_error(mode_error(mlp_error, clip_error, seen, mode, probe))
        for mode in candidates
    }
