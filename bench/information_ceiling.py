"""How much lost colour can a few more kilobytes bring back, at best? (issue 14)

    python bench/information_ceiling.py ../shared/data/dev/*IMG_5195* ../shared/data/dev/*Italy*

Per photo, OG PSNR (linear ProPhoto) of the following, with the 95th percentile of CIEDE2000 on
OG pixels in brackets where a method changes pixels (`--powers 0,0.25,0.5` compares weights;
`--qualities 25,45,65` instead prints the shipped map's scores and bytes at those qualities):

- `soft-clip` and the shipped `default` (real carrier bytes, the real onnxruntime restore);
- `smooth s`: the default plus its remaining error *exactly*, blurred by a Gaussian of sigma s
  pixels. No stored field coarser than about 2 s pixels (a residual grid, a feature grid, any
  spline) can beat this, whatever its bytes: the bound on spatial levers beside the MLP;
- `p=P`: the default plus its remaining error as the shipped residual map (an AVIF of the error,
  exporters/residual_map.py) with weight power P, at the highest quality in steps of 5 within
  the bytes issue 14 allows (min(48 KB, 1 % of the carrier file), beside the blob; the encoder
  also tries the levels in between), and the bytes the map needs to reach soft-clip's OG PSNR
  (`-` where quality 95 does not).

What it says is in docs/design.md ("What the sRGB image keeps, and what bytes can add").
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from common import machine

from gamut_onnx.blob import unpack_blob
from gamut_onnx.codec import encode
from gamut_onnx.colour import boundary_mask, out_of_gamut_mask
from gamut_onnx.colour.protocol import CURRENT_TRANSFORM
from gamut_onnx.evaluate import softclip
from gamut_onnx.exporters import residual_map
from gamut_onnx.fit import preset
from gamut_onnx.metrics import delta_e_2000, prophoto_to_lab, psnr
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


def og_scores(restored: np.ndarray, truth: np.ndarray, og: np.ndarray) -> tuple[float, float]:
    """OG PSNR and 95th-percentile CIEDE2000 on OG pixels."""
    de = delta_e_2000(prophoto_to_lab(truth[og]), prophoto_to_lab(restored[og]))
    return psnr(restored, truth, og), float(np.percentile(de, 95))


def with_map(base, truth, og, gate, error, codes, quality: int, power: float):
    """(OG PSNR, OG p95 CIEDE2000, packed bytes) of the shipped residual map at `quality`."""
    m = residual_map.code_map(error[gate], gate, quality, b"", codes, power)
    out = base.astype(np.float32)
    residual_map.correct(out, residual_map.map_samples(m), gate, m, codes, CURRENT_TRANSFORM)
    return (*og_scores(out, truth, og), len(residual_map.pack_map(m)))


def default_restore(truth: np.ndarray, og: np.ndarray):
    """(EncodeResult, restore, gate) of the default recipe without its map: what a map adds to."""
    config = preset("default", residual_map=False)
    result = encode(truth, config=config, device="cpu", provider="cpu")
    base = RestoreSession("cpu").restore(result.srgb8, unpack_blob(result.blob))
    return result, base, boundary_mask(result.srgb8) | og


def sweep(path: Path, qualities: list[int]) -> str:
    """OG PSNR, OG p95 CIEDE2000 and bytes of the shipped map at each of `qualities`."""
    truth = read_prophoto(path, untagged="prophoto").prophoto
    og = out_of_gamut_mask(truth)
    result, base, gated = default_restore(truth, og)
    error = np.where(gated[..., None], truth - base, 0).astype(np.float32)
    cells = []
    for quality in qualities:
        score, p95, size = with_map(base, truth, og, gated, error, result.srgb8, quality,
                                    residual_map.WEIGHT_POWER)  # fmt: skip
        cells.append(f"q{quality}: {score:.2f} ({p95:.2f}) {size:,} B")
    budget = residual_map.map_budget(result.file_bytes)
    return f"| {path.stem[:34]} | {budget:,} | " + " | ".join(cells) + " |"


def measure(path: Path, powers: list[float]) -> dict:
    truth = read_prophoto(path, untagged="prophoto").prophoto
    og = out_of_gamut_mask(truth)
    soft_bytes, _ = softclip.encode(truth)
    result, base, gated = default_restore(truth, og)
    error = (truth - base).astype(np.float64)
    row = {"soft-clip": og_scores(softclip.decode(soft_bytes), truth, og)[0]}
    row["default"], row["default p95"] = og_scores(base, truth, og)
    for sigma in SIGMAS:
        blurred = smooth_part(error, gated, sigma)
        row[f"smooth {sigma}"] = corrected(base, truth, og, gated, blurred)
    budget = residual_map.map_budget(result.file_bytes)
    error = np.where(gated[..., None], error, 0).astype(np.float32)
    row["budget"], row["file"], row["needs"] = budget, result.file_bytes, None
    for power in powers:  # the highest quality within the budget, as the encoder picks
        row[f"p={power}"], row[f"p={power} p95"] = row["default"], row["default p95"]
        for quality in residual_map.QUALITIES:
            score, p95, size = with_map(base, truth, og, gated, error, result.srgb8, quality, power)
            if size <= budget:
                row[f"p={power}"], row[f"p={power} p95"] = score, p95
            if power == powers[-1] and row["needs"] is None and score >= row["soft-clip"]:
                row["needs"] = size
            if size > budget and row["needs"] is not None:
                break
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("photos", nargs="+", type=Path)
    parser.add_argument("--powers", default=f"0,{residual_map.WEIGHT_POWER}",
                        help="weight powers of the coded map to compare (the last one also "
                        "gives the bytes to reach soft-clip)")  # fmt: skip
    parser.add_argument("--qualities", help="instead: OG PSNR (p95) and bytes of the shipped "
                        "map at these AVIF qualities, e.g. 25,45,65,85")  # fmt: skip
    args = parser.parse_args()
    if args.qualities:
        qualities = [int(q) for q in args.qualities.split(",")]
        print(machine())
        print(f"| photo | map bytes allowed | {' | '.join(f'q{q}' for q in qualities)} |")
        print("|---" * (len(qualities) + 2) + "|")
        for path in args.photos:
            print(sweep(path, qualities), flush=True)
        return
    powers = [float(p) for p in args.powers.split(",")]
    torch.set_num_threads(2)
    print(machine())
    keys = ["soft-clip", "default", *(f"smooth {s}" for s in SIGMAS), *(f"p={p}" for p in powers)]
    print(
        f"| photo | {' | '.join(keys)} | map bytes allowed | bytes to soft-clip (p={powers[-1]}) |"
    )
    print("|---" * (len(keys) + 3) + "|")
    rows = []
    for path in args.photos:
        row = measure(path, powers)
        rows.append(row)
        cells = [f"{row[k]:.2f}" + (f" ({row[k + ' p95']:.2f})" if k + " p95" in row else "")
                 for k in keys]  # fmt: skip
        needs = "-"
        if row["needs"]:
            needs = f"{row['needs']:,} ({100 * row['needs'] / row['file']:.1f} %)"
        print(
            f"| {path.stem[:34]} | {' | '.join(cells)} | {row['budget']:,} | {needs} |", flush=True
        )
    means = [f"{np.mean([r[k] for r in rows]):.2f}" for k in keys]
    for k in ("default", *(f"p={p}" for p in powers)):
        p95 = [r[k + " p95"] for r in rows]
        over = f"{sum(v > 1.5 for v in p95)} / {sum(v > 1.0 for v in p95)}"
        means[keys.index(k)] += f" ({np.mean(p95):.2f}; > 1.5 / > 1.0: {over})"
    print(f"| **mean** | {' | '.join(means)} | | |")


if __name__ == "__main__":
    main()
