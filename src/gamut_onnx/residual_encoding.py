"""The encoder's residual-map step (recipes with `residual_map`): after the fit and its scoring,
code what the restore still gets wrong within the byte budget, score the result with the
decoder's own code, and keep the map only if it improves the whole image."""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from gamut_onnx.blob import unpack_blob
from gamut_onnx.errors import GamutError
from gamut_onnx.metrics import psnr_of_error, squared_error
from gamut_onnx.residual_map import (
    MIN_MAP_BYTES,
    WEIGHT_POWER,
    correct,
    gate_of,
    largest_within,
    map_budget,
    map_samples,
    pack_map,
)

MAP_CARRIERS = ("png", "jpeg")


def check_map_carrier(carrier: str) -> None:
    """For an explicit --residual-map: say before any work that this carrier cannot hold one."""
    if carrier not in MAP_CARRIERS:
        raise GamutError(f"a residual map needs a PNG or JPEG carrier, not {carrier.upper()}")


def with_residual_map(prep, result, provider: str = "auto", restored=None, pixel_error=None):
    """`result` (codec.EncodeResult) with a residual map in its carrier when one fits the
    budget and improves the whole-image PSNR; `residual_map` in the report says what and why.

    `restored` (HxWx3 float32, changed here) and `pixel_error` (HxW squared error) are the
    restore of `result.blob` and its error when the caller has them (the encoder's scoring
    restore): a 12 MP restore costs more than a second."""
    from gamut_onnx.runtime import RestoreSession

    if result.model == "none" or prep.carrier not in MAP_CARRIERS:
        why = "no model" if result.model == "none" else f"{prep.carrier.upper()} carrier"
        return dataclasses.replace(result, residual_map={"chosen": False, "why": why})
    budget = map_budget(result.file_bytes)
    report = {"chosen": False, "budget": budget}
    if budget < MIN_MAP_BYTES:
        report["why"] = f"budget under {MIN_MAP_BYTES} bytes"
        return dataclasses.replace(result, residual_map=report)
    blob = unpack_blob(result.blob)
    if restored is None:
        restored = RestoreSession(provider).restore(prep.seen, blob)
    if pixel_error is None:
        pixel_error = squared_error(restored, prep.prophoto)
    gate = gate_of(prep.seen, blob)
    truth = prep.prophoto[gate]
    error = truth - restored[gate]
    # Weighted coding spends more bytes on dark pixels; where even its lowest quality does not
    # fit, the unweighted map may (one dev photo of 31).
    for power in (WEIGHT_POWER, 0.0):
        found = largest_within(error, gate, result.blob, prep.seen, budget, power)
        if found is not None:
            break
    if found is None:
        report["why"] = "lowest quality does not fit the budget"
        return dataclasses.replace(result, residual_map=report)
    residual_map, quality = found
    samples = map_samples(residual_map)
    correct(restored, samples, gate, residual_map, prep.seen, blob.carrier_transform)
    diff = restored[gate] - truth  # float32 differences, as metrics.squared_error takes them
    pixel_error[gate] = np.einsum("ij,ij->i", diff, diff)
    scores = {"psnr": psnr_of_error(pixel_error), "psnr_og": psnr_of_error(pixel_error, prep.og)}
    packed = pack_map(residual_map)
    report.update(
        bytes=len(packed),
        quality=quality,
        weight_power=residual_map.weight_power,
        psnr_without=result.psnr,
        **scores,
    )
    if scores["psnr"] <= result.psnr:
        report["why"] = "does not improve the whole image"
        return dataclasses.replace(result, residual_map=report)
    report.update(chosen=True, psnr_og_without=result.psnr_og)
    if prep.bare_jpeg is not None:
        from gamut_onnx.colour.icc import SRGB_ICC
        from gamut_onnx.container import jpeg

        data = jpeg.add_segments(prep.bare_jpeg, SRGB_ICC, result.blob, packed)
    else:
        data = prep.carrier_with(result.blob, packed)
    return dataclasses.replace(
        result,
        data=data,
        file_bytes=len(data),
        encode_s=time.perf_counter() - prep.start,
        residual_map=report,
        **scores,
    )
