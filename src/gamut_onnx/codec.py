"""Encode and decode: the symmetric API behind the CLI.

encode: linear ProPhoto -> 8-bit sRGB carrier pixels + weight blob (needs torch, for the fit)
decode: carrier pixels + blob -> linear ProPhoto (onnxruntime only; gamut_onnx/runtime/decode.py)
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields

import numpy as np

from gamut_onnx.blob import pixel_digest, unpack_blob
from gamut_onnx.colour import boundary_mask
from gamut_onnx.colour.protocol import reduce_to_srgb8
from gamut_onnx.container.carrier import CARRIER_FORMATS, start_carrier
from gamut_onnx.errors import GamutError
from gamut_onnx.heap import trim_heap
from gamut_onnx.metrics import psnr_of_error
from gamut_onnx.scoring import (
    GatedError,
    banded_squared_error,
    candidate_modes,
    clip_error,
    mode_error,
    restore_and_error,
    score_modes,
)

GATE_CHOICES = ("auto", "on", "off")


@dataclass
class EncodeResult:
    """Carrier pixels, blob and what the encoder measured on the way."""

    srgb8: np.ndarray = field(repr=False)  # the pixels a decoder sees (after JPEG, for JPEG)
    alpha: np.ndarray | None = field(repr=False)
    blob: bytes = field(repr=False)
    data: bytes = field(repr=False)  # the complete carrier file
    carrier: str
    model: str  # "gated" (MLP at boundary pixels), "everywhere", or "none" (clip was better)
    fit_s: float
    encode_s: float
    device: str
    init: str  # what the fit started from: "meta", "random", or "none" (no fit)
    og_fraction: float
    gated: bool
    boundary_margin: int
    blob_bytes: int
    file_bytes: int
    samples: int
    psnr_clip: float
    psnr: float
    psnr_og_clip: float
    psnr_og: float
    context: bool = False  # the model sees the carrier around each pixel (input layout 2)
    context_race: dict | None = None  # why (fit/race.py): pool losses with and without
    residual_map: dict | None = None  # when the recipe asks: bytes, quality, scores, or why not
    lattice: dict | None = None  # when the recipe asks: the lattice, mode, scores, or why not

    def rewritten(self, prep, blob: bytes, packed_map: bytes | None = None, **changes):
        """This result with another blob (and packed residual map) in a new carrier file."""
        data = prep.carrier_data(blob, packed_map)
        return dataclasses.replace(
            self,
            blob=blob,
            blob_bytes=len(blob),
            data=data,
            file_bytes=len(data),
            encode_s=time.perf_counter() - prep.start,
            **changes,
        )

    def report(self) -> dict:
        skip = {"srgb8", "alpha", "blob", "data"}  # arrays and bytes: not report material
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in skip}


def source_fields(space) -> dict:
    """The Blob fields that record the photo's own colour space (a named space or ICC)."""
    from gamut_onnx.colour.cms import IccProfile

    if space is None:
        return {}
    if isinstance(space, IccProfile):
        return {"source_primaries": "icc", "source_transfer": "icc", "source_icc": space.data}
    return {"source_primaries": space.primaries, "source_transfer": space.transfer}


def alpha_to_8bit(alpha: np.ndarray | None) -> np.ndarray | None:
    """Float alpha in [0, 1] -> uint8 (the carrier's precision)."""
    return None if alpha is None else np.rint(np.clip(alpha, 0, 1) * 255).astype(np.uint8)


# Gated candidates the encoder scores. Lossless carriers clip to exactly 0/255, so margin 0
# selects exactly the clipped pixels; JPEG noise moves them, so JPEG tries wider margins and
# trains on pixels within TRAIN_MARGINS of the edges (plus every OG pixel).
BOUNDARY_MARGINS = {"png": (0,), "tiff": (0,), "jpeg": (0, 1, 2, 4, 8, 16, 32)}
TRAIN_MARGINS = {"png": 0, "tiff": 0, "jpeg": 8}


def reduce_to_carrier(
    srgb8: np.ndarray, carrier: str, jpeg_quality: int
) -> tuple[np.ndarray, bytes | None, bytes, bytes | None]:
    """(pixels a decoder will see, bare JPEG bytes or None, digest the blob must record, and
    for JPEG the coefficient digest it records too)."""
    if carrier != "jpeg":
        return srgb8, None, pixel_digest(srgb8), None
    from gamut_onnx.container import jpeg
    from gamut_onnx.container.jpeg_coefficients import coefficient_digest
    from gamut_onnx.optional import installed

    bare = jpeg.encode_jpeg(srgb8, jpeg_quality)
    # Without jpeglib (not in the [fit] extra's install) the blob keeps the byte digest alone.
    coefficients = coefficient_digest(bare) if installed("jpeglib") else None
    return jpeg.decode_jpeg(bare), bare, jpeg.scan_digest(bare), coefficients


@dataclass
class Prepared:
    """Everything encode knows before the fit: the carrier pixels, the truth and the plan.
    A batch can prepare many photos on CPU workers and fit them together on a GPU."""

    prophoto: np.ndarray = field(repr=False)  # linear ProPhoto float32 (the truth)
    alpha8: np.ndarray | None = field(repr=False)
    srgb8: np.ndarray = field(repr=False)  # the standard sRGB rendition
    seen: np.ndarray = field(repr=False)  # what a decoder sees (after JPEG, for JPEG)
    fit_pixels: np.ndarray = field(repr=False)  # what the fit trains on (seen, or srgb8)
    og: np.ndarray = field(repr=False)
    bare_jpeg: bytes | None = field(repr=False)
    carrier_with: Callable[[bytes | None], bytes] | None = field(repr=False)  # PNG/TIFF
    digest: bytes
    jpeg_digest: bytes | None  # JPEG: the coefficient digest (blob-format.md section 4.3)
    carrier: str
    config: object
    weight_dtype: str
    candidates: list
    widest: int | None
    source: object
    start: float
    lattice: object = None  # colour.lattice.Lattice the source's colours sit on, if the recipe asks

    def carrier_data(self, blob: bytes | None, residual_map: bytes | None = None) -> bytes:
        """The carrier file with this blob (and packed residual map)."""
        if self.bare_jpeg is None:
            return (
                self.carrier_with(blob, residual_map) if residual_map else self.carrier_with(blob)
            )
        from gamut_onnx.colour.icc import SRGB_ICC
        from gamut_onnx.container import jpeg

        return jpeg.add_segments(self.bare_jpeg, SRGB_ICC, blob, residual_map)

    @property
    def needs_fit(self) -> bool:
        """False when no pixel can have been clipped: the carrier goes out without a model."""
        if self.widest is None:
            return True
        return bool(boundary_mask(self.seen, self.widest).any())

    @property
    def train_margin(self) -> int:
        return TRAIN_MARGINS[self.carrier]

    def context_grids(self, provider: str = "cpu"):
        """The carrier's context grids, computed once for the fit and the scoring restore when
        the recipe uses context and the fit sees the carrier's own pixels; else None."""
        if not self.config.context or self.fit_pixels is not self.seen:
            return None
        from gamut_onnx.runtime import RestoreSession

        return RestoreSession(provider).grids(self.seen)


def prepare(
    prophoto: np.ndarray,
    alpha: np.ndarray | None = None,
    *,
    carrier: str = "png",
    jpeg_quality: int = 90,
    closed_loop: bool = True,
    config=None,
    weight_dtype: str | None = None,
    gate: str | None = None,
    source=None,
    source_levels: int = 0,
) -> Prepared:
    """The reduction and the plan of `encode`, without the fit (no torch needed).
    `source_levels`: codes per channel of the source's samples (256 for 8-bit; 0 for floats)."""
    from gamut_onnx.fit.config import PRESETS, check_config

    config = config or PRESETS["default"]
    gate = gate or config.gate
    if gate not in GATE_CHOICES:
        raise GamutError(f"unknown gate mode {gate!r} (choose auto, on or off)")
    if carrier not in CARRIER_FORMATS:
        raise GamutError(f"unknown carrier {carrier!r} (choose {', '.join(CARRIER_FORMATS)})")
    if carrier == "jpeg" and alpha is not None:
        raise GamutError("JPEG cannot hold an alpha channel: write a .png or .tif carrier")
    check_config(config)
    start = time.perf_counter()
    prophoto = np.asarray(prophoto, np.float32)
    srgb8, og = reduce_to_srgb8(prophoto)  # one pass for the carrier and the OG mask
    seen, bare_jpeg, digest, jpeg_digest = reduce_to_carrier(srgb8, carrier, jpeg_quality)
    candidates = candidate_modes(gate, BOUNDARY_MARGINS[carrier])
    alpha8 = alpha_to_8bit(alpha)
    return Prepared(
        prophoto=prophoto,
        alpha8=alpha8,
        srgb8=srgb8,
        seen=seen,
        fit_pixels=seen if closed_loop else srgb8,
        og=og,
        bare_jpeg=bare_jpeg,
        carrier_with=None if bare_jpeg is not None else start_carrier(carrier, srgb8, alpha8),
        digest=digest,
        jpeg_digest=jpeg_digest,
        carrier=carrier,
        config=config,
        weight_dtype=weight_dtype or config.weight_dtype,
        candidates=candidates,
        widest=max(m for _, m in candidates) if all(g for g, _ in candidates) else None,
        source=source,
        start=start,
        lattice=_lattice(config, prophoto, source, source_levels),
    )


def _lattice(config, prophoto: np.ndarray, source, levels: int):
    if not config.lattice:
        return None
    from gamut_onnx.exporters.lattice import source_lattice

    return source_lattice(prophoto, source, levels)


def finish(prep: Prepared, result, *, provider: str = "auto", fallback: bool = True, grids=None):
    """Score the fitted model through the real graph, keep the best mode (or none) and write
    the carrier: the second half of `encode`. `result` is a FitResult, or None (no fit);
    `grids` the context grids of `prep.seen` if the caller computed them."""
    trim_heap()  # what the fit freed, before the scoring restore
    # The scoring's other per-pixel errors are gone by now (2 x 8 bytes a pixel at its peak).
    encoded, error, kept = _scored(prep, result, provider, fallback, grids)
    if not (prep.config.lattice or prep.config.residual_map):
        return encoded
    # The map changes the gated pixels' errors alone: the rest become two sums.
    errors = None if kept is None else GatedError.of(error, kept.gate, prep.og)
    del error
    trim_heap()  # and what the scoring freed, before the map's AVIF encodes
    if prep.config.lattice:
        from gamut_onnx.exporters.lattice import with_map_and_lattice

        return with_map_and_lattice(prep, encoded, kept, errors, provider)
    from gamut_onnx.exporters.residual_map import with_residual_map

    return with_residual_map(prep, encoded, provider, restored=kept, errors=errors)[0]


def _scored(prep: Prepared, result, provider: str, fallback: bool, grids):
    """(EncodeResult without a map, its per-pixel squared error, the restore (a GatedRestore)
    when the map can reuse it): the scoring restore and the choice of mode."""
    from gamut_onnx.exporters.residual_map import gate_of
    from gamut_onnx.exporters.weights import blob_from_model
    from gamut_onnx.runtime import RestoreSession

    prophoto, seen, og = prep.prophoto, prep.seen, prep.og
    blob, mode, kept = None, (False, 0), None
    if result is None:
        clipped = clip_error(seen, prophoto)
        error, psnr_clip = clipped, psnr_of_error(clipped)
    else:

        def make_blob(gated: bool, margin: int) -> bytes:
            return blob_from_model(
                result.model,
                prep.config.octaves,
                image_size=seen.shape[:2],
                digest=prep.digest,
                jpeg_digest=prep.jpeg_digest,
                weight_dtype=prep.weight_dtype,
                gated=gated,
                boundary_margin=margin,
                source=source_fields(prep.source),
                context=result.context,
            )

        # One restore through the real graph covers every candidate (see score_modes).
        probe_mode = (prep.widest is not None, prep.widest or 0)
        probe = unpack_blob(make_blob(*probe_mode))
        bands = RestoreSession(provider).bands(seen, probe, grids=grids)
        gate = gate_of(seen, probe)
        if prep.config.residual_map or prep.config.lattice:  # they reuse the restore
            mlp_error, kept = restore_and_error(bands, prophoto, gate, probe)
        else:
            mlp_error = banded_squared_error(bands, prophoto)
        clipped = clip_error(seen, prophoto, mlp_error, gate if probe.gated else None)
        error, psnr_clip = clipped, psnr_of_error(clipped)
        scores = score_modes(mlp_error, clipped, seen, prep.candidates, probe_mode)
        best = max(scores, key=scores.get)
        if scores[best] > psnr_clip or not fallback:  # never worse than clipping
            mode, blob = best, make_blob(*best)
            error = mode_error(mlp_error, clipped, seen, best, probe_mode)
        if best != probe_mode:
            kept = None
    data = prep.carrier_data(blob)
    encoded = EncodeResult(
        srgb8=seen,
        alpha=prep.alpha8,
        blob=blob or b"",
        data=data,
        carrier=prep.carrier,
        model="none" if blob is None else ("gated" if mode[0] else "everywhere"),
        fit_s=result.seconds if result else 0.0,
        encode_s=time.perf_counter() - prep.start,
        device=result.device if result else "none",
        init=result.init if result else "none",
        og_fraction=float(og.mean()),
        gated=bool(blob is not None and mode[0]),
        boundary_margin=mode[1],
        blob_bytes=len(blob or b""),
        file_bytes=len(data),
        samples=result.samples if result else 0,
        psnr_clip=psnr_clip,
        psnr=psnr_of_error(error),
        psnr_og_clip=psnr_of_error(clipped, og),
        psnr_og=psnr_of_error(error, og),
        context=bool(blob is not None and result.context),
        context_race=result.race if result else None,
    )
    return encoded, error, kept


def encode(
    prophoto: np.ndarray,
    alpha: np.ndarray | None = None,
    *,
    carrier: str = "png",
    jpeg_quality: int = 90,
    closed_loop: bool = True,
    config=None,
    weight_dtype: str | None = None,
    gate: str | None = None,
    device: str = "auto",
    provider: str = "auto",
    fallback: bool = True,
    progress: Callable[[int, float], None] | None = None,
    source=None,
    source_levels: int = 0,
) -> EncodeResult:
    """Reduce linear ProPhoto (HxWx3 float) to an sRGB carrier and fit the restoring MLP.

    For JPEG carriers the fit is closed-loop by default: the MLP learns from the pixels a
    decoder will see after compression. The encoder knows the ground truth, so it restores its
    own blob through the real onnxruntime graph and keeps the best mode `gate` allows ("on":
    MLP at boundary pixels, for several margins on JPEG; "off": MLP everywhere; "auto": both).
    If no mode beats plain clipping on the whole image, the carrier gets no model at all
    (`fallback=False` keeps the best model regardless, e.g. for test vectors).
    `weight_dtype` and `gate` default to the recipe's (`config`). `source` is the photo's own
    colour space (a ColourSpace or IccProfile, from the reader), recorded so that decode can
    restore into it; None records ProPhoto. With `config.residual_map` (the presets but
    plain and paper) the carrier also gets what the MLP leaves wrong as a small AVIF beside
    the blob where it pays (PNG and JPEG carriers; residual_map.py).
    """
    from gamut_onnx.fit import fit

    prep = prepare(
        prophoto,
        alpha,
        carrier=carrier,
        jpeg_quality=jpeg_quality,
        closed_loop=closed_loop,
        config=config,
        weight_dtype=weight_dtype,
        gate=gate,
        source=source,
        source_levels=source_levels,
    )
    result, grids = None, None
    if prep.needs_fit:
        grids = prep.context_grids(provider)
        result = fit(
            prep.fit_pixels,
            prep.prophoto,
            prep.og,
            prep.config,
            boundary_margin=prep.train_margin,
            device=device,
            progress=progress,
            grids=grids,
        )
    return finish(prep, result, provider=provider, fallback=fallback, grids=grids)


# decode lives in the runtime (no torch there); re-exported so the API reads symmetrically.
from gamut_onnx.runtime.decode import DecodeResult, decode, read_blob  # noqa: E402

__all__ = ["DecodeResult", "EncodeResult", "decode", "encode", "read_blob"]
