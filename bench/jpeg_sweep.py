"""JPEG quality sweep: clip, open- and closed-loop restore, and two ceilings, against PNG.

    python bench/jpeg_sweep.py ../shared/data/dev [--qualities 70,80,90,95,100]

Per photo, through codec.encode (the CLI's code path: real fit, real onnxruntime restore):
the default recipe on a PNG carrier and, per JPEG quality, on a JPEG carrier fitted open-loop
(on the pre-compression pixels) and closed-loop (on the decoded JPEG). Beside them two
ceilings computed from the ground truth, on the OG pixels:

- "exact clipped": every linear-sRGB channel that clipping moved is set to its true value and
  the others keep the decoded JPEG's value. This is the best any restore can do that fixes
  the clipped channels and trusts the carrier for the rest, as a per-pixel model must.
- "+ 5x5 denoise": the same, after the carrier's in-range channels are replaced by the
  least-squares optimal linear 5x5x3 filter of the decoded JPEG (fitted per photo and channel
  on its OG pixels against the truth): what a per-image deblocking filter could add.

Prints mean whole-image / OG PSNR per quality, each OG gain over JPEG clipping as a share of
the PNG carrier's gain over PNG clipping (mean gains, as in docs/results.md), and file bytes.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from common import machine

from gamut_onnx.codec import encode
from gamut_onnx.colour import (
    SRGB8_TO_LINEAR,
    SRGB_TO_PROPHOTO,
    apply_matrix,
    out_of_gamut_mask,
    prophoto_to_srgb8,
    prophoto_to_srgb_linear,
)
from gamut_onnx.container import jpeg
from gamut_onnx.metrics import psnr
from gamut_onnx.read import read_prophoto

FILTER = 5  # denoise window (pixels)
FILTER_ROWS = 200_000  # OG pixels the least-squares filter is fitted on (random subset)
JPEG_ON_CPU = {"carrier": "jpeg", "device": "cpu", "provider": "cpu"}


def exact_clipped(carrier_linear: np.ndarray, truth_linear: np.ndarray) -> np.ndarray:
    """Linear ProPhoto with the clipped sRGB channels exact and the others from the carrier."""
    clipped = (truth_linear < 0) | (truth_linear > 1)
    merged = np.where(clipped, truth_linear, carrier_linear)
    return np.clip(apply_matrix(merged, SRGB_TO_PROPHOTO), 0.0, 1.0)


def denoised(carrier_linear: np.ndarray, truth_linear: np.ndarray, og: np.ndarray) -> np.ndarray:
    """The carrier with its OG pixels replaced by the least-squares 5x5x3 linear filter."""
    r = FILTER // 2
    padded = np.pad(carrier_linear, ((r, r), (r, r), (0, 0)), mode="edge")
    ys, xs = np.nonzero(og)
    window = [padded[ys + dy, xs + dx] for dy in range(FILTER) for dx in range(FILTER)]
    design = np.concatenate([*window, np.ones((ys.size, 1))], axis=1)
    rng = np.random.default_rng(0)
    out = carrier_linear.copy()
    for c in range(3):
        usable = np.flatnonzero((truth_linear[ys, xs, c] >= 0) & (truth_linear[ys, xs, c] <= 1))
        if usable.size < design.shape[1]:
            continue
        rows = rng.choice(usable, min(usable.size, FILTER_ROWS), replace=False)
        coef, *_ = np.linalg.lstsq(design[rows], truth_linear[ys[rows], xs[rows], c], rcond=None)
        out[ys, xs, c] = design @ coef
    return out


def measure(path: Path, qualities: list[int]) -> dict:
    truth = read_prophoto(path, untagged="prophoto").prophoto
    og = out_of_gamut_mask(truth)
    truth_linear = prophoto_to_srgb_linear(truth.astype(np.float64))
    png = encode(truth, carrier="png", device="cpu", provider="cpu")
    srgb8 = prophoto_to_srgb8(truth)
    bare = {q: len(jpeg.encode_jpeg(srgb8, q)) for q in qualities}
    row = {"png": (png.psnr_clip, png.psnr_og_clip, png.psnr, png.psnr_og)}
    for q in qualities:
        closed, open_loop = (
            encode(truth, jpeg_quality=q, closed_loop=loop, **JPEG_ON_CPU) for loop in (True, False)
        )
        carrier_linear = SRGB8_TO_LINEAR[closed.srgb8].astype(np.float64)
        smooth = denoised(carrier_linear, truth_linear, og)
        row[q] = (
            closed.psnr_clip,
            closed.psnr_og_clip,
            open_loop.psnr,
            open_loop.psnr_og,
            closed.psnr,
            closed.psnr_og,
            psnr(exact_clipped(carrier_linear, truth_linear), truth, og),
            psnr(exact_clipped(smooth, truth_linear), truth, og),
            closed.file_bytes,
            closed.file_bytes - bare[q],
        )
    return row


def share(gain: float, png_gain: float) -> str:
    return f"{100 * gain / png_gain:.0f} %"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--qualities", default="70,80,90,95,100")
    args = parser.parse_args()
    qualities = [int(q) for q in args.qualities.split(",")]
    print(machine())
    rows = []
    for path in sorted(p for p in args.folder.iterdir() if p.suffix.lower() in (".tif", ".tiff")):
        row = measure(path, qualities)
        if not np.isfinite(row["png"][1]):
            continue  # no OG pixels: nothing to restore, no share to speak of
        rows.append(row)
        q = qualities[len(qualities) // 2]
        print(
            f"{path.name}: PNG OG {row['png'][1]:.2f} -> {row['png'][3]:.2f}; q{q} OG clip / open "
            "/ closed / exact clipped / + denoise "
            + " / ".join(f"{row[q][i]:.2f}" for i in (1, 3, 5, 6, 7)),
            file=sys.stderr,
            flush=True,
        )
    png_clip, png_clip_og, png, png_og = np.mean([r["png"] for r in rows], axis=0)
    png_gain = png_og - png_clip_og
    print(f"\n{len(rows)} photos; whole-image / OG PSNR in dB; (share of the PNG OG gain)")
    print(
        "| carrier | clip | open loop | closed loop | closed OG gain (share) "
        "| exact clipped OG (share) | + 5x5 denoise OG (share) | mean file | model + ICC |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for q in qualities:
        m = np.mean([r[q] for r in rows], axis=0)
        gain, exact, smooth = (m[i] - m[1] for i in (5, 6, 7))
        print(
            f"| JPEG q{q} | {m[0]:.2f} / {m[1]:.2f} | {m[2]:.2f} / {m[3]:.2f} "
            f"| {m[4]:.2f} / {m[5]:.2f} | {gain:+.2f} ({share(gain, png_gain)}) "
            f"| {m[6]:.2f} ({share(exact, png_gain)}) | {m[7]:.2f} ({share(smooth, png_gain)}) "
            f"| {m[8] / 1000:.0f} KB | {m[9] / 1000:.1f} KB |"
        )
    print(
        f"| PNG | {png_clip:.2f} / {png_clip_og:.2f} | | {png:.2f} / {png_og:.2f} "
        f"| {png_gain:+.2f} (100 %) | | | | |"
    )


if __name__ == "__main__":
    main()
