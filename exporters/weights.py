"""Fitted torch module -> weight blob (the exporter's torch side)."""

from __future__ import annotations

import numpy as np

from gamut_onnx.blob import Blob, pack_blob, pixel_digest


def model_weights(model) -> list[np.ndarray]:
    """Blob-order float32 weights from a GamutMLP module: W1 [in, out], b1, W2, b2, W3, b3."""
    out = []
    for layer in (m for m in model if hasattr(m, "weight")):
        out.append(layer.weight.detach().cpu().numpy().T.astype(np.float32).copy())
        out.append(layer.bias.detach().cpu().numpy().astype(np.float32).copy())
    return out


def blob_from_model(
    model, octaves: int, srgb8: np.ndarray, *, weight_dtype: str = "float16", gated: bool = False
) -> bytes:
    """Pack a fitted module for the carrier pixels `srgb8` into blob bytes."""
    weights = model_weights(model)
    h, w = srgb8.shape[:2]
    blob = Blob(
        weights=weights,
        width=weights[0].shape[1],
        octaves=octaves,
        image_width=w,
        image_height=h,
        pixel_digest=pixel_digest(srgb8),
        weight_dtype=weight_dtype,
        gated=gated,
    )
    return pack_blob(blob)
