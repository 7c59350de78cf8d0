"""Fitting the per-image GamutMLP in PyTorch: the fit of one photo, on the CPU or CUDA, with or
without the context race.

The network follows the paper: (x, y, R, G, B) in [-1, 1] -> sin/cos at `octaves` octaves
-> 2 hidden ReLU layers -> 3 outputs added to the clipped ProPhoto colour as a residual.

Speed comes from three choices (measured in docs/design.md): the training pixels are encoded
once into a feature pool, the step is a hand-written forward/backward (no autograd graph for a
3-layer MLP), and the weights start from a meta-learned initialisation instead of random.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from gamut_onnx.errors import GamutError
from gamut_onnx.fit.captured import train_captured
from gamut_onnx.fit.config import FitConfig, check_config, cpu_threads, resolve_device
from gamut_onnx.fit.initial import initial_model
from gamut_onnx.fit.model import load_parameters, model_parameters
from gamut_onnx.fit.pool import encode_pool, training_pixels
from gamut_onnx.fit.race import race, race_captured
from gamut_onnx.fit.step import train


@dataclass
class FitResult:
    model: object  # the fitted torch.nn.Sequential; exporters.weights packs it into a blob
    seconds: float
    device: str
    samples: int
    final_loss: float
    init: str  # "meta" or "random": what the weights started from
    context: bool = False  # the model uses the carrier context (input layout 2)
    race: dict | None = None  # with a context race: what it chose and why (fit/race.py)


def fit(
    srgb8: np.ndarray,
    truth: np.ndarray,
    og_mask: np.ndarray,
    config: FitConfig,
    *,
    boundary_margin: int = 0,
    device: str = "auto",
    progress: Callable[[int, float], None] | None = None,
    grids=None,
) -> FitResult:
    """Fit the MLP so that clipped(srgb8) + MLP(inputs) ~= truth on the training pixels.

    `srgb8` HxWx3 are the pixels a decoder will see, `truth` HxWx3 linear ProPhoto, `og_mask`
    HxW the OG pixels of `truth`. `progress(step, loss)` is called every 50 steps. `grids`:
    the context grids of `srgb8`, when the caller has them (the encoder reuses them to score)."""
    import torch

    check_config(config)
    start = time.perf_counter()
    device = resolve_device(device)
    if device == "cpu":
        torch.set_num_threads(cpu_threads())
    index = training_pixels(srgb8, og_mask, config, boundary_margin)
    if index.size == 0:
        raise GamutError("image has no pixels to fit")
    features, targets = encode_pool(
        srgb8, truth, index, config.octaves, device, config.context, grids
    )
    model, init = initial_model(config)
    params = [p.to(device) for p in model_parameters(model)]

    def generator_for():
        return torch.Generator(device=device).manual_seed(config.seed)

    choice = None
    if config.context and config.context_race > 0:  # with or without context (fit/race.py)
        if device.startswith("cuda"):
            params, loss, choice = race_captured(params, features, targets, config, generator_for)
        else:
            params, loss, choice = race(params, features, targets, config, generator_for, progress)
    elif device.startswith("cuda"):  # a captured graph: no per-step launches (fit/captured.py)
        pool = [(features, targets)]
        stacked, losses = train_captured(pool, params, config, [generator_for()], device)
        params, loss = [p[0] for p in stacked], losses[0]
    else:
        loss = train(params, features, targets, config, progress, generator_for())
    if progress is not None and device.startswith("cuda"):
        progress(config.steps, loss)
    load_parameters(model, [p.cpu() for p in params])
    return FitResult(
        model=model,
        seconds=time.perf_counter() - start,
        device=device,
        samples=int(index.size),
        final_loss=loss,
        init=init,
        context=config.context if choice is None else choice.context,
        race=None if choice is None else choice.report(),
    )
