"""Meta-learned initialisation (Reptile, as in the GamutMLP paper) and the shipped init files.

Reptile: for a batch of tasks (crops of wide-gamut photos and generated scenes), start from the
shared weights, run the per-image fit's own inner loop for a few steps, and move the shared
weights towards the results (outer Adam on the mean weight delta). A fit that starts from these
weights reaches a given error in far fewer steps than one from random weights.

An init file is an .npz with the six weight arrays (W as (in, out)) and a JSON `meta` record:
format name and version, width, octaves, and how it was trained (docs/design.md).
"""

from __future__ import annotations

import dataclasses
import io
import json
import time
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path

import numpy as np

from gamut_onnx.colour import out_of_gamut_mask, prophoto_to_srgb8
from gamut_onnx.errors import GamutError

INIT_FORMAT = "gamut-onnx-init"
INIT_VERSION = 1
INIT_DIR = Path(__file__).with_name("init")
PARAM_NAMES = ("w1", "b1", "w2", "b2", "w3", "b3")


def init_path(width: int, octaves: int) -> Path:
    """Where the shipped init for this architecture lives."""
    return INIT_DIR / f"meta_w{width}_o{octaves}.npz"


def save_init(path: Path, params: list[np.ndarray], width: int, octaves: int, about: dict) -> None:
    """Write an init file atomically."""
    from gamut_onnx.files import write_atomic

    record = {"format": INIT_FORMAT, "version": INIT_VERSION, "width": width, "octaves": octaves}
    buffer = io.BytesIO()
    np.savez(
        buffer,
        meta=np.array(json.dumps({**record, **about}, sort_keys=True)),
        **{n: np.asarray(p, np.float32) for n, p in zip(PARAM_NAMES, params, strict=True)},
    )
    write_atomic(Path(path), buffer.getvalue())


def read_init(path: Path) -> tuple[list[np.ndarray], dict]:
    """(weights, meta record) of an init file, checked."""
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            params = [np.asarray(data[n], np.float32) for n in PARAM_NAMES]
    except (OSError, KeyError, ValueError) as exc:
        raise GamutError(f"{path}: not a gamut-onnx init file ({exc})") from exc
    if meta.get("format") != INIT_FORMAT or meta.get("version") != INIT_VERSION:
        raise GamutError(f"{path}: unsupported init format {meta.get('format')!r}")
    return params, meta


@cache
def load_init(width: int, octaves: int) -> list[np.ndarray] | None:
    """The shipped meta-learned weights for this architecture, or None when there are none."""
    path = init_path(width, octaves)
    return read_init(path)[0] if path.exists() else None


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
    from gamut_onnx.fit import encode_pool, training_pixels

    srgb8 = prophoto_to_srgb8(truth)
    index = training_pixels(srgb8, out_of_gamut_mask(truth), config)
    if index.size < 256:
        return None
    return encode_pool(srgb8, truth, index, config.octaves, device)


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

    from gamut_onnx.fit import initial_model, model_parameters, resolve_device, train

    device = resolve_device(device)
    pool_config = dataclasses.replace(config, init="random")
    tasks = [t for t in (make_task(img, pool_config, device) for img in images) if t is not None]
    if not tasks:
        raise GamutError("no training image has pixels to fit")
    model, _ = initial_model(pool_config)
    shared = [p.to(device) for p in model_parameters(model)]
    outer = torch.optim.Adam(shared, lr=outer_lr)
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
        for p, d in zip(shared, deltas, strict=True):
            p.grad = d
        outer.param_groups[0]["lr"] = outer_lr * (1 - (step - 1) / meta_steps)
        outer.step()
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
    from gamut_onnx.inputs import read_prophoto
    from gamut_onnx.sample import synthetic_scene

    start = time.perf_counter()
    rng = np.random.default_rng(seed)
    images = []
    for path in paths:
        images += random_crops(read_prophoto(path).prophoto, crop, crops_per_image, rng)
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
