"""Pictures for `gamut-onnx eval --out`: where each method's error is, where the OG colours go,
and what each method costs. matplotlib (the `eval` extra) is imported here only, and figures are
drawn with the Agg canvas, so eval never needs a display.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np

from gamut_onnx.colour import PROPHOTO_XYZ_D50, SRGB_TO_PROPHOTO, apply_matrix
from gamut_onnx.errors import GamutError
from gamut_onnx.evaluate.harness import ImageResult
from gamut_onnx.files import write_atomic
from gamut_onnx.metrics import psnr

MAX_WIDTH = 512  # panels are subsampled to at most this many pixels across
CHROMA_POINTS = 2000  # OG pixels drawn per image in the chromaticity plot
DPI = 100


def require_matplotlib() -> None:
    """Fail before the slow part when pictures cannot be drawn."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise GamutError(
            "pictures for --out need matplotlib: pip install 'gamut-onnx[eval]'"
        ) from None


def _figure(width_in: float, height_in: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width_in, height_in), dpi=DPI, layout="constrained")


def _save(fig, path: Path) -> Path:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    write_atomic(path, buffer.getvalue())
    return path


def subsample(image: np.ndarray, max_width: int = MAX_WIDTH) -> np.ndarray:
    """Every n-th row and column so that the width is at most `max_width` (keeps the aspect)."""
    step = max(1, math.ceil(image.shape[1] / max_width))
    return image[::step, ::step]


def error_map(restored: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Per-pixel RMSE over the three channels, linear ProPhoto (the paper's metric, per pixel)."""
    diff = np.asarray(restored, np.float64) - np.asarray(truth, np.float64)
    return np.sqrt(np.mean(diff * diff, axis=-1))


def xy_chromaticity(prophoto: np.ndarray) -> np.ndarray:
    """Linear ProPhoto Nx3 -> CIE 1931 xy (D50-referred, the ProPhoto white) Nx2."""
    xyz = apply_matrix(prophoto, PROPHOTO_XYZ_D50)
    total = xyz.sum(axis=-1, keepdims=True)
    return xyz[..., :2] / np.where(total > 0, total, 1.0)


def _primaries_xy(to_prophoto: np.ndarray) -> np.ndarray:
    """xy of the red, green and blue primaries whose ProPhoto colours are the matrix columns."""
    return xy_chromaticity(np.asarray(to_prophoto).T)


def strip(result: ImageResult, method: str, path: Path) -> Path:
    """clipped sRGB | OG mask | error of clip | error of `method`, one colour scale."""
    truth, og = result.truth, result.og
    clipped = result.restored.get("clip")
    if clipped is None:
        from gamut_onnx.colour import srgb8_to_prophoto

        clipped = srgb8_to_prophoto(result.clip_srgb8)
    before = error_map(clipped, truth)
    after = error_map(result.restored[method], truth)
    vmax = max(float(np.percentile(before, 99.5)), float(np.percentile(after, 99.5)), 1e-4)
    h, w = subsample(og).shape
    panel = 2.6
    fig = _figure(4 * panel + 0.9, panel * h / w + 0.6)
    axes = fig.subplots(1, 4)
    panels = [
        (subsample(result.clip_srgb8), "clipped sRGB", {}),
        (subsample(og), f"OG mask ({100 * og.mean():.1f} %)", {"cmap": "gray"}),
        (
            subsample(before),
            f"error, clip: {psnr(clipped, truth, og):.1f} dB OG",
            {"cmap": "magma", "vmin": 0, "vmax": vmax},
        ),
        (
            subsample(after),
            f"error, {method}: {psnr(result.restored[method], truth, og):.1f} dB OG",
            {"cmap": "magma", "vmin": 0, "vmax": vmax},
        ),
    ]
    for ax, (image, title, style) in zip(axes, panels, strict=True):
        shown = ax.imshow(image, interpolation="nearest", **style)
        ax.set_title(title, fontsize=8)
        ax.set_axis_off()
    fig.colorbar(shown, ax=axes[2:], shrink=0.8, label="per-pixel RMSE")
    fig.suptitle(result.name, fontsize=9)
    return _save(fig, path)


def chromaticity(result: ImageResult, path: Path, seed: int = 0) -> Path:
    """CIE 1931 xy of (subsampled) OG pixels: ground truth, clip and every restoring method."""
    fig = _figure(5.0, 4.6)
    ax = fig.subplots()
    for name, matrix, style in (
        ("ProPhoto", np.eye(3), "k-"),
        ("sRGB", SRGB_TO_PROPHOTO, "b-"),
    ):
        tri = _primaries_xy(matrix)
        ax.plot(*np.vstack([tri, tri[:1]]).T, style, lw=1, label=f"{name} gamut")
    index = np.flatnonzero(result.og.reshape(-1))
    if index.size > CHROMA_POINTS:
        index = np.sort(np.random.default_rng(seed).choice(index, CHROMA_POINTS, replace=False))
    series = dict(result.restored)
    if "clip" not in series:
        from gamut_onnx.colour import srgb8_to_prophoto

        series = {"clip": srgb8_to_prophoto(result.clip_srgb8), **series}
    series["ground truth"] = result.truth  # drawn last, on top, in black
    for label, image in series.items():
        xy = xy_chromaticity(image.reshape(-1, 3)[index])
        style = {"color": "black", "s": 2} if label == "ground truth" else {"s": 4, "alpha": 0.6}
        ax.scatter(*xy.T, label=label, linewidths=0, **style)
    ax.set(xlim=(0, 0.8), ylim=(0, 0.9), xlabel="x", ylabel="y", aspect="equal")
    ax.set_title(f"{result.name}: {index.size} OG pixels (CIE 1931 xy, D50)", fontsize=9)
    ax.legend(fontsize=7, markerscale=3, loc="upper right")
    return _save(fig, path)


def method_chart(means: dict[str, dict[str, float]], x_key: str, x_label: str, path: Path) -> Path:
    """Mean PSNR-OG per method against a cost (blob bytes or fit seconds), log-like x axis."""
    fig = _figure(5.0, 3.6)
    ax = fig.subplots()
    for method, m in means.items():
        if not (math.isfinite(m[x_key]) and math.isfinite(m["psnr_og"])):
            continue  # e.g. no image had OG pixels
        ax.scatter(m[x_key], m["psnr_og"], s=30)
        point = (m[x_key], m["psnr_og"])
        ax.annotate(method, point, fontsize=8, xytext=(4, 4), textcoords="offset points")
    positive = [m[x_key] for m in means.values() if m[x_key] > 0]
    # Linear below the smallest positive cost's decade, logarithmic above: zero-cost methods show.
    linthresh = 10.0 ** math.floor(math.log10(min(positive))) if positive else 1.0
    ax.set_xscale("symlog", linthresh=linthresh)
    ax.margins(0.15)  # room for the labels
    ax.set(xlabel=x_label, ylabel="mean PSNR on OG pixels (dB)")
    ax.grid(alpha=0.3)
    return _save(fig, path)


def write_pictures(result: ImageResult, folder: Path) -> list[Path]:
    """A strip per restoring method and a chromaticity plot for one image."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = Path(result.name).stem
    written = [strip(result, m, folder / f"{stem}.{m}.png") for m in result.restored if m != "clip"]
    return [*written, chromaticity(result, folder / f"{stem}.chromaticity.png")]


def write_charts(means: dict[str, dict[str, float]], folder: Path) -> list[Path]:
    """Across methods: mean PSNR-OG vs blob bytes and vs fit seconds."""
    folder.mkdir(parents=True, exist_ok=True)
    return [
        method_chart(means, "blob_bytes", "metadata bytes", folder / "psnr_og-vs-blob_bytes.png"),
        method_chart(means, "fit_s", "fit seconds", folder / "psnr_og-vs-fit_s.png"),
    ]
