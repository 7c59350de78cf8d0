"""Decode: a carrier's checks (blob, pixel digest, residual map) and its restore to linear
ProPhoto, band by band, on the shipped graphs.

onnxruntime only (no torch). `decode` returns the whole image for the Python API;
write/decoded.py streams the same bands into an output file.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from gamut_onnx.blob import Blob, check_image_size, unpack_blob
from gamut_onnx.colour.cms import IccProfile, read_icc
from gamut_onnx.colour.spaces import ColourSpace, named_space
from gamut_onnx.container.carrier import MAP_IGNORED, Carrier, CarrierHeader
from gamut_onnx.container.residual_map import MapSamples, decoded_map
from gamut_onnx.errors import GamutError
from gamut_onnx.optional import installed
from gamut_onnx.runtime.orientation import find_orientation, turn
from gamut_onnx.runtime.orientation import fitted_pixels as _fitted_pixels
from gamut_onnx.runtime.session import RestoreSession

NO_MODEL = "no gamut-onnx model in this file: decoding as plain sRGB (clip-and-expand)"
EDITED = "pixels changed after encoding (edited?): restore quality is not guaranteed"
WEAK_JPEG_DIGEST = (
    "this model (blob format 1) cannot tell whether the JPEG's APP0/APP14 segments were changed "
    "(they alter the decoded colours): re-encode to get the full check"
)
MAP_MISSING = "the model's residual map is missing (removed?): restored without it"
# A damaged model is not a damaged photo: without --strict the CLI writes the plain sRGB
# photo (as for a file without a model) and says why in one warning, as libultrahdr falls back
# to the SDR image when its gain map is unusable.
MODEL_IGNORED = "damaged gamut-onnx model ignored"


def model_ignored(reason: str) -> str:
    """The one warning of a fallback decode: what was wrong, and what was written instead."""
    return f"{MODEL_IGNORED} ({reason}): decoding as plain sRGB (clip-and-expand)"


@dataclass
class DecodeResult:
    prophoto: np.ndarray = field(repr=False)  # float32 HxWx3 linear ProPhoto
    alpha: np.ndarray | None = field(repr=False)
    restored: bool  # False when no usable model was found (plain clip-and-expand)
    warnings: list[str]
    provider: str
    decode_s: float
    space: ColourSpace | IccProfile | None = field(default=None, repr=False)  # the photo's own
    residual_map: bool = False  # a residual map refined the restore


def carrier_digest(carrier: Carrier, blob: Blob) -> bytes:
    """The carrier's digest as the blob's format version computes it (docs/blob-format.md)."""
    return carrier.digest if blob.format_version >= 2 else carrier.legacy_digest


def matching_orientation(carrier: Carrier, blob: Blob) -> int | None:
    """How the carrier shows the image the blob was fitted on (1: as it is), or None when its
    digest matches in no orientation (edited). The byte digest is checked first; the JPEG
    coefficients and the other orientations only when it fails (blob-format.md 4.4)."""
    plain = blob.pixel_digest == carrier_digest(carrier, blob)
    return find_orientation(carrier.srgb8, carrier.jpeg_data, blob, plain)


def jpeg_hint(carrier: Carrier, blob: Blob) -> str:
    """What a decode-only install (no jpeglib) adds to a JPEG's failed digest: it could not
    check whether the file was only transcoded or turned."""
    if carrier.format != "jpeg" or blob.jpeg_digest is None or installed("jpeglib"):
        return ""
    return " (or transcoded/turned losslessly: pip install 'gamut-onnx[jpeg]' to check)"


def check_blob(header: CarrierHeader) -> None:
    """Before the pixels are decoded: the blob must be readable, valid and fitted for this size
    (a blob claiming another size is refused here, at the cost of reading the header)."""
    if header.model_damage is not None:
        raise GamutError(header.model_damage)
    if header.blob is not None:
        check_image_size(unpack_blob(header.blob), header.height, header.width, turned=True)


def read_blob(carrier: Carrier, fallback: bool = False) -> tuple[Blob | None, list[str]]:
    """The carrier's blob checked against its pixels, plus warnings for soft problems. A model
    that cannot be used (unreadable container, invalid blob, fitted for another size in every
    orientation) is an error, or with `fallback` no model and one warning saying why."""
    try:
        if carrier.model_damage is not None:
            raise GamutError(carrier.model_damage)
        if carrier.blob is None:
            return None, [*carrier.notes, NO_MODEL]
        blob = unpack_blob(carrier.blob)
        check_image_size(blob, *carrier.srgb8.shape[:2], turned=True)
        orientation = matching_orientation(carrier, blob)
        height, width = carrier.srgb8.shape[:2]
        if orientation is None and (blob.image_height, blob.image_width) != (height, width):
            raise GamutError(
                f"model was fitted for a {blob.image_width}x{blob.image_height} image, but the "
                f"pixels are {width}x{height}: turned, but not losslessly (jpegtran without "
                f"-perfect?), or edited{jpeg_hint(carrier, blob)}"
            )
    except GamutError as exc:
        if not fallback:
            raise
        return None, [model_ignored(str(exc))]
    warnings = list(carrier.notes)
    if orientation is None:  # edited: restored as it is (it has the fitted size)
        warnings.append(EDITED + jpeg_hint(carrier, blob))
    # turned since encoding: restored as fitted (fitted_pixels), the output turned alike
    carrier.orientation = orientation or 1
    if carrier.format == "jpeg" and blob.format_version < 2:
        warnings.append(WEAK_JPEG_DIGEST)
    return blob, warnings


def fitted_pixels(carrier: Carrier) -> np.ndarray:
    """The carrier's pixels in the orientation its model was fitted in (read_blob finds it)."""
    return _fitted_pixels(carrier.srgb8, carrier.jpeg_data, carrier.orientation)


def as_given(carrier: Carrier, pixels: np.ndarray) -> np.ndarray:
    """A restore (in the fitted orientation) turned the way the carrier file shows it."""
    return pixels if carrier.orientation == 1 else turn(pixels, carrier.orientation)


def source_space(blob: Blob | None) -> ColourSpace | IccProfile:
    """The photo's own colour space as the blob records it (a plain carrier is sRGB)."""
    if blob is None:
        return named_space("srgb")
    if blob.source_icc is not None:
        return read_icc(blob.source_icc, "the blob's source profile")
    return ColourSpace(blob.source_primaries, blob.source_transfer)


def output_space(name: str, blob: Blob | None) -> ColourSpace | IccProfile:
    """`--space`: "source" (the photo's own) or a named space."""
    return source_space(blob) if name == "source" else named_space(name)


def read_map(carrier: Carrier, blob: Blob | None) -> tuple[MapSamples | None, list[str]]:
    """The carrier's residual map, checked against its pixels and blob. The map only refines
    the MLP's restore, so a map that cannot be used is a warning and the restore goes on
    without it (an error under --strict)."""
    if carrier.residual_map is None:
        damaged = any(note.startswith(MAP_IGNORED) for note in carrier.notes)
        if blob is not None and blob.residual_map_digest is not None and not damaged:
            return None, [MAP_MISSING]
        return None, []
    if blob is None:
        return None, [f"{MAP_IGNORED}: the file has no model for it to correct"]
    try:
        h, w = blob.image_height, blob.image_width  # the fitted size (maps are fitted too)
        recorded = blob.residual_map_digest
        return decoded_map(carrier.residual_map, h, w, carrier.blob, recorded), []
    except GamutError as exc:
        return None, [f"{MAP_IGNORED}: {exc}"]


def checked(
    carrier: Carrier, strict: bool, fallback: bool = False
) -> tuple[Blob | None, MapSamples | None, list]:
    """Blob, residual map and warnings of a carrier; --strict turns a warning into an error;
    `fallback` (never with strict) decodes a carrier whose model is damaged as plain sRGB."""
    from gamut_onnx.runtime.backend import conflict_message, installed_builds

    blob, warnings = read_blob(carrier, fallback and not strict)
    residual_map = None
    if not (warnings and warnings[0].startswith(MODEL_IGNORED)):  # one line says it all
        residual_map, map_warnings = read_map(carrier, blob)
        warnings += map_warnings
    conflict = conflict_message(installed_builds())
    if conflict:  # restores on the CPU provider still work; say how to repair the install
        warnings.append(conflict)
    if strict and warnings:
        raise GamutError(f"refusing to decode under --strict: {warnings[0]}")
    return blob, residual_map, warnings


def ahead(items: Iterator, depth: int = 1) -> Iterator:
    """`items`, produced in a background thread up to `depth` ahead of the consumer: the next
    band is restored while this one is encoded and written (both release the GIL)."""
    import queue
    import threading

    done = object()
    buffer: queue.Queue = queue.Queue(depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        buffer.put((item, None), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            buffer.put((done, None))
        except BaseException as exc:  # noqa: BLE001 (re-raised in the consumer)
            buffer.put((done, exc))

    thread = threading.Thread(target=produce, daemon=True)
    thread.start()
    try:
        while True:
            item, error = buffer.get()
            if error is not None:
                raise error
            if item is done:
                return
            yield item
    finally:
        stop.set()


def decode(
    carrier: Carrier,
    *,
    provider: str = "auto",
    strict: bool = False,
    tile: int | None = None,
    fallback: bool = False,
) -> DecodeResult:
    """Restore linear ProPhoto from a carrier; strict turns warnings into errors; `fallback`
    expands a carrier whose model is damaged as plain sRGB, with a warning, instead of failing."""
    start = time.perf_counter()
    blob, residual_map, warnings = checked(carrier, strict, fallback)
    session = RestoreSession(provider, tile=tile or 0)
    prophoto = session.restore(fitted_pixels(carrier), blob, residual_map=residual_map)
    return DecodeResult(
        prophoto=as_given(carrier, prophoto),
        alpha=carrier.alpha,
        restored=blob is not None,
        warnings=warnings,
        provider=session.provider,
        decode_s=time.perf_counter() - start,
        space=source_space(blob),
        residual_map=residual_map is not None,
    )
