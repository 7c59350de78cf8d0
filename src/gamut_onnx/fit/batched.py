"""Many per-image fits at once: B independent GamutMLPs trained in lockstep with batched matmuls.

On a GPU one model's step is launch-bound (about 1.3 ms whatever its batch on an H100), so B
models in one step cost little more than one. Each model keeps its own training pool, its own
random generator (seeded as a lone fit's) and its own Adam moments (Adam is elementwise, so
stacking the weights changes nothing): a batched fit equals the B lone fits up to the summation
order of the matrix products (tests/test_batched_fit.py).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from gamut_onnx.fit.adam import Adam
from gamut_onnx.fit.captured import train_captured
from gamut_onnx.fit.config import FitConfig, check_config, cpu_threads, resolve_device
from gamut_onnx.fit.initial import initial_model
from gamut_onnx.fit.model import load_parameters, model_parameters
from gamut_onnx.fit.pool import featurise, pool_arrays, training_pixels
from gamut_onnx.fit.step import gradients, learning_rate, train
from gamut_onnx.fit.train import FitResult

Pool = tuple[np.ndarray, np.ndarray]  # pool_arrays: MLP inputs [n, 5 or 21], residuals [n, 3]


@dataclass
class Problem:
    """One photo to fit: the pixels the fit sees, the truth, its OG mask, the JPEG margin, and
    the context grids of those pixels when the caller has them already."""

    srgb8: np.ndarray
    truth: np.ndarray
    og: np.ndarray
    boundary_margin: int = 0
    grids: object = None  # runtime.feeds.Grids

    def pool(self, config: FitConfig) -> Pool:
        index = training_pixels(self.srgb8, self.og, config, self.boundary_margin)
        return pool_arrays(self.srgb8, self.truth, index, config.context, self.grids)


def fit_pools(pools: list[Pool], config: FitConfig, device: str = "auto") -> list[FitResult]:
    """One model per training pool; pools of at least `config.batch` samples train together,
    smaller ones alone (a lone fit uses such a pool whole, which does not stack)."""
    import torch

    check_config(config)
    start = time.perf_counter()
    device = resolve_device(device)
    if device == "cpu":
        torch.set_num_threads(cpu_threads())
    encoded = [featurise(*pool, config.octaves, device) for pool in pools]
    model, init = initial_model(config)
    single = [p.to(device) for p in model_parameters(model)]
    big = [i for i, (features, _) in enumerate(encoded) if features.shape[0] >= config.batch]
    weights: dict[int, list] = {}
    losses: dict[int, float] = {}
    if big:
        stacked, loss = _train_together([encoded[i] for i in big], single, config, device)
        for b, i in enumerate(big):
            weights[i], losses[i] = [p[b] for p in stacked], loss[b]
    for i in sorted(set(range(len(pools))) - set(big)):
        params = [p.clone() for p in single]
        generator = torch.Generator(device=device).manual_seed(config.seed)
        losses[i] = train(params, *encoded[i], config, generator=generator)
        weights[i] = params
    seconds = (time.perf_counter() - start) / max(len(pools), 1)
    results = []
    for i, (features, _) in enumerate(encoded):
        lone, _ = initial_model(config)
        load_parameters(lone, [p.detach().cpu() for p in weights[i]])
        samples = features.shape[0]  # batched fits keep the recipe's context (no race)
        results.append(
            FitResult(lone, seconds, device, samples, losses[i], init, context=config.context)
        )
    return results


def fit_many(problems: list[Problem], config: FitConfig, device: str = "auto") -> list[FitResult]:
    """Fit one model per problem, all in the same steps; results in the problems' order.

    Every pool must hold at least `config.batch` samples; `fit_batched` takes any.
    """
    pools = [p.pool(config) for p in problems]
    if min(inputs.shape[0] for inputs, _ in pools) < config.batch:
        raise ValueError("fit_many needs pools of at least config.batch samples")
    return fit_pools(pools, config, device)


def fit_batched(
    problems: list[Problem], config: FitConfig, device: str = "auto"
) -> list[FitResult]:
    """`fit_many` for the problems whose pools are large enough, lone fits for the others."""
    return fit_pools([p.pool(config) for p in problems], config, device)


def _train_together(encoded: list, single: list, config: FitConfig, device: str):
    """Stacked weights [B, ...] and last batch losses of B models trained in lockstep."""
    import torch

    generators = [
        torch.Generator(device=device).manual_seed(config.seed) for _ in encoded
    ]  # one per model, seeded as a lone fit's: the same batches
    if device.startswith("cuda"):  # a captured graph: no per-step launches (fit/captured.py)
        return train_captured(encoded, single, config, generators, device)
    return _train_stacked(encoded, single, config, generators, device)


def _train_stacked(pools: list, single: list, config: FitConfig, generators: list, device: str):
    """The eager loop: each model's batch from its generator, one stacked step for all."""
    import torch

    sizes = [features.shape[0] for features, _ in pools]
    params = [p.unsqueeze(0).repeat(len(pools), *[1] * p.dim()).contiguous() for p in single]
    optimiser = Adam(params, lr=config.lr)
    loss = torch.zeros(len(pools))
    for step in range(1, config.steps + 1):
        optimiser.lr = learning_rate(config, step)
        picks = [
            torch.randint(0, n, (config.batch,), generator=g, device=device)
            for n, g in zip(sizes, generators, strict=True)
        ]
        features = torch.stack(
            [f.index_select(0, i) for (f, _), i in zip(pools, picks, strict=True)]
        )
        targets = torch.stack(
            [t.index_select(0, i) for (_, t), i in zip(pools, picks, strict=True)]
        )
        grads, loss = gradients(params, features, targets)
        optimiser.step(grads)
    return params, loss.tolist()
