"""Fitting the per-image GamutMLP in PyTorch (the only module of the core that imports torch).

The network follows the paper: (x, y, R, G, B) in [-1, 1] -> sin/cos at `octaves` octaves
-> 2 hidden ReLU layers -> 3 outputs added to the clipped ProPhoto colour as a residual.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from gamut_onnx.blob import SUPPORTED_WIDTHS
from gamut_onnx.errors import GamutError
from gamut_onnx.features import INPUT_CHANNELS, frequency_bands

WIDTHS = SUPPORTED_WIDTHS


@dataclass(frozen=True)
class FitConfig:
    """Everything that decides a fit; presets are named instances."""

    width: int = 32
    octaves: int = 12
    steps: int = 3000
    batch: int = 8192
    lr: float = 5e-3
    og_stride: int = 5  # train on every 5th out-of-gamut pixel ...
    ig_stride: int = 50  # ... and every 50th in-gamut pixel (raster order), as the paper does
    schedule: str = "cosine"  # "constant" (paper) or "cosine" decay to lr/100
    max_samples: int = 1_000_000  # evenly thinned beyond this: bounds memory on 12+ MP photos
    seed: int = 0


PRESETS = {
    # The authors' recipe: ~10 minutes per photo on a 2-core CPU.
    "paper": FitConfig(steps=10_000, batch=65_536, schedule="constant"),
    # Interim default (docs/design.md): denser sampling (every OG pixel, every 4th in-gamut
    # one) and a cosine-decayed learning rate; 4k steps of 8k samples, ~20 s per MP on 2 cores.
    "default": FitConfig(steps=4000, og_stride=1, ig_stride=4),
}


@dataclass
class FitResult:
    model: object  # the fitted torch.nn.Sequential; exporters.weights packs it into a blob
    seconds: float
    device: str
    samples: int
    final_loss: float


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


def cpu_threads() -> int:
    """OMP_NUM_THREADS when set, else the cores this process may run on."""
    env = os.environ.get("OMP_NUM_THREADS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def sample_indices(
    og_mask: np.ndarray, og_stride: int, ig_stride: int, max_samples: int | None = None
) -> np.ndarray:
    """Flat indices of the training pixels: every n-th OG and every m-th in-gamut pixel,
    evenly thinned to at most `max_samples`."""
    flat = np.asarray(og_mask).reshape(-1)
    og = np.flatnonzero(flat)[::og_stride]
    ig = np.flatnonzero(~flat)[::ig_stride]
    idx = np.sort(np.concatenate([og, ig]))
    if max_samples is not None and idx.size > max_samples:
        idx = idx[np.linspace(0, idx.size - 1, max_samples).astype(np.int64)]
    return idx


def build_model(width: int, octaves: int):
    """The GamutMLP as a torch module taking pre-encoded features."""
    import torch

    if width not in WIDTHS:
        raise GamutError(f"width {width} is not supported (choose {', '.join(map(str, WIDTHS))})")
    features = INPUT_CHANNELS * 2 * octaves
    return torch.nn.Sequential(
        torch.nn.Linear(features, width),
        torch.nn.ReLU(),
        torch.nn.Linear(width, width),
        torch.nn.ReLU(),
        torch.nn.Linear(width, 3),
    )


def encode_features(inputs, freq):
    """sin/cos octave encoding with the graph's layout: per input, sin over k then cos over k."""
    import torch

    angles = inputs[:, :, None] * freq
    return torch.cat([torch.sin(angles), torch.cos(angles)], dim=2).flatten(1)


def fit(
    inputs: np.ndarray,
    residual: np.ndarray,
    og_mask: np.ndarray,
    config: FitConfig,
    device: str = "auto",
    progress: Callable[[int, float], None] | None = None,
) -> FitResult:
    """Fit the MLP so that MLP(inputs) ~= residual on the sampled pixels.

    `inputs` HxWx5 and `residual` HxWx3 (ground truth minus clipped ProPhoto) are float32.
    `progress(step, loss)` is called every few steps.
    """
    import torch

    start = time.perf_counter()
    device = resolve_device(device)
    if device == "cpu":
        torch.set_num_threads(cpu_threads())
    torch.manual_seed(config.seed)
    idx = sample_indices(og_mask, config.og_stride, config.ig_stride, config.max_samples)
    if idx.size == 0:
        raise GamutError("image has no pixels to fit")
    x = torch.from_numpy(np.ascontiguousarray(inputs.reshape(-1, INPUT_CHANNELS)[idx]))
    y = torch.from_numpy(np.ascontiguousarray(residual.reshape(-1, 3)[idx]))
    freq = torch.from_numpy(frequency_bands(config.octaves))
    x, y, freq = x.to(device), y.to(device), freq.to(device)
    with torch.no_grad():
        features = encode_features(x, freq)  # encoded once; the loop only gathers rows
    model = build_model(config.width, config.octaves).to(device)
    optimiser = torch.optim.Adam(model.parameters(), lr=config.lr)
    scheduler = None
    if config.schedule == "cosine":
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(
            optimiser, T_max=config.steps, eta_min=config.lr / 100
        )
    elif config.schedule != "constant":
        raise GamutError(f"unknown schedule {config.schedule!r} (constant or cosine)")
    generator = torch.Generator(device=device).manual_seed(config.seed)
    n = features.shape[0]
    full_batch = config.batch >= n
    loss_value = float("nan")
    for step in range(1, config.steps + 1):
        if full_batch:
            fb, yb = features, y
        else:
            pick = torch.randint(0, n, (config.batch,), generator=generator, device=device)
            fb, yb = features[pick], y[pick]
        loss = torch.nn.functional.mse_loss(model(fb), yb)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        if scheduler is not None:
            scheduler.step()
        if progress is not None and (step % 50 == 0 or step == config.steps):
            loss_value = float(loss.detach())
            progress(step, loss_value)
    if progress is None:
        loss_value = float(loss.detach())
    return FitResult(
        model=model.cpu(),
        seconds=time.perf_counter() - start,
        device=device,
        samples=int(n),
        final_loss=loss_value,
    )


def preset(name: str, **overrides) -> FitConfig:
    """A named preset with some fields overridden (None values are ignored)."""
    if name not in PRESETS:
        raise GamutError(f"unknown preset {name!r} (choose {', '.join(PRESETS)})")
    return dataclasses.replace(
        PRESETS[name], **{k: v for k, v in overrides.items() if v is not None}
    )
