"""Meta-learning the initialisation (Reptile, as in the GamutMLP paper).

Reptile: for a batch of tasks (crops of wide-gamut photos and generated scenes), start from the
shared weights, run the per-image fit's own inner loop for a few steps, and move the shared
weights towards the results (outer Adam on the mean weight delta). A fit that starts from these
weights reaches a given error in far fewer steps than one from random weights.
The result is an init file (gamut_onnx.fit.initial), the shipped one among them.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from gamut_onnx.colour import out_of_gamut_mask, prophoto_to_srgb8
from gamut_onnx.errors import GamutError
from gamut_onnx.fit.adam import Adam
from gamut_onnx.fit.config import resolve_device
from gamut_onnx.fit.initial import initial_model, read_init, save_init
from gamut_onnx.fit.model import model_parameters
from gamut_onnx.fit.pool import encode_pool, training_pixels
from gamut_onnx.fit.step import train


def random_crops(
    truth: np.ndarray, size: int, count: int, rng: np.random.Generator
) -> list[np.ndarray]:
    """`count` square crops (or the whole image when it is smaller) of a ProPhoto image."""
    h, w = truth.shape[:2]
    if h <= size and w <= size:
        return [truth]
    crops = []
    for _ in range(count):
        r = int(rng.integers(0, max(h - size, 0) + 1))
        c = int(rng.integers(0, max(w - size, 0) + 1))
        crops.append(truth[r : r + size, c : c + size])
    return crops


def make_task(truth: np.ndarray, config, device: str):
    """(features, targets) pool of one training image, as the per-image fit would build it;
    None when the image has nothing to fit."""
    srgb8 = prophoto_to_srgb8(truth)
    index = training_pixels(srgb8, out_of_gamut_mask(truth), config)
    if index.size < 256:
        return None
    return encode_pool(srgb8, truth, index, config.octaves, device, config.context)


def meta_train(
    images: Iterable[np.ndarray],
    config,
    *,
    meta_steps: int = 300,
    inner_steps: int = 50,
    tasks_per_step: int = 4,
    outer_lr: float = 2e-3,
    device: str = "cpu",
    progress: Callable[[int, float], None] | None = None,
) -> list[np.ndarray]:
    """Reptile over the given training images (each one task); returns the init weights."""
    import torch

    device = resolve_device(device)
    pool_config = dataclasses.replace(config, init="random")
    tasks = [t for t in (make_task(img, pool_config, device) for img in images) if t is not None]
    if not tasks:
        raise GamutError("no training image has pixels to fit")
    model, _ = initial_model(pool_config)
    shared = [p.to(device) for p in model_parameters(model)]
    outer = Adam(shared, lr=outer_lr)
    inner = dataclasses.replace(config, steps=inner_steps, schedule="constant")
    rng = np.random.default_rng(config.seed)
    generator = torch.Generator(device=device).manual_seed(config.seed)
    for step in range(1, meta_steps + 1):
        deltas = [torch.zeros_like(p) for p in shared]
        losses = []
        for t in rng.choice(len(tasks), size=min(tasks_per_step, len(tasks)), replace=False):
            params = [p.detach().clone() for p in shared]
            losses.append(train(params, *tasks[t], inner, generator=generator))
            for d, p, s in zip(deltas, params, shared, strict=True):
                d += (s - p) / tasks_per_step
        outer.lr = outer_lr * (1 - (step - 1) / meta_steps)
        outer.step(deltas)
        if progress is not None:
            progress(step, float(np.mean(losses)))
    return [p.detach().cpu().numpy() for p in shared]


def meta_train_files(
    paths: list[Path],
    output: Path,
    config,
    *,
    crop: int = 256,
    crops_per_image: int = 6,
    synthetic: int = 16,
    seed: int = 0,
    progress: Callable[[int, float], None] | None = None,
    **options,
) -> dict:
    """Reptile over crops of the given photos plus generated scenes; writes the init file and
    returns its meta record (provenance)."""
    from gamut_onnx.read import read_prophoto
    from gamut_onnx.sample import synthetic_scene

    start = time.perf_counter()
    rng = np.random.default_rng(seed)
    images = []
    for path in paths:
        images += random_crops(
            read_prophoto(path, untagged="prophoto").prophoto, crop, crops_per_image, rng
        )
    images += [synthetic_scene(crop, crop, seed=1000 + i) for i in range(synthetic)]
    params = meta_train(images, config, progress=progress, **options)
    about = {
        "trained_on": sorted(p.name for p in paths),
        "crop": crop,
        "crops_per_image": crops_per_image,
        "synthetic_scenes": synthetic,
        "seed": seed,
        "fit_config": dataclasses.asdict(config),
        "options": options,
        "seconds": round(time.perf_counter() - start, 1),
    }
    save_init(output, params, config.width, config.octaves, about)
    return read_init(output)[1]
