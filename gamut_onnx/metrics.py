"""The paper's metrics: RMSE and PSNR on linear ProPhoto in [0, 1], whole image and OG pixels."""

from __future__ import annotations

import math

import numpy as np


def rmse(estimate: np.ndarray, truth: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Root-mean-square error over all channels of the (masked) pixels; nan for an empty mask."""
    diff = np.asarray(estimate, np.float64) - np.asarray(truth, np.float64)
    if mask is not None:
        diff = diff[np.asarray(mask, bool)]
    if diff.size == 0:
        return float("nan")
    return float(np.sqrt(np.mean(diff * diff)))


def psnr(estimate: np.ndarray, truth: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Peak signal-to-noise ratio in dB for signals in [0, 1]; inf when identical."""
    error = rmse(estimate, truth, mask)
    if math.isnan(error):
        return float("nan")
    return float("inf") if error == 0 else -20.0 * math.log10(error)
