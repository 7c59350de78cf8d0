"""What decides a fit: the FitConfig recipe, the named presets and where it runs."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass

from gamut_onnx.blob import SUPPORTED_WIDTHS
from gamut_onnx.cores import cpu_threads  # noqa: F401  (re-exported: fit.cpu_threads)
from gamut_onnx.errors import GamutError

WIDTHS = SUPPORTED_WIDTHS
PIXEL_CHOICES = ("boundary", "strided")


@dataclass(frozen=True)
class FitConfig:
    """Everything that decides a fit and how the encoder stores it; presets are named instances."""

    width: int = 32
    octaves: int = 8
    steps: int = 1000
    batch: int = 4096
    lr: float = 5e-3
    # "boundary": the pixels a gated restore touches (a channel at 0/255, every OG pixel among
    # them); "strided": every og_stride-th OG and ig_stride-th in-gamut pixel (the paper).
    pixels: str = "boundary"
    og_stride: int = 1
    ig_stride: int = 4
    schedule: str = "cosine"  # "constant" (paper) or "cosine" decay to lr/100
    max_samples: int = 262_144  # a random subset beyond this: the pool is encoded once
    init: str = "meta"  # "meta": the shipped meta-learned init if it matches; "random"; or a file
    gate: str = "on"  # encoder: "on" (MLP at boundary pixels), "off" (everywhere), "auto"
    weight_dtype: str = "float16"
    seed: int = 0
    # Input layout 2: the MLP also sees the carrier's block means around each pixel
    # (gamut_onnx/context.py); its extra first-layer rows start at zero.
    context: bool = False
    # With context: the share of the steps a plain fit races the context fit before the
    # training-pool loss picks one to finish (fit/race.py); 0 keeps the context fit.
    context_race: float = 0.3
    # Encoder: also code what the MLP leaves wrong as a small AVIF beside the blob, within
    # min(48 KB, 1 % of the file), where it pays (residual_map.py; PNG and JPEG carriers).
    residual_map: bool = False
    lattice: bool = False  # snap the restore onto the source's code lattice where it pays


PRESETS = {
    # The authors' recipe: 10k full steps on sparse samples, fp32, MLP everywhere.
    "paper": FitConfig(
        octaves=12,
        steps=10_000,
        batch=65_536,
        pixels="strided",
        og_stride=5,
        ig_stride=50,
        schedule="constant",
        max_samples=1_000_000,
        init="random",
        gate="off",
        weight_dtype="float32",
    ),
    "fast": FitConfig(steps=300, context=True, residual_map=True, lattice=True),
    "default": FitConfig(context=True, residual_map=True, lattice=True),
    # The default without carrier context and residual map: a layout-1 blob alone, as
    # gamut-onnx 0.x wrote.
    "plain": FitConfig(),
    # The slow end of the curve: more steps and the better of gated/ungated per photo.
    "best": FitConfig(
        steps=4000,
        batch=8192,
        gate="auto",
        max_samples=1_000_000,
        context=True,
        residual_map=True,
        lattice=True,
    ),
}


def resolve_device(device: str = "auto") -> str:
    """'auto' -> 'cuda' when torch sees a GPU, else 'cpu'."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise GamutError("--device cuda requested but torch sees no CUDA GPU")
    if device != "cpu" and not device.startswith("cuda"):
        raise GamutError(f"unknown device {device!r} (choose auto, cpu or cuda)")
    return device


def check_config(config: FitConfig) -> None:
    """Reject impossible settings with one clear line before any work is done."""
    if config.width not in WIDTHS:
        raise GamutError(
            f"width {config.width} is not supported (choose {', '.join(map(str, WIDTHS))})"
        )
    if config.pixels not in PIXEL_CHOICES:
        raise GamutError(f"unknown pixel choice {config.pixels!r} (boundary or strided)")
    if config.schedule not in ("constant", "cosine"):
        raise GamutError(f"unknown schedule {config.schedule!r} (constant or cosine)")
    if config.init not in ("meta", "random") and not os.path.isfile(config.init):
        raise GamutError(f"init {config.init!r} is neither meta, random nor an init file")
    if min(config.steps, config.batch, config.og_stride, config.ig_stride, config.max_samples) < 1:
        raise GamutError("steps, batch, strides and max_samples must be positive")


def preset(name: str, **overrides) -> FitConfig:
    """A named preset with some fields overridden (None values are ignored)."""
    if name not in PRESETS:
        raise GamutError(f"unknown preset {name!r} (choose {', '.join(PRESETS)})")
    return dataclasses.replace(
        PRESETS[name], **{k: v for k, v in overrides.items() if v is not None}
    )
