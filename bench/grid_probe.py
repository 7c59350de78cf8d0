"""Probe: a coarse residual grid stored beside the MLP (issue 14's third lever), measured.

    python bench/grid_probe.py --cells 16,32,64 ../shared/data/dev/*IMG_5195* ...

Per photo: the plain default fit (1,000 steps, torch autograd here, so the numbers are close to
but not the shipped hand-written step's) and the same fit with a learned grid of G x G' x 3
residuals (G' from the aspect ratio; cells of about the same size), bilinearly interpolated at
pixel centres and added to the MLP's output at the gated pixels, trained jointly. The grid
starts at zero. Prints whole / OG PSNR of the gated restore and the grid's size in float16
bytes. Not built into the blob: a measurement of the lever.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from common import gated_scores, print_means

from gamut_onnx.colour import boundary_mask, out_of_gamut_mask, prophoto_to_srgb8
from gamut_onnx.fit import encode_pool, load_init, preset, training_pixels
from gamut_onnx.fit.step import learning_rate
from gamut_onnx.read import read_prophoto


def corners(index: np.ndarray, h: int, w: int, gh: int, gw: int):
    """Flat cell indices [n, 4] and bilinear weights [n, 4] of pixels on a gh x gw grid."""
    rows, cols = np.divmod(index, w)
    gy = (rows + 0.5) * gh / h - 0.5
    gx = (cols + 0.5) * gw / w - 0.5
    y0 = np.clip(np.floor(gy), 0, gh - 1).astype(np.int64)
    x0 = np.clip(np.floor(gx), 0, gw - 1).astype(np.int64)
    y1, x1 = np.minimum(y0 + 1, gh - 1), np.minimum(x0 + 1, gw - 1)
    t, u = np.clip(gy - y0, 0, 1), np.clip(gx - x0, 0, 1)
    idx = np.stack([y0 * gw + x0, y0 * gw + x1, y1 * gw + x0, y1 * gw + x1], 1)
    wts = np.stack([(1 - t) * (1 - u), (1 - t) * u, t * (1 - u), t * u], 1).astype(np.float32)
    return torch.from_numpy(idx), torch.from_numpy(wts)


def fit_and_score(path: Path, cells: int, steps: int) -> tuple[float, float, int]:
    truth = read_prophoto(path, untagged="prophoto").prophoto
    srgb8, og = prophoto_to_srgb8(truth), out_of_gamut_mask(truth)
    h, w = srgb8.shape[:2]
    config = preset("plain", steps=steps)
    index = training_pixels(srgb8, og, config)
    features, targets = encode_pool(srgb8, truth, index, config.octaves, "cpu")
    params = [torch.from_numpy(p.copy()).requires_grad_() for p in load_init(32, 8)]
    gh = cells
    gw = max(1, round(cells * w / h)) if cells else 0
    grid = torch.zeros(gh * gw, 3, requires_grad=True)
    idx, wts = corners(index, h, w, gh, gw) if cells else (None, None)
    optimiser = torch.optim.Adam([*params, grid] if cells else params, lr=config.lr)
    g = torch.Generator().manual_seed(0)

    def predict(f, cell_idx, cell_w):
        w1, b1, w2, b2, w3, b3 = params
        out = torch.relu(torch.relu(f @ w1 + b1) @ w2 + b2) @ w3 + b3
        if cells:
            out = out + (grid[cell_idx] * cell_w[:, :, None]).sum(1)
        return out

    for step in range(1, steps + 1):
        for group in optimiser.param_groups:
            group["lr"] = learning_rate(config, step)
        pick = torch.randint(0, len(index), (config.batch,), generator=g)
        cell_idx, cell_w = (idx[pick], wts[pick]) if cells else (None, None)
        loss = (predict(features[pick], cell_idx, cell_w) - targets[pick]).square().mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    edge = np.flatnonzero(boundary_mask(srgb8).reshape(-1) | og.reshape(-1))
    edge_features, _ = encode_pool(srgb8, truth, edge, config.octaves, "cpu")
    with torch.no_grad():
        residual = predict(edge_features, *(corners(edge, h, w, gh, gw) if cells else (None, None)))
    return (*gated_scores(srgb8, truth, og, edge, residual.numpy()), gh * gw * 3 * 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("photos", nargs="+", type=Path)
    parser.add_argument("--cells", default="0,16,32,64", help="grid rows; 0 = no grid")
    parser.add_argument("--steps", type=int, default=1000)
    args = parser.parse_args()
    torch.set_num_threads(2)
    sizes = [int(c) for c in args.cells.split(",")]
    rows = []
    for path in args.photos:
        rows.append([fit_and_score(path, c, args.steps) for c in sizes])
        cells = "  ".join(f"{w:.2f} / {o:.2f} ({b} B)" for w, o, b in rows[-1])
        print(f"{path.name[:34]:34s} {cells}", flush=True)
    print_means(f"rows {args.cells}", rows)


if __name__ == "__main__":
    main()
