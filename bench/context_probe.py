"""Probe: how should the MLP see the carrier around a pixel? (issues 14 and 15)

    python bench/context_probe.py ../shared/data/dev/full/*.tif
    python bench/context_probe.py --variants plain,absolute,relative:0.3 ../shared/data/dev/*.tif
    python bench/context_probe.py --losses 50,100,200,300,1000 ../shared/data/dev/*.tif

Per photo, the plain fit (1,000 steps, the default's pixels and init) and fits with the 16
context inputs of gamut_onnx/context.py, whose first-layer rows start at zero: "relative" is what
ships (block means relative to the pixel's own colour), "absolute" the block means as 2 v - 1
(what was measured first). ":R" scales the context inputs by R during the fit (R times the
learning rate for their rows under Adam; the rows are scaled back after). Prints whole / OG PSNR
of the gated restore (torch, fp32; the same numbers as the graph's, docs/design.md) and the
mean over the photos. `--losses` instead prints, at those steps, the training-pool loss of the
relative fit over the plain one's: what the context race (fit/race.py) decides on.
The first probe (box means at 5-257 px, block means at other scales) is
`git show cb90ae1:bench/context_probe.py`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from common import gated_scores, print_means

from gamut_onnx.colour import (
    boundary_mask,
    out_of_gamut_mask,
    prophoto_to_srgb8,
)
from gamut_onnx.context import CONTEXT_INPUTS, context_inputs
from gamut_onnx.fit import encode_pool, load_init, preset, training_pixels
from gamut_onnx.fit.race import pool_loss
from gamut_onnx.fit.step import Training
from gamut_onnx.read import read_prophoto
from gamut_onnx.runtime import RestoreSession


def context_columns(srgb8: np.ndarray, index: np.ndarray, variant: str) -> torch.Tensor:
    rows, cols = np.divmod(index, srgb8.shape[1])
    codes = srgb8.reshape(-1, 3)[index]
    values = context_inputs(RestoreSession("cpu").grids(srgb8).levels, rows, cols, codes)
    if variant == "absolute":  # undo the reference: 2 v - 1 for every field
        from gamut_onnx.colour import SRGB8_TO_LINEAR

        for level in range(CONTEXT_INPUTS // 4):
            values[:, 4 * level : 4 * level + 3] += 2 * SRGB8_TO_LINEAR[codes] - 1
    return torch.from_numpy(values)


def features_of(srgb8, truth, index, variant: str, scale: float):
    features, targets = encode_pool(srgb8, truth, index, 8, "cpu")
    if variant != "plain":
        features = torch.cat([features, context_columns(srgb8, index, variant) * scale], 1)
    return features, targets


def start(variant: str) -> list:
    params = [torch.from_numpy(w.copy()) for w in load_init(32, 8)]
    if variant != "plain":
        params[0] = torch.cat([params[0], torch.zeros(CONTEXT_INPUTS, params[0].shape[1])])
    return [p.contiguous() for p in params]


def scores(path: Path, variants: list[str], steps: int) -> list[tuple[float, float]]:
    truth = read_prophoto(path, untagged="prophoto").prophoto
    srgb8, og = prophoto_to_srgb8(truth), out_of_gamut_mask(truth)
    config = preset("plain", steps=steps)
    index = training_pixels(srgb8, og, config)
    edge = np.flatnonzero(boundary_mask(srgb8).reshape(-1) | og.reshape(-1))
    out = []
    for spec in variants:
        variant, _, rate = spec.partition(":")
        scale = float(rate or 1.0)
        features, targets = features_of(srgb8, truth, index, variant, scale)
        params = start(variant)
        Training(params, features, targets, config, torch.Generator().manual_seed(0)).run(steps)
        edge_features, _ = features_of(srgb8, truth, edge, variant, scale)
        w1, b1, w2, b2, w3, b3 = params
        with torch.no_grad():
            residual = torch.relu(torch.relu(edge_features @ w1 + b1) @ w2 + b2) @ w3 + b3
        out.append(gated_scores(srgb8, truth, og, edge, residual.numpy()))
    return out


def loss_ratios(path: Path, checks: list[int], steps: int) -> list[float]:
    truth = read_prophoto(path, untagged="prophoto").prophoto
    srgb8, og = prophoto_to_srgb8(truth), out_of_gamut_mask(truth)
    config = preset("plain", steps=steps)
    index = training_pixels(srgb8, og, config)
    losses = {}
    for variant in ("plain", "relative"):
        features, targets = features_of(srgb8, truth, index, variant, 1.0)
        params = start(variant)
        training = Training(params, features, targets, config, torch.Generator().manual_seed(0))
        losses[variant] = []
        for step in checks:
            training.run(step)
            losses[variant].append(pool_loss(params, features, targets))
    return [c / p for c, p in zip(losses["relative"], losses["plain"], strict=True)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("photos", nargs="+", type=Path)
    parser.add_argument("--variants", default="plain,relative", help="plain, absolute, relative")
    parser.add_argument("--losses", help="steps at which to print pool-loss ratios instead")
    parser.add_argument("--steps", type=int, default=1000)
    args = parser.parse_args()
    torch.set_num_threads(2)
    if args.losses:
        checks = [int(s) for s in args.losses.split(",")]
        for path in args.photos:
            ratios = loss_ratios(path, checks, args.steps)
            print(
                f"{path.name[:34]:34s}",
                " ".join(f"{s}:{r:.3f}" for s, r in zip(checks, ratios, strict=True)),
                flush=True,
            )
        return
    variants = args.variants.split(",")
    rows = []
    for path in args.photos:
        rows.append(scores(path, variants, args.steps))
        cells = "  ".join(f"{w:.2f} / {o:.2f}" for w, o in rows[-1])
        print(f"{path.name[:34]:34s} {cells}", flush=True)
    print_means(", ".join(variants), rows)


if __name__ == "__main__":
    main()
