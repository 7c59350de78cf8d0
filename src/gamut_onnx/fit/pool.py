"""The training pool of a photo: which pixels the fit sees, and their MLP features and
residual targets, encoded once (a fit's steps only index into it).
"""

from __future__ import annotations

import numpy as np

from gamut_onnx.colour import boundary_mask
from gamut_onnx.context import context_inputs
from gamut_onnx.features import frequency_bands, mlp_inputs_at
from gamut_onnx.fit.config import FitConfig
from gamut_onnx.fit.model import encode_features


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


FEATURE_ROWS = 16_384  # pool rows encoded at a time: their sin/cos temporaries stay in cache


def featurise(inputs: np.ndarray, residual: np.ndarray, octaves: int, device):
    """`pool_arrays` -> (features, residual targets) as torch tensors on `device`. Encoded
    FEATURE_ROWS at a time into one tensor: the same values as encoding the pool at once,
    without its five pool-sized temporaries (a third less time on the CPU)."""
    import torch

    freq = torch.from_numpy(frequency_bands(octaves)).to(device)
    inputs = torch.from_numpy(inputs).to(device)
    with torch.no_grad():
        width = encode_features(inputs[:0], freq).shape[1]  # the layout's, from no rows
        features = torch.empty((len(inputs), width), device=device)
        for top in range(0, len(inputs), FEATURE_ROWS):
            rows = slice(top, top + FEATURE_ROWS)
            features[rows] = encode_features(inputs[rows], freq)
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
