"""How the encoder scores a restore: per-pixel squared errors, streamed in bands, and the
whole-image PSNR of each mode it may choose (MLP everywhere, or gated at a margin)."""

from __future__ import annotations

import numpy as np

from gamut_onnx.colour import boundary_mask, srgb8_to_prophoto
from gamut_onnx.metrics import psnr_of_error, squared_error


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
    or a restore as it streams), so the whole image is never held beside the truth."""
    error = np.empty(prophoto.shape[:2], np.float64)
    for top, rows in bands:
        error[top : top + len(rows)] = squared_error(rows, prophoto[top : top + len(rows)])
    return error


def score_modes(
    mlp_error: np.ndarray,
    clip_error: np.ndarray,
    seen: np.ndarray,
    candidates: list[tuple[bool, int]],
) -> dict[tuple[bool, int], float]:
    """Whole-image PSNR of each candidate from the per-pixel squared errors of the MLP output
    (wherever a candidate may use it: every pixel, or the widest gate) and of clipping."""
    return {
        (gated, margin): psnr_of_error(
            gated_error(mlp_error, clip_error, seen, margin) if gated else mlp_error
        )
        for gated, margin in candidates
    }
