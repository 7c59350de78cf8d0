"""Would a local mean colour input let the MLP remove JPEG noise? (an ablation; not shipped)

    python bench/jpeg_local_mean.py PHOTO.tif... [--quality 90]

Closed-loop fits on the decoded JPEG with the default recipe (from random weights in every arm,
so only the inputs differ), scored in torch at the encoder's training gate (margin 8):

- base: the shipped inputs (x, y, R, G, B);
- +mean: also the 3x3 box mean of the clipped ProPhoto colour, frequency-encoded like R, G, B;
- +mean+diff: also (mean - colour) x 32 as three raw features, a linear path to denoising.

Prints whole-image / OG PSNR per photo and the means, and the OG difference to base.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import torch
from common import machine

from gamut_onnx.codec import TRAIN_MARGINS
from gamut_onnx.colour import boundary_mask, out_of_gamut_mask, prophoto_to_srgb8
from gamut_onnx.container import jpeg
from gamut_onnx.features import frequency_bands, mlp_inputs
from gamut_onnx.fit import PRESETS, encode_features, train, training_pixels
from gamut_onnx.metrics import psnr
from gamut_onnx.read import read_prophoto

ARMS = ("base", "+mean", "+mean+diff")


def box_mean(image: np.ndarray, size: int = 3) -> np.ndarray:
    """Mean over a size x size window (edge-replicated), per channel, via an integral image."""
    r = size // 2
    padded = np.pad(image.astype(np.float64), ((r, r), (r, r), (0, 0)), mode="edge")
    s = np.pad(padded, ((1, 0), (1, 0), (0, 0))).cumsum(0).cumsum(1)
    h, w = image.shape[:2]
    total = s[size:, size:][:h, :w] - s[:h, size:][:, :w] - s[size:, :w][:h] + s[:h, :w]
    return (total / size**2).astype(np.float32)


def features(arm: str, inputs, clipped, local_mean, index: np.ndarray, freq):
    """The MLP's input features of the pixels at `index` for one arm."""
    columns = [inputs.reshape(-1, 5)[index]]
    if arm != "base":
        mean = local_mean.reshape(-1, 3)[index]
        columns.append(mean * 2 - 1)
    encoded = encode_features(torch.from_numpy(np.concatenate(columns, 1)), freq)
    if arm == "+mean+diff":
        diff = (mean - clipped.reshape(-1, 3)[index]) * 32
        encoded = torch.cat([encoded, torch.from_numpy(diff)], 1)
    return encoded


def random_params(inputs: int, width: int) -> list:
    g = torch.Generator().manual_seed(0)
    return [
        torch.randn(inputs, width, generator=g) * inputs**-0.5,
        torch.zeros(width),
        torch.randn(width, width, generator=g) * width**-0.5,
        torch.zeros(width),
        torch.randn(width, 3, generator=g) * 0.01,
        torch.zeros(3),
    ]


def run_arm(arm: str, truth, og, seen, config) -> tuple[float, float]:
    """Fit one arm on the decoded JPEG `seen` and score it at the training gate."""
    inputs, clipped = mlp_inputs(seen)
    local_mean = box_mean(clipped) if arm != "base" else None
    freq = torch.from_numpy(frequency_bands(config.octaves))
    margin = TRAIN_MARGINS["jpeg"]
    index = training_pixels(seen, og, config, margin)
    x = features(arm, inputs, clipped, local_mean, index, freq)
    target = torch.from_numpy(truth.reshape(-1, 3)[index] - clipped.reshape(-1, 3)[index])
    params = random_params(x.shape[1], config.width)
    train(params, x, target, config, generator=torch.Generator().manual_seed(0))
    gate = np.flatnonzero(boundary_mask(seen, margin))
    w1, b1, w2, b2, w3, b3 = params
    with torch.no_grad():
        h = (features(arm, inputs, clipped, local_mean, gate, freq) @ w1 + b1).relu()
        residual = ((h @ w2 + b2).relu() @ w3 + b3).numpy()
    restored = clipped.reshape(-1, 3).copy()
    restored[gate] += residual
    restored = restored.reshape(truth.shape)
    return psnr(restored, truth), psnr(restored, truth, og)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("photos", nargs="+")
    parser.add_argument("--quality", type=int, default=90)
    args = parser.parse_args()
    print(machine())
    config = PRESETS["default"]
    rows = []
    for path in args.photos:
        truth = read_prophoto(path, untagged="prophoto").prophoto
        og = out_of_gamut_mask(truth)
        seen = jpeg.decode_jpeg(jpeg.encode_jpeg(prophoto_to_srgb8(truth), args.quality))
        rows.append([run_arm(arm, truth, og, seen, config) for arm in ARMS])
        cells = " ".join(f"{a} {p:.2f}/{q:.2f}" for a, (p, q) in zip(ARMS, rows[-1], strict=True))
        print(f"{path}: {cells}", file=sys.stderr, flush=True)
    means = np.mean(rows, axis=0)
    for arm, (whole, og_psnr) in zip(ARMS, means, strict=True):
        gain = og_psnr - means[0][1]
        print(f"{arm:12s} PSNR {whole:.2f}  OG {og_psnr:.2f}  (OG vs base {gain:+.2f})")


if __name__ == "__main__":
    main()
