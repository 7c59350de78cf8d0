"""The paper's metrics: RMSE and PSNR on linear ProPhoto in [0, 1], whole image and OG pixels."""

from __future__ import annotations

import math

import numpy as np

CHUNK_PIXELS = 1 << 18  # float64 temporaries of a few MB, whatever the image size


def squared_error(estimate: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Per pixel, the squared difference summed over channels, in float64 (HxW).

    Every score of one restore (whole image, OG pixels, each gate the encoder weighs) is a sum
    over this one array, so a 12 MP photo is differenced once, in cache-sized chunks."""
    estimate, truth = np.asarray(estimate), np.asarray(truth)
    channels = truth.shape[-1] if truth.ndim > 2 else 1
    e, t = estimate.reshape(-1, channels), truth.reshape(-1, channels)
    out = np.empty(e.shape[0], np.float64)
    for start in range(0, e.shape[0], CHUNK_PIXELS):
        part = slice(start, start + CHUNK_PIXELS)
        diff = e[part] - t[part]  # float32 photos: float32 differences, float64 sums
        out[part] = np.einsum("ij,ij->i", diff, diff)
    return out.reshape(truth.shape[: max(truth.ndim - 1, 1)] if channels > 1 else truth.shape)


def psnr_of_error(error: np.ndarray, mask: np.ndarray | None = None, channels: int = 3) -> float:
    """PSNR in dB from `squared_error` (over the `mask` pixels); nan for an empty mask."""
    if mask is not None:
        error = error[np.asarray(mask, bool)]
    return psnr_of_sum(float(error.sum(dtype=np.float64)), error.size, channels)


def psnr_of_sum(total: float, pixels: int, channels: int = 3) -> float:
    """PSNR in dB from the sum of `squared_error` over `pixels` pixels; nan for none."""
    if pixels == 0:
        return float("nan")
    mean = total / (pixels * channels)
    return float("inf") if mean == 0 else -10.0 * math.log10(mean)


def rmse(estimate: np.ndarray, truth: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Root-mean-square error over all channels of the (masked) pixels; nan for an empty mask."""
    error = squared_error(estimate, truth)
    channels = np.asarray(truth).shape[-1] if np.asarray(truth).ndim > 2 else 1
    if mask is not None:
        error = error[np.asarray(mask, bool)]
    if error.size == 0:
        return float("nan")
    return math.sqrt(float(error.sum()) / (error.size * channels))


def psnr(estimate: np.ndarray, truth: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Peak signal-to-noise ratio in dB for signals in [0, 1]; inf when identical."""
    error = rmse(estimate, truth, mask)
    if math.isnan(error):
        return float("nan")
    return float("inf") if error == 0 else -20.0 * math.log10(error)


D50_WHITE = np.array([0.96422, 1.0, 0.82521])


def prophoto_to_lab(prophoto: np.ndarray) -> np.ndarray:
    """Linear ProPhoto -> CIELAB (D50, the ProPhoto white, so no adaptation is needed)."""
    from gamut_onnx.colour import PROPHOTO_XYZ_D50, apply_matrix

    xyz = apply_matrix(prophoto, PROPHOTO_XYZ_D50) / D50_WHITE
    eps, kappa = 216 / 24389, 24389 / 27
    f = np.where(xyz > eps, np.cbrt(xyz), (kappa * xyz + 16) / 116)
    return np.stack(
        [116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], -1
    )


def delta_e_2000(lab1: np.ndarray, lab2: np.ndarray) -> np.ndarray:
    """CIEDE2000 colour difference (CIE 142-2001; kL = kC = kH = 1), element-wise over ...x3."""
    lab1, lab2 = np.asarray(lab1, np.float64), np.asarray(lab2, np.float64)
    l1, a1, b1 = np.moveaxis(lab1, -1, 0)
    l2, a2, b2 = np.moveaxis(lab2, -1, 0)
    c_mean = (np.hypot(a1, b1) + np.hypot(a2, b2)) / 2
    g = 0.5 * (1 - np.sqrt(c_mean**7 / (c_mean**7 + 25.0**7)))
    a1p, a2p = a1 * (1 + g), a2 * (1 + g)
    c1p, c2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1p = np.degrees(np.arctan2(b1, a1p)) % 360
    h2p = np.degrees(np.arctan2(b2, a2p)) % 360
    dlp, dcp = l2 - l1, c2p - c1p
    dh = h2p - h1p
    dh = np.where(dh > 180, dh - 360, np.where(dh < -180, dh + 360, dh))
    dh = np.where(c1p * c2p == 0, 0.0, dh)
    dhp = 2 * np.sqrt(c1p * c2p) * np.sin(np.radians(dh / 2))
    lp_mean, cp_mean = (l1 + l2) / 2, (c1p + c2p) / 2
    h_sum = h1p + h2p
    hp_mean = np.where(
        np.abs(h1p - h2p) <= 180,
        h_sum / 2,
        np.where(h_sum < 360, (h_sum + 360) / 2, (h_sum - 360) / 2),
    )
    hp_mean = np.where(c1p * c2p == 0, h_sum, hp_mean)
    t = (
        1
        - 0.17 * np.cos(np.radians(hp_mean - 30))
        + 0.24 * np.cos(np.radians(2 * hp_mean))
        + 0.32 * np.cos(np.radians(3 * hp_mean + 6))
        - 0.20 * np.cos(np.radians(4 * hp_mean - 63))
    )
    d_theta = 30 * np.exp(-(((hp_mean - 275) / 25) ** 2))
    r_c = 2 * np.sqrt(cp_mean**7 / (cp_mean**7 + 25.0**7))
    s_l = 1 + 0.015 * (lp_mean - 50) ** 2 / np.sqrt(20 + (lp_mean - 50) ** 2)
    s_c = 1 + 0.045 * cp_mean
    s_h = 1 + 0.015 * cp_mean * t
    r_t = -np.sin(np.radians(2 * d_theta)) * r_c
    return np.sqrt(
        (dlp / s_l) ** 2 + (dcp / s_c) ** 2 + (dhp / s_h) ** 2 + r_t * (dcp / s_c) * (dhp / s_h)
    )
