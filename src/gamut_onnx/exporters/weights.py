"""Fitted torch module -> weight blob (the exporter's torch side)."""

from __future__ import annotations

import numpy as np

from gamut_onnx.blob import Blob, pack_blob, weight_shapes


def model_weights(model) -> list[np.ndarray]:
    """Blob-order float32 weights from a GamutMLP module: W1 [in, out], b1, W2, b2, W3, b3."""
    out = []
    for layer in (m for m in model if hasattr(m, "weight")):
        out.append(layer.weight.detach().cpu().numpy().T.astype(np.float32).copy())
        out.append(layer.bias.detach().cpu().numpy().astype(np.float32).copy())
    return out


def blob_from_model(
    model,
    octaves: int,
    *,
    image_size: tuple[int, int],
    digest: bytes,
    weight_dtype: str = "float16",
    gated: bool = False,
    boundary_margin: int = 0,
    source: dict | None = None,
    context: bool = False,
    jpeg_digest: bytes | None = None,
) -> bytes:
    """Pack a fitted module into blob bytes for a carrier of `image_size` (H, W) and `digest`;
    `source` holds the photo's colour space as Blob fields (codec.source_fields). Without
    `context`, a model built with context inputs must have them at zero: their rows are left
    out (the layout-1 blob computes the same function)."""
    weights = model_weights(model)
    rows = weight_shapes(weights[0].shape[1], octaves)[0][0]
    if not context and weights[0].shape[0] > rows:
        if np.any(weights[0][rows:]):
            raise ValueError("a model whose context rows are not zero needs context=True")
        weights[0] = weights[0][:rows]
    return pack_blob(
        Blob(
            weights=weights,
            width=weights[0].shape[1],
            octaves=octaves,
            image_width=int(image_size[1]),
            image_height=int(image_size[0]),
            pixel_digest=digest,
            weight_dtype=weight_dtype,
            gated=gated,
            boundary_margin=boundary_margin,
            context=context,
            jpeg_digest=jpeg_digest,
            **(source or {}),
        )
    )
