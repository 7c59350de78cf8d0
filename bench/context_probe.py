"""Probe: does context from the carrier around a pixel help the MLP? (issues 14 and 15)

    python bench/context_probe.py --scales 5,17,65,257 ../shared/data/dev/full/*.tif
    python bench/context_probe.py --scales 8,32,128 --blocks ../shared/data/dev/*.tif

Per photo, the default fit twice on the same training pixels: as shipped, and with extra raw MLP
inputs computed from the carrier alone (what a decoder also has): at each scale, the local mean
of the clipped linear ProPhoto colour and the fraction of boundary pixels, in [-1, 1]. Box means
(edge-replicated) or, with --blocks, block means interpolated bilinearly at pixel centres (what a
tiled restore could compute from a small per-image grid). The extra first-layer rows start at
zero, so both fits start from the same function. Prints whole / OG PSNR of the gated restore
(torch, fp32) per photo and the mean gain. Not in the blob format: a measurement of the lever.
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

import numpy as np
import torch

from gamut_onnx.colour import (
    boundary_mask,
    out_of_gamut_mask,
    prophoto_to_srgb8,
    srgb8_to_prophoto,
)
from gamut_onnx.fit import encode_pool, load_init, preset, train, training_pixels
from gamut_onnx.metrics import psnr
from gamut_onnx.read import read_prophoto


def box_mean(image: np.ndarray, size: int) -> np.ndarray:
    """Mean over a size x size window (odd size) per channel, edges replicated."""
    r = size // 2
    padded = np.pad(image.astype(np.float64), ((r + 1, r), (r + 1, r), (0, 0)), mode="edge")
    c = padded.cumsum(0).cumsum(1)
    h, w = image.shape[:2]
    total = c[size:, size:] - c[:h, size:] - c[size:, :w] + c[:h, :w]
    return (total / (size * size)).astype(np.float32)


def block_mean(image: np.ndarray, size: int) -> np.ndarray:
    """Means of size x size blocks from the top-left, bilinear at pixel centres, clamped."""
    h, w, channels = image.shape
    gh, gw = -(-h // size), -(-w // size)
    pad = ((0, gh * size - h), (0, gw * size - w))
    sums = np.pad(image, (*pad, (0, 0))).reshape(gh, size, gw, size, channels).sum((1, 3))
    counts = np.pad(np.ones((h, w)), pad).reshape(gh, size, gw, size).sum((1, 3))
    grid = sums / counts[..., None]
    ys, xs = (np.arange(h) + 0.5) / size - 0.5, (np.arange(w) + 0.5) / size - 0.5
    y0 = np.clip(np.floor(ys), 0, gh - 1).astype(int)
    x0 = np.clip(np.floor(xs), 0, gw - 1).astype(int)
    y1, x1 = np.minimum(y0 + 1, gh - 1), np.minimum(x0 + 1, gw - 1)
    fy = np.clip(ys - y0, 0, 1)[:, None, None]
    fx = np.clip(xs - x0, 0, 1)[None, :, None]
    top = grid[y0][:, x0] * (1 - fx) + grid[y0][:, x1] * fx
    bottom = grid[y1][:, x0] * (1 - fx) + grid[y1][:, x1] * fx
    return (top * (1 - fy) + bottom * fy).astype(np.float32)


def context(srgb8: np.ndarray, scales: list[int], blocks: bool) -> np.ndarray:
    """Per pixel (flat), 4 values per scale in [-1, 1]: mean clipped colour, boundary share."""
    stack = np.concatenate([srgb8_to_prophoto(srgb8), boundary_mask(srgb8)[..., None]], -1)
    mean = block_mean if blocks else box_mean
    parts = [mean(stack.astype(np.float32), s) * 2 - 1 for s in scales]
    return np.concatenate(parts, -1).reshape(-1, 4 * len(scales))


def gated_scores(params, features, edge, srgb8, truth, og) -> tuple[float, float]:
    w1, b1, w2, b2, w3, b3 = params
    with torch.no_grad():
        hidden = torch.relu(torch.relu(features @ w1 + b1) @ w2 + b2)
        residual = (hidden @ w3 + b3).numpy()
    restored = srgb8_to_prophoto(srgb8).reshape(-1, 3)
    restored[edge] = np.clip(restored[edge] + residual, 0, 1)
    restored = restored.reshape(truth.shape)
    return psnr(restored, truth), psnr(restored, truth, og)


def probe(path: Path, scales: list[int], blocks: bool, steps: int) -> list[tuple[float, float]]:
    truth = read_prophoto(path, untagged="prophoto").prophoto
    srgb8, og = prophoto_to_srgb8(truth), out_of_gamut_mask(truth)
    config = preset("default", steps=steps)
    index = training_pixels(srgb8, og, config)
    edge = np.flatnonzero(boundary_mask(srgb8).reshape(-1) | og.reshape(-1))
    extra = context(srgb8, scales, blocks)
    scores = []
    for with_context in (False, True):
        features, targets = encode_pool(srgb8, truth, index, config.octaves, "cpu")
        edge_features, _ = encode_pool(srgb8, truth, edge, config.octaves, "cpu")
        params = [torch.from_numpy(w.copy()) for w in load_init(32, 8)]
        if with_context:
            features = torch.cat([features, torch.from_numpy(extra[index])], 1)
            edge_features = torch.cat([edge_features, torch.from_numpy(extra[edge])], 1)
            params[0] = torch.cat([params[0], torch.zeros(extra.shape[1], params[0].shape[1])])
        params = [p.contiguous() for p in params]
        train(params, features, targets, config, None, torch.Generator().manual_seed(0))
        scores.append(gated_scores(params, edge_features, edge, srgb8, truth, og))
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("photos", nargs="+", type=Path)
    parser.add_argument("--scales", default="5,17,65,257", help="window or block sizes")
    parser.add_argument("--blocks", action="store_true", help="block means, not box means")
    parser.add_argument("--steps", type=int, default=1000)
    args = parser.parse_args()
    torch.set_num_threads(2)
    scales = [int(s) for s in args.scales.split(",")]
    gains = []
    for path in args.photos:
        (base_whole, base_og), (ctx_whole, ctx_og) = probe(path, scales, args.blocks, args.steps)
        gains.append((base_whole, base_og, ctx_whole, ctx_og))
        print(
            f"{path.name[:34]:34s} default {base_whole:.2f} / {base_og:.2f}  "
            f"context {ctx_whole:.2f} / {ctx_og:.2f}  gain {ctx_whole - base_whole:+.2f} / "
            f"{ctx_og - base_og:+.2f}",
            flush=True,
        )
    mean = [statistics.mean(g[i] for g in gains) for i in range(4)]
    worse = [g for g in gains if g[3] < g[1] - 0.1]
    print(
        f"\nmean of {len(gains)}: default {mean[0]:.2f} / {mean[1]:.2f}, context {mean[2]:.2f} / "
        f"{mean[3]:.2f} (gain {mean[2] - mean[0]:+.2f} / {mean[3] - mean[1]:+.2f}); "
        f"{len(worse)} photos lose more than 0.1 dB OG"
    )


if __name__ == "__main__":
    main()
