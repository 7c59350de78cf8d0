"""Fitting the per-image GamutMLP in PyTorch: training pixels, the hand-written step, the fit.

The network follows the paper: (x, y, R, G, B) in [-1, 1] -> sin/cos at `octaves` octaves
-> 2 hidden ReLU layers -> 3 outputs added to the clipped ProPhoto colour as a residual.

Speed comes from three choices (measured in docs/design.md): the training pixels are encoded
once into a feature pool, the step is a hand-written forward/backward (no autograd graph for a
3-layer MLP), and the weights start from a meta-learned initialisation instead of random.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from gamut_onnx.colour import boundary_mask
from gamut_onnx.context import context_inputs
from gamut_onnx.errors import GamutError
from gamut_onnx.features import frequency_bands, mlp_inputs_at
from gamut_onnx.fit.adam import Adam
from gamut_onnx.fit.config import FitConfig, check_config, cpu_threads, resolve_device
from gamut_onnx.fit.initial import initial_model
from gamut_onnx.fit.model import encode_features, load_parameters, model_parameters


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


def _gradients(params: list, features, targets) -> tuple[list, object]:
    """Hand-written forward/backward of the MLP under mean-squared error: (grads, loss).

    Shapes may carry a leading model axis (features [B, n, F], w1 [B, F, D], b1 [B, D], ...):
    then B independent models take their step at once (fit/batched.py), each exactly as alone.
    """
    w1, b1, w2, b2, w3, b3 = params
    a1 = (features @ w1).add_(b1.unsqueeze(-2)).relu_()
    a2 = (a1 @ w2).add_(b2.unsqueeze(-2)).relu_()
    diff = (a2 @ w3).add_(b3.unsqueeze(-2)).sub_(targets)
    loss = diff.square().mean(dim=(-2, -1))
    g3 = diff.mul_(2.0 / (diff.shape[-2] * diff.shape[-1]))
    g2 = (g3 @ w3.transpose(-1, -2)).mul_(a2 > 0)
    g1 = (g2 @ w2.transpose(-1, -2)).mul_(a1 > 0)
    t = features.transpose(-1, -2), a1.transpose(-1, -2), a2.transpose(-1, -2)
    grads = [t[0] @ g1, g1.sum(-2), t[1] @ g2, g2.sum(-2), t[2] @ g3, g3.sum(-2)]
    return grads, loss


def learning_rate(config: FitConfig, step: int) -> float:
    """The learning rate at `step` (1-based): constant, or cosine decay to lr/100."""
    if config.schedule != "cosine":
        return config.lr
    floor = config.lr / 100
    t = (step - 1) / max(config.steps - 1, 1)
    return floor + 0.5 * (config.lr - floor) * (1 + math.cos(math.pi * t))


class Training:
    """One model's fit in progress: weights, Adam state and batch generator, so that a fit can
    stop after some steps and go on later (fit/race.py). `frozen_rows`: the last rows of W1
    get no updates (zero gradients leave Adam's step at exactly zero)."""

    def __init__(self, params, features, targets, config: FitConfig, generator, frozen_rows=0):
        self.params, self.features, self.targets = params, features, targets
        self.config, self.generator, self.frozen_rows = config, generator, frozen_rows
        self.optimiser = Adam(params, lr=config.lr)
        self.step, self.loss = 0, 0.0

    def run(self, until: int, progress: Callable[[int, float], None] | None = None) -> float:
        """Steps up to `until` (1-based, inclusive); returns the last batch loss."""
        import torch

        features, targets, config = self.features, self.targets, self.config
        n = features.shape[0]
        batch = min(config.batch, n)
        for step in range(self.step + 1, until + 1):
            self.optimiser.lr = learning_rate(config, step)
            if batch == n:
                fb, yb = features, targets
            else:
                device = features.device
                pick = torch.randint(0, n, (batch,), generator=self.generator, device=device)
                fb, yb = features.index_select(0, pick), targets.index_select(0, pick)
            grads, loss = _gradients(self.params, fb, yb)
            if self.frozen_rows:
                grads[0][-self.frozen_rows :] = 0
            self.optimiser.step(grads)
            if progress is not None and (step % 50 == 0 or step == config.steps):
                progress(step, float(loss))
            self.step, self.loss = step, loss
        return float(self.loss)


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
    return Training(params, features, targets, config, generator).run(config.steps, progress)


def pool_arrays(
    srgb8: np.ndarray,
    truth: np.ndarray,
    index: np.ndarray,
    context: bool = False,
    grids=None,
) -> tuple[np.ndarray, np.ndarray]:
    """(MLP inputs [n, 5] or with `context` [n, 21], residual targets [n, 3]) of the pixels at
    `index`, float32: all a fit needs of a photo (8 or 25 MB at the default's 262,144 samples;
    no torch). `grids`: the carrier's context grids (runtime.feeds.Grids, from the grid graph)
    when the caller has them already."""
    inputs, clipped = mlp_inputs_at(srgb8, index)
    if context:
        rows, cols = np.divmod(np.asarray(index, np.int64), srgb8.shape[1])
        codes = srgb8.reshape(-1, srgb8.shape[-1])[index]
        if grids is None:
            from gamut_onnx.runtime import RestoreSession

            grids = RestoreSession("cpu").grids(srgb8)
        extra = context_inputs(grids.levels, rows, cols, codes)
        inputs = np.concatenate([inputs, extra], 1)
    residual = np.asarray(truth, np.float32).reshape(-1, 3)[index] - clipped
    return inputs, np.ascontiguousarray(residual)


def featurise(inputs: np.ndarray, residual: np.ndarray, octaves: int, device):
    """`pool_arrays` -> (features, residual targets) as torch tensors on `device`."""
    import torch

    freq = torch.from_numpy(frequency_bands(octaves)).to(device)
    with torch.no_grad():
        features = encode_features(torch.from_numpy(inputs).to(device), freq)
    return features, torch.from_numpy(residual).to(device)


def encode_pool(
    srgb8: np.ndarray,
    truth: np.ndarray,
    index: np.ndarray,
    octaves: int,
    device,
    context: bool = False,
    grids=None,
):
    """(features, residual targets) of the pixels at `index`, as torch tensors on `device`."""
    return featurise(*pool_arrays(srgb8, truth, index, context, grids), octaves, device)


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
        from gamut_onnx.fit.race import race, race_captured

        if device.startswith("cuda"):
            params, loss, choice = race_captured(params, features, targets, config, generator_for)
        else:
            params, loss, choice = race(params, features, targets, config, generator_for, progress)
    elif device.startswith("cuda"):  # a captured graph: no per-step launches (fit/captured.py)
        from gamut_onnx.fit.captured import train_captured

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
