"""Score fit recipes on a set of photos (evaluated in torch at fp32, no carrier I/O).

    python bench/fit_ablation.py --steps 100,300,1000 --init random,meta photo.tif ...
    python bench/fit_ablation.py --set '{"octaves": 12}' --steps 1000 photo.tif ...

For every (init, steps) pair: the default preset with those fields (and --set's) overridden,
fitted on each photo; prints per photo and mean whole-image / OG PSNR of the gated restore (MLP
at boundary pixels; also MLP everywhere with --ungated) and fit seconds, next to plain clipping.
`--init` takes meta, random, padded or an init file; "padded" embeds the shipped meta init
(width 32, 8 octaves) in a wider or longer network without changing its function: zero rows for
the new octaves, new hidden units with random inputs and zero outputs. Used for the ablation
tables in docs/design.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
from pathlib import Path

import numpy as np
import torch

from gamut_onnx.colour import (
    boundary_mask,
    out_of_gamut_mask,
    prophoto_to_srgb8,
    srgb8_to_prophoto,
)
from gamut_onnx.features import INPUT_CHANNELS, frequency_bands, mlp_inputs_at
from gamut_onnx.fit import encode_features, fit, load_init, preset, save_init
from gamut_onnx.metrics import psnr
from gamut_onnx.read import read_prophoto


def predict(model, srgb8: np.ndarray, index: np.ndarray, octaves: int) -> np.ndarray:
    """Restored ProPhoto at the flat pixel indices `index` (clipped colour + MLP residual)."""
    inputs, clipped = mlp_inputs_at(srgb8, index)
    freq = torch.from_numpy(frequency_bands(octaves))
    with torch.no_grad():
        residual = model(encode_features(torch.from_numpy(inputs), freq)).numpy()
    return np.clip(clipped + residual, 0, 1)


def padded_init(width: int, octaves: int, folder: Path) -> Path:
    """An init file for (width, octaves) that computes what the shipped w32/o8 init computes."""
    w1, b1, w2, b2, w3, b3 = load_init(32, 8)
    rng = np.random.default_rng(1)
    new_w1 = rng.normal(0, w1.std(), (INPUT_CHANNELS * 2 * octaves, width)).astype(np.float32)
    new_w1[:, :32] = 0
    for i in range(INPUT_CHANNELS):  # per input: sin over k, then cos over k
        new_w1[i * 2 * octaves : i * 2 * octaves + 8, :32] = w1[i * 16 : i * 16 + 8]
        new_w1[i * 2 * octaves + octaves : i * 2 * octaves + octaves + 8, :32] = w1[
            i * 16 + 8 : i * 16 + 16
        ]
    new_w2 = rng.normal(0, w2.std() * (32 / width) ** 0.5, (width, width)).astype(np.float32)
    new_w2[:, :32] = 0
    new_w2[:32, :32] = w2
    pad = np.zeros(width - 32, np.float32)
    params = [new_w1, np.r_[b1, pad], new_w2, np.r_[b2, pad], np.r_[w3, np.zeros((width - 32, 3))]]
    path = folder / f"padded_w{width}_o{octaves}.npz"
    save_init(path, [*params, b3], width, octaves, {"from": "meta_w32_o8"})
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("photos", nargs="+", type=Path)
    parser.add_argument("--steps", default="1000", help="comma-separated step counts")
    parser.add_argument("--init", default="meta", help="comma-separated: meta, random, files")
    parser.add_argument("--set", default="{}", help="JSON of other FitConfig fields")
    parser.add_argument("--ungated", action="store_true", help="also score MLP everywhere")
    args = parser.parse_args()
    runs = [(i, int(s)) for i in args.init.split(",") for s in args.steps.split(",")]
    scores = {run: [] for run in runs}
    clip_scores = []
    for path in args.photos:
        truth = read_prophoto(path, untagged="prophoto").prophoto
        srgb8, og = prophoto_to_srgb8(truth), out_of_gamut_mask(truth)
        everywhere = np.arange(og.size)
        clipped = srgb8_to_prophoto(srgb8)
        clip_scores.append((psnr(clipped, truth), psnr(clipped, truth, og)))
        line = [f"{path.name[:28]:28s} clip {clip_scores[-1][0]:.2f}/{clip_scores[-1][1]:.2f}"]
        edge = np.flatnonzero(boundary_mask(srgb8).reshape(-1))
        for init, steps in runs:
            config = preset("default", steps=steps, **json.loads(args.set))
            start = init
            if init == "padded":
                start = str(padded_init(config.width, config.octaves, Path(tempfile.mkdtemp())))
            config = dataclasses.replace(config, init=start)
            result = fit(srgb8, truth, og, config, device="cpu")
            gated = clipped.reshape(-1, 3).copy()
            gated[edge] = predict(result.model, srgb8, edge, config.octaves)
            row = [
                psnr(gated.reshape(truth.shape), truth),
                psnr(gated.reshape(truth.shape), truth, og),
            ]
            if args.ungated:
                full = predict(result.model, srgb8, everywhere, config.octaves).reshape(truth.shape)
                row += [psnr(full, truth)]
            scores[(init, steps)].append(row + [result.seconds])
            line.append(
                f"{init if init == 'padded' else Path(init).stem}@{steps} "
                f"{row[0]:.2f}/{row[1]:.2f} {result.seconds:.1f}s"
            )
        print(" | ".join(line), flush=True)
    print(f"\nmean over {len(args.photos)} photos (whole / OG PSNR dB, fit s)")
    print(f"  clip: {np.mean(clip_scores, 0)[0]:.2f} / {np.mean(clip_scores, 0)[1]:.2f}")
    for (init, steps), rows in scores.items():
        m = np.mean(rows, 0)
        extra = f", ungated whole {m[2]:.2f}" if args.ungated else ""
        print(f"  init {init} steps {steps}: {m[0]:.2f} / {m[1]:.2f}{extra}, fit {m[-1]:.2f} s")


if __name__ == "__main__":
    main()
