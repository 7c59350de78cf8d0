"""Evaluation: every method runs the full user path (reduce -> carrier bytes -> restore) and is
scored against the ground truth with the paper's metrics plus CIEDE2000 on OG pixels.

Methods: "clip" (the carrier decoded without a model), "soft-clip" (the authors' per-image
soft-clipping baseline, its parameters in the carrier) and any fit preset ("default", "paper");
MLP methods go through the real blob and the onnxruntime graph, never torch. "paper" is scored
as the authors ship it: the encoder's never-worse-than-clipping fallback is off for it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import gamut_onnx.evaluate.softclip as softclip
from gamut_onnx.codec import decode, encode
from gamut_onnx.colour import out_of_gamut_mask, prophoto_to_srgb8, prophoto_to_srgb_linear
from gamut_onnx.container import jpeg
from gamut_onnx.container.carrier import decode_carrier, encode_carrier
from gamut_onnx.errors import GamutError
from gamut_onnx.metrics import delta_e_2000, prophoto_to_lab, psnr, rmse
from gamut_onnx.paths import find_photos
from gamut_onnx.read import read_prophoto

BASELINES = ("clip", "soft-clip")  # methods without a fit; every other method is a fit preset
AUTHORS_RECIPE = "paper"  # reproduced as published: always keeps its model
# Ground truth without a colour tag is ProPhoto, as in the GamutMLP dataset and ../shared/data/dev.
UNTAGGED_TRUTH = "prophoto"
METRICS = (
    "psnr",
    "psnr_og",
    "rmse",
    "rmse_og",
    "de2000_og_mean",
    "de2000_og_p95",
    "psnr_src",
    "psnr_og_src",
    "psnr_ig",
    "psnr_ig_src",
    "og_fraction",
    "fit_s",
    "restore_s",
    "blob_bytes",
)


@dataclass
class EvalRow:
    image: str
    method: str
    psnr: float
    psnr_og: float
    rmse: float
    rmse_og: float
    de2000_og_mean: float
    de2000_og_p95: float
    psnr_src: float  # PSNR in the photo's own linear space (clipped to it), whole image
    psnr_og_src: float  # ... and on the OG pixels
    psnr_ig: float  # PSNR (ProPhoto) on the in-gamut pixels alone
    psnr_ig_src: float  # ... in the photo's own linear space
    og_fraction: float
    fit_s: float
    restore_s: float
    blob_bytes: int


def parse_carrier(spec: str) -> tuple[str, int]:
    """'png', 'tiff' or 'jpeg:QUALITY' -> (format, JPEG quality)."""
    fmt, _, quality = spec.partition(":")
    if fmt not in ("png", "tiff", "jpeg") or (quality and fmt != "jpeg"):
        raise GamutError(f"unknown carrier {spec!r} (png, tiff or jpeg:QUALITY)")
    if fmt == "jpeg":
        if not quality.isdigit() or not 1 <= int(quality) <= 100:
            raise GamutError(f"JPEG quality in {spec!r} must be 1..100, e.g. jpeg:90")
        return fmt, int(quality)
    return fmt, 90


def find_images(paths: Iterable[str | Path]) -> list[Path]:
    """Files as given, folders expanded to the photos in them (sorted)."""
    found = find_photos(paths)
    if not found:
        raise GamutError("no images to evaluate")
    return found


def linear_in(prophoto: np.ndarray, space) -> np.ndarray:
    """Linear ProPhoto -> linear light in `space`'s primaries, clipped, with the output graph's
    matrix (runtime/output.py); a LUT-based ICC profile has no linear space (GamutError)."""
    from gamut_onnx.colour.cms import IccProfile
    from gamut_onnx.runtime.output import icc_output, named_output

    found = icc_output(space) if isinstance(space, IccProfile) else named_output(space, True)
    if found is None:
        raise GamutError("a LUT-based ICC profile has no linear space of its own")
    return np.clip(np.asarray(prophoto, np.float32) @ found.matrix.T, 0.0, 1.0)


def source_psnrs(restored: np.ndarray, truth: np.ndarray, og: np.ndarray, space) -> dict:
    """PSNR (whole, OG) in the photo's own linear space, both images clipped to it as a
    restored file in that space is; NaN for a LUT-based ICC profile (no linear space)."""
    try:
        restored_src, truth_src = linear_in(restored, space), linear_in(truth, space)
    except GamutError:
        return {"psnr_src": float("nan"), "psnr_og_src": float("nan"), "psnr_ig_src": float("nan")}
    return {
        "psnr_src": psnr(restored_src, truth_src),
        "psnr_og_src": psnr(restored_src, truth_src, og),
        "psnr_ig_src": psnr(restored_src, truth_src, ~og),
    }


def score(restored: np.ndarray, truth: np.ndarray, og: np.ndarray, space=None) -> dict[str, float]:
    """PSNR/RMSE (whole, OG) on linear ProPhoto (the paper's metric), PSNR on the in-gamut
    pixels (what the 8-bit steps cost), CIEDE2000 (D50 CIELAB) on OG pixels, and PSNR in the
    photo's own linear space (`space`; ProPhoto if None)."""
    from gamut_onnx.colour.spaces import NAMED_SPACES

    de = delta_e_2000(prophoto_to_lab(restored[og]), prophoto_to_lab(truth[og]))
    return {
        **source_psnrs(restored, truth, og, space or NAMED_SPACES["prophoto-linear"]),
        "psnr": psnr(restored, truth),
        "psnr_og": psnr(restored, truth, og),
        "psnr_ig": psnr(restored, truth, ~og),
        "rmse": rmse(restored, truth),
        "rmse_og": rmse(restored, truth, og),
        "de2000_og_mean": float(de.mean()) if de.size else float("nan"),
        "de2000_og_p95": float(np.percentile(de, 95)) if de.size else float("nan"),
    }


def _clip_carrier(truth: np.ndarray, fmt: str, quality: int) -> bytes:
    """The plain sRGB file a user would have shared: no model."""
    srgb8 = prophoto_to_srgb8(truth)
    if fmt == "jpeg":
        return jpeg.encode_jpeg(srgb8, quality)
    return encode_carrier(fmt, srgb8, None, None)


@dataclass
class ImageResult:
    """What the pictures need for one image: truth, OG mask, what each method restored."""

    name: str
    truth: np.ndarray  # linear ProPhoto HxWx3
    og: np.ndarray  # HxW bool
    clip_srgb8: np.ndarray  # the plain clipped sRGB carrier's pixels (what a viewer shows)
    restored: dict[str, np.ndarray]  # method -> linear ProPhoto HxWx3


def check_methods(methods: list[str], carrier: str = "png") -> None:
    """Fail before any slow work: unknown methods, or soft-clip on a TIFF carrier."""
    from gamut_onnx.fit import PRESETS

    unknown = [m for m in methods if m not in BASELINES and m not in PRESETS]
    if not methods or unknown:
        names = ", ".join(unknown) or ",".join(methods)
        raise GamutError(f"unknown method {names!r}: use {', '.join((*BASELINES, *PRESETS))}")
    if "soft-clip" in methods and parse_carrier(carrier)[0] == "tiff":
        raise GamutError("soft-clip stores its parameters in PNG or JPEG carriers, not TIFF")


def _run_method(
    method: str,
    truth: np.ndarray,
    name: str,
    fmt: str,
    quality: int,
    device: str,
    provider: str,
    overrides: dict | None,
    source=None,
) -> tuple[np.ndarray, float, float, int]:
    """(restored, fit_s, restore_s, blob_bytes): reduce to carrier bytes, then restore them.
    `source`: the read.SourceImage of `truth`, whose space and sample depth the encoder records
    as `gamut-onnx encode` does."""
    if method == "soft-clip":  # timed like the MLP: the fit alone, the restore from pixels
        start = time.perf_counter()
        params = softclip.fit_params(prophoto_to_srgb_linear(truth))
        fit_s = time.perf_counter() - start
        data, blob_bytes = softclip.encode(truth, fmt, quality, params)
        pixels = decode_carrier(data, name).srgb8
        start = time.perf_counter()
        restored = softclip.restore(pixels, softclip.read_params(data))
        return restored, fit_s, time.perf_counter() - start, blob_bytes
    if method == "clip":
        data, fit_s, blob_bytes = _clip_carrier(truth, fmt, quality), 0.0, 0
    else:
        from gamut_onnx.fit import preset

        result = encode(
            truth,
            carrier=fmt,
            jpeg_quality=quality,
            config=preset(method, **(overrides or {})),
            device=device,
            provider=provider,
            fallback=method != AUTHORS_RECIPE,
            source=source.space if source is not None else None,
            source_levels=source.levels if source is not None else 0,
        )
        data, fit_s, blob_bytes = result.data, result.fit_s, result.blob_bytes
        if (result.residual_map or {}).get("chosen"):
            blob_bytes += result.residual_map["bytes"]
    restored = decode(decode_carrier(data, name), provider=provider)
    return restored.prophoto, fit_s, restored.decode_s, blob_bytes


def evaluate_image(
    path: Path,
    methods: list[str],
    carrier: str = "png",
    device: str = "auto",
    provider: str = "auto",
    progress: Callable[[str, str], None] | None = None,
    on_image: Callable[[ImageResult], None] | None = None,
    overrides: dict | None = None,
) -> list[EvalRow]:
    """One row per method for one ground-truth image; `progress(image, method)` before each
    method, `on_image` (for pictures) once with every restored image. `overrides` replace fit
    preset fields (None values ignored), e.g. fewer steps for a quick look."""
    fmt, quality = parse_carrier(carrier)
    source = read_prophoto(path, untagged=UNTAGGED_TRUTH)
    truth = source.prophoto
    og = out_of_gamut_mask(truth)
    rows, restored = [], {}
    for method in methods:
        if progress is not None:
            progress(path.name, method)
        image, fit_s, restore_s, blob_bytes = _run_method(
            method, truth, path.name, fmt, quality, device, provider, overrides, source
        )
        rows.append(
            EvalRow(
                image=path.name,
                method=method,
                og_fraction=float(og.mean()),
                fit_s=fit_s,
                restore_s=restore_s,
                blob_bytes=blob_bytes,
                **score(image, truth, og, source.space),
            )
        )
        if on_image is not None:
            restored[method] = image
    if on_image is not None:
        clip_srgb8 = decode_carrier(_clip_carrier(truth, fmt, quality), path.name).srgb8
        on_image(ImageResult(path.name, truth, og, clip_srgb8, restored))
    return rows


def evaluate(
    paths: Iterable[str | Path],
    methods: list[str],
    carrier: str = "png",
    device: str = "auto",
    provider: str = "auto",
    progress: Callable[[str, str], None] | None = None,
    on_image: Callable[[ImageResult], None] | None = None,
    overrides: dict | None = None,
) -> list[EvalRow]:
    """Rows for every image and method (see evaluate_image for the callbacks and overrides)."""
    check_methods(methods, carrier)
    rows = []
    for path in find_images(paths):
        rows += evaluate_image(
            path, methods, carrier, device, provider, progress, on_image, overrides
        )
    return rows
