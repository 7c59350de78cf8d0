"""A small synthetic wide-gamut scene, rendered on the fly (nothing to download).

Shaded spheres of saturated ProPhoto colours (far outside sRGB) over a sky-to-grass background,
with a hue ring and a little grain: smooth gradients, sharp edges, highlights and shadows, so it
exercises the same things real photos do. Deterministic for a given seed.
"""

from __future__ import annotations

import numpy as np

from gamut_onnx.colour import SRGB_TO_PROPHOTO, apply_matrix

# Linear ProPhoto reflectances near the edge of real surface colours (most are outside sRGB).
PALETTE = np.array(
    [
        [0.55, 0.06, 0.02],  # deep red
        [0.70, 0.30, 0.02],  # orange
        [0.30, 0.55, 0.04],  # yellow-green
        [0.04, 0.40, 0.12],  # emerald
        [0.03, 0.30, 0.45],  # teal
        [0.10, 0.05, 0.55],  # violet
        [0.50, 0.05, 0.40],  # magenta
    ]
)


def _hue_colour(hue: np.ndarray, chroma: float, level: float) -> np.ndarray:
    """A ring of colours around grey `level` in ProPhoto RGB (simple RGB-cylinder hue)."""
    angles = hue[..., None] + np.array([0.0, 2.0, 4.0]) * np.pi / 3.0
    return np.clip(level * (1.0 + chroma * np.cos(angles)), 0.0, 1.0)


def synthetic_scene(width: int = 384, height: int = 256, seed: int = 0) -> np.ndarray:
    """Linear ProPhoto RGB float32 HxWx3 in [0, 1]."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    u, v = x / max(width - 1, 1), y / max(height - 1, 1)

    # Background inside sRGB (as most of a real photo is), defined in linear sRGB.
    sky = np.stack([0.20 + 0.25 * v, 0.35 + 0.25 * v, 0.80 - 0.10 * v], -1)
    grass = np.stack([0.12 + 0.06 * u, 0.32 - 0.15 * v, 0.05 + 0.0 * u], -1)
    sky, grass = apply_matrix(sky, SRGB_TO_PROPHOTO), apply_matrix(grass, SRGB_TO_PROPHOTO)
    horizon = 0.55 + 0.05 * np.sin(u * 7.0 + seed)
    image = np.where((v < horizon)[..., None], sky, grass)

    # Hue ring across the upper right.
    cx, cy, r_in, r_out = 0.80 * width, 0.28 * height, 0.10 * height, 0.22 * height
    dist = np.hypot(x - cx, y - cy)
    ring = (dist > r_in) & (dist < r_out)
    hue = np.arctan2(y - cy, x - cx)
    image = np.where(ring[..., None], _hue_colour(hue, 0.95, 0.35), image)

    # Lambert-shaded spheres with a specular highlight.
    light = np.array([-0.5, -0.6, 0.62])
    light /= np.linalg.norm(light)
    count = 6
    for i in range(count):
        colour = PALETTE[(i + seed) % len(PALETTE)]
        sx = (i + 0.5) / count * width + rng.uniform(-0.04, 0.04) * width
        sy = rng.uniform(0.55, 0.8) * height
        radius = rng.uniform(0.09, 0.14) * min(width, height) * 1.4
        dx, dy = (x - sx) / radius, (y - sy) / radius
        inside = dx * dx + dy * dy < 1.0
        nz = np.sqrt(np.clip(1.0 - dx * dx - dy * dy, 0.0, 1.0))
        lambert = np.clip(dx * light[0] + dy * light[1] + nz * light[2], 0.0, 1.0)
        spec = np.clip(dx * light[0] + dy * light[1] + nz * light[2], 0, 1) ** 40
        shaded = colour * (0.08 + 0.95 * lambert[..., None]) + 0.6 * spec[..., None]
        image = np.where(inside[..., None], shaded, image)

    grain = rng.normal(0.0, 0.004, image.shape) * (0.2 + image)
    return np.clip(image + grain, 0.0, 1.0).astype(np.float32)
