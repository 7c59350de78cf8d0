"""Score one fit recipe on a set of photos (fp32 weights, evaluated in torch, no carrier I/O).

    python bench/fit_ablation.py '{"steps": 3000, "og_stride": 1, "ig_stride": 10}' photo.tif ...

Prints the mean whole-image PSNR (MLP everywhere, and gated to boundary pixels), the mean OG PSNR
and the mean fit seconds, next to plain clipping, for the default preset with the given fields
overridden. Used for the ablation table in docs/design.md.
"""

from __future__ import annotations

import json
import sys

import numpy as np
import torch

from gamut_onnx.colour import boundary_mask, out_of_gamut_mask, prophoto_to_srgb8
from gamut_onnx.features import frequency_bands, mlp_inputs
from gamut_onnx.fit import encode_features, fit, preset
from gamut_onnx.inputs import read_prophoto
from gamut_onnx.metrics import psnr


def predict(model, inputs: np.ndarray, octaves: int, chunk: int = 200_000) -> np.ndarray:
    freq = torch.from_numpy(frequency_bands(octaves))
    flat = torch.from_numpy(inputs.reshape(-1, 5))
    with torch.no_grad():
        parts = [
            model(encode_features(flat[i : i + chunk], freq)).numpy()
            for i in range(0, len(flat), chunk)
        ]
    return np.concatenate(parts).reshape(*inputs.shape[:2], 3)


def main() -> None:
    overrides, files = json.loads(sys.argv[1]), sys.argv[2:]
    config = preset("default", **overrides)
    rows = []
    for path in files:
        truth = read_prophoto(path).prophoto
        srgb8, og = prophoto_to_srgb8(truth), out_of_gamut_mask(truth)
        inputs, clipped = mlp_inputs(srgb8)
        result = fit(inputs, truth - clipped, og, config, device="cpu")
        restored = np.clip(clipped + predict(result.model, inputs, config.octaves), 0, 1)
        gated = np.where(boundary_mask(srgb8)[..., None], restored, clipped)
        rows.append(
            [
                psnr(clipped, truth),
                psnr(restored, truth),
                psnr(gated, truth),
                psnr(clipped, truth, og),
                psnr(restored, truth, og),
                result.seconds,
            ]
        )
    clip, ungated, gated, og_clip, og_ours, seconds = np.mean(rows, axis=0)
    print(
        json.dumps(overrides),
        f"clip {clip:.2f} | ungated {ungated:.2f} | gated {gated:.2f} | "
        f"OG clip {og_clip:.2f} -> {og_ours:.2f} | fit {seconds:.1f} s",
        flush=True,
    )


if __name__ == "__main__":
    main()
