"""Fitting the per-image GamutMLP in PyTorch (the core modules that import torch: fit, meta).

The network follows the paper: (x, y, R, G, B) in [-1, 1] -> sin/cos at `octaves` octaves
-> 2 hidden ReLU layers -> 3 outputs added to the clipped ProPhoto colour as a residual.

Speed comes from three choices (measured in docs/design.md): the training pixels are encoded
once into a feature pool, the step is a hand-written forward/backward (no autograd graph for a
3-layer MLP), and the weights start from a meta-learned initialisation instead of random.
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from gamut_onnx.blob import SUPPORTED_WIDTHS
from gamut_onnx.colour import boundary_mask
from gamut_onnx.errors import GamutError
from gamut_onnx.features import INPUT_CHANNELS, frequency_bands, mlp_inputs_at

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
    "fast": FitConfig(steps=300),
    "default": FitConfig(),
    # The slow end of the curve: more steps and the better of gated/ungated per photo.
    "best": FitConfig(steps=4000, batch=8192, gate="auto", max_samples=1_000_000),
}


@dataclass
class FitResult:
    model: object  # the fitted torch.nn.Sequential; exporters.weights packs it into a blob
    seconds: float
    device: str
    samples: int
    final_loss: float
    init: str  # "meta" or "random": what the weights started from


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


def training_pixels(
    srgb8: np.ndarray, og_mask: np.ndarray, config: FitConfig, boundary_margin: int = 0
) -> np.ndarray:
    """Flat indices of the pixels to fit, as `config.pixels` says (random subset, seeded)."""
    if config.pixels == "strided":
        return sample_indices(og_mask, config.og_stride, config.ig_stride, config.max_samples)
    mask = boundary_mask(srgb8, boundary_margin).reshape(-1) | np.asarray(og_mask).reshape(-1)
    idx = np.flatnonzero(mask)
    if idx.size > config.max_samples:
        rng = np.random.default_rng(config.seed)
        idx = np.sort(rng.choice(idx, config.max_samples, replace=False))
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


def model_parameters(model) -> list:
    """[W1, b1, W2, b2, W3, b3] with W as (in, out): the layout of the hand-written step."""
    layers = [m for m in model if hasattr(m, "weight")]
    out = []
    for layer in layers:
        out += [layer.weight.detach().t().contiguous(), layer.bias.detach().clone()]
    return out


def load_parameters(model, params: list) -> None:
    """Copy [W1, b1, W2, b2, W3, b3] (W as (in, out)) back into the torch module."""
    import torch

    layers = [m for m in model if hasattr(m, "weight")]
    with torch.no_grad():
        for layer, w, b in zip(layers, params[0::2], params[1::2], strict=True):
            layer.weight.copy_(w.t())
            layer.bias.copy_(b)


def _gradients(params: list, features, targets) -> tuple[list, object]:
    """Hand-written forward/backward of the MLP under mean-squared error: (grads, loss)."""
    w1, b1, w2, b2, w3, b3 = params
    a1 = (features @ w1).add_(b1).relu_()
    a2 = (a1 @ w2).add_(b2).relu_()
    diff = (a2 @ w3).add_(b3).sub_(targets)
    loss = diff.square().mean()
    g3 = diff.mul_(2.0 / diff.numel())
    g2 = (g3 @ w3.t()).mul_(a2 > 0)
    g1 = (g2 @ w2.t()).mul_(a1 > 0)
    grads = [features.t() @ g1, g1.sum(0), a1.t() @ g2, g2.sum(0), a2.t() @ g3, g3.sum(0)]
    return grads, loss


def train(
    params: list,
    features,
    targets,
    config: FitConfig,
    progress: Callable[[int, float], None] | None = None,
    generator=None,
) -> float:
    """`config.steps` Adam steps on random batches of the encoded pool; updates `params` in
    place and returns the last batch loss. Used by `fit` and by the meta-learner's inner loop."""
    import torch

    optimiser = torch.optim.Adam(params, lr=config.lr, foreach=True)
    n = features.shape[0]
    batch = min(config.batch, n)
    loss = torch.zeros(())
    for step in range(1, config.steps + 1):
        if config.schedule == "cosine":
            floor = config.lr / 100
            t = (step - 1) / max(config.steps - 1, 1)
            optimiser.param_groups[0]["lr"] = floor + 0.5 * (config.lr - floor) * (
                1 + math.cos(math.pi * t)
            )
        if batch == n:
            fb, yb = features, targets
        else:
            pick = torch.randint(0, n, (batch,), generator=generator, device=features.device)
            fb, yb = features.index_select(0, pick), targets.index_select(0, pick)
        grads, loss = _gradients(params, fb, yb)
        for p, g in zip(params, grads, strict=True):
            p.grad = g
        optimiser.step()
        if progress is not None and (step % 50 == 0 or step == config.steps):
            progress(step, float(loss))
    for p in params:
        p.grad = None
    return float(loss)


def encode_pool(srgb8: np.ndarray, truth: np.ndarray, index: np.ndarray, octaves: int, device):
    """(features, residual targets) of the pixels at `index`, as torch tensors on `device`."""
    import torch

    inputs, clipped = mlp_inputs_at(srgb8, index)
    residual = np.asarray(truth, np.float32).reshape(-1, 3)[index] - clipped
    freq = torch.from_numpy(frequency_bands(octaves)).to(device)
    with torch.no_grad():
        features = encode_features(torch.from_numpy(inputs).to(device), freq)
    return features, torch.from_numpy(np.ascontiguousarray(residual)).to(device)


def initial_model(config: FitConfig):
    """A fresh torch model: the shipped meta-learned weights when `config.init` asks for them
    and they exist for this width and octave count, else PyTorch's default initialisation."""
    import torch

    from gamut_onnx.meta import load_init, read_init

    torch.manual_seed(config.seed)
    model = build_model(config.width, config.octaves)
    if config.init == "random":
        return model, "random"
    if config.init == "meta":
        init = load_init(config.width, config.octaves)
    else:
        init, about = read_init(config.init)
        if (about["width"], about["octaves"]) != (config.width, config.octaves):
            raise GamutError(
                f"{config.init} is for width {about['width']}, {about['octaves']} octaves, "
                f"not width {config.width}, {config.octaves} octaves"
            )
    if init is None:
        return model, "random"
    load_parameters(model, [torch.from_numpy(w) for w in init])
    return model, "meta" if config.init == "meta" else os.path.basename(config.init)


def fit(
    srgb8: np.ndarray,
    truth: np.ndarray,
    og_mask: np.ndarray,
    config: FitConfig,
    *,
    boundary_margin: int = 0,
    device: str = "auto",
    progress: Callable[[int, float], None] | None = None,
) -> FitResult:
    """Fit the MLP so that clipped(srgb8) + MLP(inputs) ~= truth on the training pixels.

    `srgb8` HxWx3 are the pixels a decoder will see, `truth` HxWx3 linear ProPhoto, `og_mask`
    HxW the OG pixels of `truth`. `progress(step, loss)` is called every 50 steps.
    """
    import torch

    check_config(config)
    start = time.perf_counter()
    device = resolve_device(device)
    if device == "cpu":
        torch.set_num_threads(cpu_threads())
    index = training_pixels(srgb8, og_mask, config, boundary_margin)
    if index.size == 0:
        raise GamutError("image has no pixels to fit")
    features, targets = encode_pool(srgb8, truth, index, config.octaves, device)
    model, init = initial_model(config)
    params = [p.to(device) for p in model_parameters(model)]
    generator = torch.Generator(device=device).manual_seed(config.seed)
    loss = train(params, features, targets, config, progress, generator)
    load_parameters(model, [p.cpu() for p in params])
    return FitResult(
        model=model,
        seconds=time.perf_counter() - start,
        device=device,
        samples=int(index.size),
        final_loss=loss,
        init=init,
    )


def preset(name: str, **overrides) -> FitConfig:
    """A named preset with some fields overridden (None values are ignored)."""
    if name not in PRESETS:
        raise GamutError(f"unknown preset {name!r} (choose {', '.join(PRESETS)})")
    return dataclasses.replace(
        PRESETS[name], **{k: v for k, v in overrides.items() if v is not None}
    )
