"""Encode and decode: the symmetric API behind the CLI.

encode: linear ProPhoto -> 8-bit sRGB carrier pixels + weight blob (needs torch, for the fit)
decode: carrier pixels + blob -> linear ProPhoto (onnxruntime only)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np

from gamut_onnx.blob import Blob, pixel_digest, unpack_blob
from gamut_onnx.carrier import Carrier
from gamut_onnx.colour import boundary_mask, out_of_gamut_mask, prophoto_to_srgb8
from gamut_onnx.errors import GamutError
from gamut_onnx.features import mlp_inputs
from gamut_onnx.metrics import psnr

GATE_CHOICES = ("auto", "on", "off")


@dataclass
class EncodeResult:
    """Carrier pixels, blob and what the encoder measured on the way."""

    srgb8: np.ndarray = field(repr=False)
    alpha: np.ndarray | None = field(repr=False)
    blob: bytes = field(repr=False)
    fit_s: float
    encode_s: float
    device: str
    og_fraction: float
    gated: bool
    blob_bytes: int
    samples: int
    psnr_clip: float
    psnr: float
    psnr_og_clip: float
    psnr_og: float

    def report(self) -> dict:
        skip = {"srgb8", "alpha", "blob"}
        return {k: v for k, v in asdict(self).items() if k not in skip}


@dataclass
class DecodeResult:
    prophoto: np.ndarray = field(repr=False)  # float32 HxWx3 linear ProPhoto
    alpha: np.ndarray | None = field(repr=False)
    restored: bool  # False when no usable model was found (plain clip-and-expand)
    warnings: list[str]
    provider: str
    decode_s: float


def alpha_to_8bit(alpha: np.ndarray | None) -> np.ndarray | None:
    """Float alpha in [0, 1] -> uint8 (the carrier's precision)."""
    return None if alpha is None else np.rint(np.clip(alpha, 0, 1) * 255).astype(np.uint8)


def _score(restored: np.ndarray, truth: np.ndarray, og: np.ndarray) -> tuple[float, float]:
    return psnr(restored, truth), psnr(restored, truth, og)


def encode(
    prophoto: np.ndarray,
    alpha: np.ndarray | None = None,
    *,
    config=None,
    weight_dtype: str = "float16",
    gate: str = "auto",
    device: str = "auto",
    provider: str = "auto",
    progress: Callable[[int, float], None] | None = None,
) -> EncodeResult:
    """Reduce linear ProPhoto (HxWx3 float) to sRGB and fit the restoring MLP.

    The encoder knows the ground truth, so it restores its own blob through the real
    onnxruntime graph and, with gate="auto", keeps whichever of "MLP everywhere" and
    "MLP at boundary pixels only" scores the higher PSNR.
    """
    from gamut_onnx.exporters.weights import blob_from_model
    from gamut_onnx.fit import PRESETS, fit
    from gamut_onnx.runtime import RestoreSession

    if gate not in GATE_CHOICES:
        raise GamutError(f"unknown gate mode {gate!r} (choose auto, on or off)")
    start = time.perf_counter()
    config = config or PRESETS["default"]
    prophoto = np.asarray(prophoto, np.float32)
    srgb8 = prophoto_to_srgb8(prophoto)
    og = out_of_gamut_mask(prophoto)
    inputs, clipped = mlp_inputs(srgb8)
    result = fit(inputs, prophoto - clipped, og, config, device=device, progress=progress)

    ungated = unpack_blob(
        blob_from_model(result.model, config.octaves, srgb8, weight_dtype=weight_dtype, gated=False)
    )
    restored = RestoreSession(provider).restore(srgb8, ungated)
    gated_restore = np.where(boundary_mask(srgb8)[..., None], restored, clipped)
    scores = {False: _score(restored, prophoto, og), True: _score(gated_restore, prophoto, og)}
    use_gate = {"on": True, "off": False}.get(gate, scores[True][0] >= scores[False][0])
    blob = blob_from_model(
        result.model, config.octaves, srgb8, weight_dtype=weight_dtype, gated=use_gate
    )
    clip_scores = _score(clipped, prophoto, og)
    return EncodeResult(
        srgb8=srgb8,
        alpha=alpha_to_8bit(alpha),
        blob=blob,
        fit_s=result.seconds,
        encode_s=time.perf_counter() - start,
        device=result.device,
        og_fraction=float(og.mean()),
        gated=use_gate,
        blob_bytes=len(blob),
        samples=result.samples,
        psnr_clip=clip_scores[0],
        psnr=scores[use_gate][0],
        psnr_og_clip=clip_scores[1],
        psnr_og=scores[use_gate][1],
    )


def read_blob(carrier: Carrier) -> tuple[Blob | None, list[str]]:
    """The carrier's blob checked against its pixels, plus warnings for soft problems."""
    if carrier.blob is None:
        return None, ["no gamut-onnx model in this file: it decodes as plain sRGB (clip-expand)"]
    blob = unpack_blob(carrier.blob)
    h, w = carrier.srgb8.shape[:2]
    if (blob.image_height, blob.image_width) != (h, w):
        raise GamutError(
            f"model was fitted for a {blob.image_width}x{blob.image_height} image, "
            f"but the pixels are {w}x{h} (resized after encoding?)"
        )
    warnings = []
    if blob.pixel_digest != pixel_digest(carrier.srgb8):
        warnings.append(
            "pixels changed after encoding (edited?): restore quality is not guaranteed"
        )
    return blob, warnings


def decode(
    carrier: Carrier, *, provider: str = "auto", strict: bool = False, tile: int | None = None
) -> DecodeResult:
    """Restore linear ProPhoto from a carrier; strict turns warnings into errors."""
    from gamut_onnx.colour import srgb8_to_prophoto
    from gamut_onnx.runtime import RestoreSession
    from gamut_onnx.runtime.session import DEFAULT_TILE

    start = time.perf_counter()
    blob, warnings = read_blob(carrier)
    if strict and warnings:
        raise GamutError(f"refusing to decode under --strict: {warnings[0]}")
    if blob is None:
        prophoto, used = srgb8_to_prophoto(carrier.srgb8), "none"
    else:
        session = RestoreSession(provider, tile=tile or DEFAULT_TILE)
        prophoto, used = session.restore(carrier.srgb8, blob), session.provider
    return DecodeResult(
        prophoto=prophoto,
        alpha=carrier.alpha,
        restored=blob is not None,
        warnings=warnings,
        provider=used,
        decode_s=time.perf_counter() - start,
    )
