"""How much lost colour can a few more kilobytes bring back, at best? (issue 14)

    python bench/information_ceiling.py ../shared/data/dev/*IMG_5195* ../shared/data/dev/*Italy*

Per photo, OG PSNR (linear ProPhoto, gated pixels) of:

- `soft-clip` and the shipped `default` (real carrier bytes, the real onnxruntime restore);
- `smooth s`: the default plus its remaining error *exactly*, blurred by a Gaussian of sigma s
  pixels. No stored field coarser than about 2 s pixels (a residual grid, a feature grid, any
  spline) can beat this, whatever its bytes: the bound on spatial levers beside the MLP;
- `coded`: the default plus its remaining error as the shipped residual map (an AVIF of the
  error, gamut_onnx/residual_map.py) at the most bytes issue 14 allows (min(48 KB, 1 % of the
  carrier file), beside the blob), and the bytes the map needs to reach soft-clip's OG PSNR
  (`-` where quality 95 does not).

What it says is in docs/design.md ("What the sRGB image keeps, and what bytes can add").
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from common import machine

from gamut_onnx import residual_map
from gamut_onnx.blob import unpack_blob
from gamut_onnx.codec import encode
from gamut_onnx.colour import boundary_mask, out_of_gamut_mask
from gamut_onnx.evaluate import softclip
from gamut_onnx.metrics import psnr
from gamut_onnx.read import read_prophoto
from gamut_onnx.runtime import RestoreSession

SIGMAS = (0.7, 1.5, 3.0)


def gaussian(values: np.ndarray, sigma: float) -> np.ndarray:
    """Separable Gaussian blur of an HxW float64 array (zero outside the image)."""
    k = int(3 * sigma + 1)
    taps = torch.exp(-(torch.arange(-k, k + 1, dtype=torch.float64) ** 2) / (2 * sigma * sigma))
    taps /= taps.sum()
    x = torch.from_numpy(values)[None, None]
    x = torch.nn.functional.conv2d(torch.nn.functional.pad(x, (k, k, 0, 0)), taps.view(1, 1, 1, -1))
    x = torch.nn.functional.conv2d(torch.nn.functional.pad(x, (0, 0, k, k)), taps.view(1, 1, -1, 1))
    return x[0, 0].numpy()


def smooth_part(error: np.ndarray, gated: np.ndarray, sigma: float) -> np.ndarray:
    """The error blurred over the gated pixels only (normalised convolution)."""
    weight = gaussian(gated.astype(np.float64), sigma)
    blurred = [gaussian(np.where(gated, error[..., c], 0.0), sigma) for c in range(3)]
    return np.stack(blurred, -1) / np.maximum(weight, 1e-12)[..., None]


def corrected(base, truth, og, gated, correction) -> float:
    """OG PSNR of `base` plus `correction` at the gated pixels, clipped as a restore clips."""
    out = np.where(gated[..., None], np.clip(base + correction, 0, 1), base)
    return psnr(out.astype(np.float32), truth, og)


def with_map(base, truth, og, gate, error, codes, quality: int) -> tuple[float, int]:
    """OG PSNR and packed bytes of the shipped residual map (residual_map.py) at `quality`."""
    m = residual_map.code_map(error, gate, quality, b"", codes)
    out = base.astype(np.float32)
    residual_map.correct(out, residual_map.map_samples(m), gate, m, codes)
    return psnr(out, truth, og), len(residual_map.pack_map(m))


def measure(path: Path) -> dict:
    truth = read_prophoto(path, untagged="prophoto").prophoto
    og = out_of_gamut_mask(truth)
    soft_bytes, _ = softclip.encode(truth)
    result = encode(truth, device="cpu", provider="cpu")
    base = RestoreSession("cpu").restore(result.srgb8, unpack_blob(result.blob))
    base = base.astype(np.float64)
    gated = boundary_mask(result.srgb8) | og
    error = truth - base
    row = {
        "soft-clip": psnr(softclip.decode(soft_bytes), truth, og),
        "default": psnr(base.astype(np.float32), truth, og),
    }
    for sigma in SIGMAS:
        row[f"smooth {sigma}"] = corrected(base, truth, og, gated, smooth_part(error, gated, sigma))
    budget = residual_map.map_budget(result.file_bytes)
    row["budget"], row["coded"], row["needs"] = budget, row["default"], None
    error = np.where(gated[..., None], error, 0).astype(np.float32)
    for quality in residual_map.QUALITIES:
        score, size = with_map(base, truth, og, gated, error, result.srgb8, quality)
        if size <= budget:
            row["coded"] = score
        if row["needs"] is None and score >= row["soft-clip"]:
            row["needs"] = size
    row["file"] = result.file_bytes
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("photos", nargs="+", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(2)
    print(machine())
    smooth = " | ".join(f"smooth {s}" for s in SIGMAS)
    print(f"| photo | soft-clip | default | {smooth} | coded at budget (B) | bytes to soft-clip |")
    print("|---" * (6 + len(SIGMAS)) + "|")
    rows = []
    for path in args.photos:
        row = measure(path)
        rows.append(row)
        cells = " | ".join(f"{row[f'smooth {s}']:.2f}" for s in SIGMAS)
        needs = "-"
        if row["needs"]:
            needs = f"{row['needs']:,} ({100 * row['needs'] / row['file']:.1f} %)"
        print(
            f"| {path.stem[:34]} | {row['soft-clip']:.2f} | {row['default']:.2f} | {cells} | "
            f"{row['coded']:.2f} ({row['budget']:,}) | {needs} |",
            flush=True,
        )
    keys = ["soft-clip", "default", *(f"smooth {s}" for s in SIGMAS), "coded"]
    means = " | ".join(f"{np.mean([r[k] for r in rows]):.2f}" for k in keys)
    print(f"| **mean** | {means} | |")


if __name__ == "__main__":
    main()
