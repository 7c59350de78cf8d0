"""The carrier: an ordinary 8-bit sRGB PNG, TIFF or JPEG that also holds the weight blob.

Any viewer shows the sRGB pixels; gamut-onnx finds the blob (PNG chunk gmLp, TIFF tag 65117 or
JPEG APP9 "GAMUT-ONNX" segments) and restores ProPhoto colour from it. This module is the only
place that dispatches between the formats.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
import tifffile

from gamut_onnx.blob import pixel_digest
from gamut_onnx.colour.icc import SRGB_ICC
from gamut_onnx.container import jpeg, png, tiff
from gamut_onnx.errors import GamutError, library_detail
from gamut_onnx.files import write_atomic
from gamut_onnx.limits import check_pixels

CARRIER_FORMATS = ("png", "tiff", "jpeg")
JPEG_PLAIN_QUALITY = 95  # for plain (model-less) JPEGs written through encode_carrier

# Private ancillary PNG chunk for the blob. Case bits: 'g' lowercase = ancillary (viewers may
# ignore it), 'm' lowercase = private, 'L' uppercase = reserved bit (must be), 'p' lowercase =
# safe-to-copy: editors that re-encode the pixels keep it (pngcrush drops unsafe ones), and the
# blob's pixel digest tells a reader when the pixels no longer match.
PNG_BLOB_CHUNK = b"gmLp"
MAP_IGNORED = "residual map ignored"
PNG_MAP_CHUNK = b"gmRm"  # the optional residual map (residual_map.py); safe-to-copy too
# The names written before: unsafe-to-copy ('P', 'M'). Still read, never written; a file holding
# both the old and the new name of one chunk is ambiguous and loses that payload.
LEGACY_PNG_BLOB_CHUNK = b"gmLP"
LEGACY_PNG_MAP_CHUNK = b"gmRM"
_PNG_OURS = frozenset({PNG_BLOB_CHUNK, PNG_MAP_CHUNK, LEGACY_PNG_BLOB_CHUNK, LEGACY_PNG_MAP_CHUNK})

# sRGB colorimetry chunks, as the PNG spec recommends for sRGB images (sRGB intent 0 =
# perceptual, plus gAMA/cHRM fallbacks for readers that ignore sRGB).
_SRGB_CHUNKS = [
    (b"sRGB", b"\x00"),
    (b"gAMA", struct.pack(">I", 45455)),
    (b"cHRM", struct.pack(">8I", 31270, 32900, 64000, 33000, 30000, 60000, 15000, 6000)),
]

_SUFFIXES = {".png": "png", ".tif": "tiff", ".tiff": "tiff", ".jpg": "jpeg", ".jpeg": "jpeg"}
_TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")  # classic and BigTIFF


@dataclass
class Carrier:
    """What a carrier file holds."""

    srgb8: np.ndarray  # HxWx3 uint8
    alpha: np.ndarray | None  # HxW uint8
    blob: bytes | None  # None for a plain image (or one an editor stripped)
    format: str  # "png" | "tiff"
    icc: bytes | None = None  # embedded ICC profile if any, so callers can warn when not sRGB
    digest: bytes = b""  # what the blob's pixel_digest must equal (see docs/blob-format.md)
    legacy_digest: bytes = b""  # what format-1 blobs recorded (differs for JPEG only)
    notes: tuple[str, ...] = ()  # soft problems with the metadata, for the decoder's warnings
    residual_map: bytes | None = None  # PNG and JPEG carriers may hold one beside the blob
    jpeg_data: bytes | None = field(default=None, repr=False)  # for the coefficient digest
    orientation: int = 1  # how the file shows the fitted image (set by the decoder's check)
    model_damage: str | None = None  # why the model's container is unreadable (blob is None)

    def __post_init__(self) -> None:
        if not self.digest:  # lossless carriers: SHA-256 of the decoded RGB pixels
            self.digest = pixel_digest(self.srgb8)
        self.legacy_digest = self.legacy_digest or self.digest


def carrier_format_for(path: str | os.PathLike) -> str:
    """Carrier format from the file suffix, so the user picks it by naming the output."""
    suffix = Path(path).suffix.lower()
    if suffix not in _SUFFIXES:
        raise GamutError(f"unsupported carrier extension '{suffix}': use .png, .tif or .jpg")
    return _SUFFIXES[suffix]


def _check_inputs(srgb8: np.ndarray, alpha: np.ndarray | None, blob: bytes | None) -> None:
    """Refuse anything but HxWx3 uint8 colour, matching HxW uint8 alpha and non-empty bytes."""
    if srgb8.dtype != np.uint8 or srgb8.ndim != 3 or srgb8.shape[2] != 3 or srgb8.size == 0:
        raise GamutError(f"carrier pixels must be HxWx3 uint8, not {srgb8.dtype} {srgb8.shape}")
    if alpha is not None and (alpha.dtype != np.uint8 or alpha.shape != srgb8.shape[:2]):
        raise GamutError(f"carrier alpha must be HxW uint8, not {alpha.dtype} {alpha.shape}")
    if blob is not None and (not isinstance(blob, (bytes, bytearray)) or not blob):
        raise GamutError("carrier blob must be non-empty bytes or None")


def _png_chunks(blob: bytes | None, residual_map: bytes | None = None) -> list:
    chunks = list(_SRGB_CHUNKS) + ([] if blob is None else [(PNG_BLOB_CHUNK, bytes(blob))])
    return chunks + ([] if residual_map is None else [(PNG_MAP_CHUNK, bytes(residual_map))])


def _encode_png_carrier(srgb8: np.ndarray, alpha: np.ndarray | None, blob: bytes | None) -> bytes:
    pixels = srgb8 if alpha is None else np.dstack([srgb8, alpha])
    return png.encode_png(pixels, _png_chunks(blob))


@cache
def _background() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(1, thread_name_prefix="gamut-onnx-carrier")


def start_carrier(fmt: str, srgb8: np.ndarray, alpha: np.ndarray | None) -> Callable[..., bytes]:
    """Begin a carrier whose model is not fitted yet; call the result with the blob (or None)
    and, for PNG, optionally a residual map.

    A PNG's image data does not depend on the blob, which has a chunk of its own, so it is
    compressed in a background thread while the model is fitted (0.7 s at 12 MP); TIFF and
    JPEG carriers are encoded when the blob is known."""
    _check_inputs(np.asarray(srgb8), alpha, None)
    if fmt != "png":
        return lambda blob: encode_carrier(fmt, srgb8, alpha, blob)
    pixels = srgb8 if alpha is None else np.dstack([srgb8, alpha])
    body = _background().submit(png.encode_png, pixels, [])

    def finish(blob: bytes | None, residual_map: bytes | None = None) -> bytes:
        if blob is not None:
            _check_inputs(np.asarray(srgb8), alpha, blob)
        return png.insert_chunks(body.result(), _png_chunks(blob, residual_map))

    return finish


def encode_carrier(
    fmt: str, srgb8: np.ndarray, alpha: np.ndarray | None, blob: bytes | None
) -> bytes:
    """Carrier file bytes in `fmt`; blob None writes a plain sRGB image (JPEG only that way)."""
    srgb8 = np.asarray(srgb8)
    alpha = None if alpha is None else np.asarray(alpha)
    _check_inputs(srgb8, alpha, blob)
    if fmt == "png":
        return _encode_png_carrier(srgb8, alpha, blob)
    if fmt == "tiff":
        return tiff.encode_tiff_carrier(srgb8, alpha, None if blob is None else bytes(blob))
    if fmt == "jpeg":
        if blob is not None or alpha is not None:
            raise GamutError(
                "JPEG carriers with a model come from encode (fitted after compression)"
            )
        return jpeg.add_segments(jpeg.encode_jpeg(srgb8, JPEG_PLAIN_QUALITY), SRGB_ICC, None)
    raise GamutError(f"unknown carrier format {fmt!r}: use one of {', '.join(CARRIER_FORMATS)}")


def _check_png_kind(header: png.PngHeader) -> None:
    """Only 8-bit RGB/RGBA PNGs are sRGB carriers; say what to do with the others."""
    if header.colour_type in (0, 4):
        raise GamutError("grayscale PNG is not a carrier: it has no colour to restore")
    if header.colour_type == 3:
        raise GamutError("palette PNG is not a carrier: save it as 8-bit RGB")
    if header.bit_depth == 16:
        raise GamutError("16-bit PNG is not an sRGB carrier; to encode it use `gamut-onnx encode`")
    if header.colour_type not in (2, 6) or header.bit_depth != 8:
        raise GamutError(
            f"unsupported PNG (colour type {header.colour_type}, {header.bit_depth}-bit)"
        )
    if header.width == 0 or header.height == 0:
        raise GamutError(f"PNG is empty ({header.width}x{header.height} pixels)")


@dataclass(frozen=True)
class CarrierHeader:
    """What a carrier's metadata says, read without decoding a pixel: enough to refuse a file
    whose size is over the limit or disagrees with its blob in well under a second."""

    format: str
    width: int
    height: int
    blob: bytes | None
    icc: bytes | None
    notes: tuple[str, ...] = ()  # soft problems for the decoder's warnings
    residual_map: bytes | None = None
    model_damage: str | None = None  # the model's container is unreadable (blob is None)


def _probe_png(data: bytes) -> CarrierHeader:
    header = png.read_ihdr(data)
    _check_png_kind(header)
    chunks = png.ancillary_chunks(data, tolerate=_PNG_OURS)
    blob, damage = None, None
    try:  # a damaged model chunk loses the model, not the photo (decided by the decoder)
        blob = _only_chunk(chunks, PNG_BLOB_CHUNK, LEGACY_PNG_BLOB_CHUNK)
    except GamutError as exc:
        damage = str(exc)
    icc = png.iccp_profile(chunks)
    residual_map, notes = None, ()
    try:  # a damaged map only loses the map (blob-format.md section 9)
        residual_map = _only_chunk(chunks, PNG_MAP_CHUNK, LEGACY_PNG_MAP_CHUNK)
    except GamutError as exc:
        notes = (f"{MAP_IGNORED}: {exc}",)
    size = header.width, header.height
    return CarrierHeader("png", *size, blob, icc, notes, residual_map, damage)


def _only_chunk(chunks: dict[bytes, list[bytes]], kind: bytes, legacy: bytes) -> bytes | None:
    """The payload of a chunk a carrier holds at most one of (gmLp, gmRm, or their old names
    gmLP, gmRM), or None."""
    if chunks.get(kind) and chunks.get(legacy):
        names = f"{legacy.decode()} and {kind.decode()}"
        raise GamutError(f"PNG holds both {names} chunks (old and new name); it may hold one")
    name = kind if chunks.get(kind) else legacy
    found = chunks.get(name, [])
    if len(found) > 1:
        count = f"{len(found)} {name.decode()} chunks"
        raise GamutError(f"PNG holds {count}; a carrier has at most one")
    if found and found[0] is None:
        raise GamutError(f"PNG chunk {name.decode()} has a bad CRC")
    return found[0] if found else None


def _probe_jpeg(data: bytes) -> CarrierHeader:
    width, height = jpeg.frame_size(data)
    icc, blob, residual_map, damage = jpeg.jpeg_metadata(data)
    notes = () if damage is None else (f"{MAP_IGNORED}: {damage}",)
    model_damage = jpeg.blob_damage(data) if blob is None else None
    return CarrierHeader("jpeg", width, height, blob, icc, notes, residual_map, model_damage)


def _probe_tiff(data: bytes) -> CarrierHeader:
    width, height, blob, icc, notes = tiff.probe_tiff_carrier(data)
    return CarrierHeader("tiff", width, height, blob, icc, tuple(notes))


def _pixels(data: bytes, header: CarrierHeader) -> Carrier:
    if header.format == "png":
        ihdr = png.read_ihdr(data)
        pixels = png.decode_png(data, ihdr, 4 if ihdr.colour_type == 6 else 3)
        alpha = pixels[..., 3].copy() if pixels.shape[2] == 4 else None
        srgb8 = np.ascontiguousarray(pixels[..., :3])
        return Carrier(
            srgb8,
            alpha,
            header.blob,
            "png",
            header.icc,
            notes=header.notes,
            residual_map=header.residual_map,
            model_damage=header.model_damage,
        )
    if header.format == "jpeg":
        srgb8 = jpeg.decode_jpeg(data)
        digests = jpeg.scan_digest(data), jpeg.scan_digest(data, 1)
        return Carrier(
            srgb8,
            None,
            header.blob,
            "jpeg",
            header.icc,
            *digests,
            header.notes,
            residual_map=header.residual_map,
            jpeg_data=data,
            model_damage=header.model_damage,
        )
    srgb8, alpha = tiff.decode_tiff_pixels(data)
    return Carrier(srgb8, alpha, header.blob, "tiff", header.icc, notes=header.notes)


_PROBES = {"png": _probe_png, "jpeg": _probe_jpeg, "tiff": _probe_tiff}
# What the decoding libraries raise on broken data (Pillow: OSError/SyntaxError/ValueError;
# tifffile: TiffFileError, ValueError, struct errors; codecs under it: RuntimeError subclasses,
# zlib.error). Anything else from our own code is a bug and surfaces as one.
LIBRARY_ERRORS = (
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    RuntimeError,
    struct.error,
    zlib.error,
    tifffile.TiffFileError,
    *tiff.TIFFFILE_ERRORS,
)


def sniff_carrier(data: bytes, name: str) -> str:
    """The container format from the magic bytes (the suffix may be wrong)."""
    if data.startswith(png.PNG_SIGNATURE):
        return "png"
    if data[:2] == b"\xff\xd8":
        return "jpeg"
    if data[:4] in _TIFF_MAGIC:
        return "tiff"
    raise GamutError(f"{name} is not a PNG, TIFF or JPEG carrier")


def _guarded(step, name: str):
    """Run a reading step; rephrase library failures as one line naming the file."""
    try:
        return step()
    except GamutError as exc:
        raise GamutError(f"{name}: {exc}") from exc
    except LIBRARY_ERRORS as exc:
        detail = library_detail(exc, 160)
        raise GamutError(f"cannot read {name}: file is truncated or corrupt ({detail})") from exc


def probe_carrier(data: bytes, name: str = "<bytes>") -> CarrierHeader:
    """A carrier's header and metadata (size, blob, ICC), without decoding pixels."""
    fmt = sniff_carrier(data, name)
    return _guarded(lambda: _PROBES[fmt](data), name)


def decode_carrier(
    data: bytes,
    name: str = "<bytes>",
    check: Callable[[CarrierHeader], None] | None = None,
) -> Carrier:
    """Read a carrier from bytes: header first (size limit, then `check`, e.g. the blob against
    the size), then the pixels; every failure is a one-line GamutError naming the file."""
    header = probe_carrier(data, name)
    check_pixels(header.width, header.height, name)
    if check is not None:
        check(header)
    return _guarded(lambda: _pixels(data, header), name)


def read_bytes(path: str | os.PathLike) -> bytes:
    """A file's bytes; a missing or unreadable file is a one-line GamutError."""
    path = Path(path)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise GamutError(f"{path}: no such file") from None
    except OSError as exc:
        raise GamutError(f"cannot read {path}: {exc.strerror or exc}") from None


def write_carrier(
    path: str | os.PathLike, srgb8: np.ndarray, alpha: np.ndarray | None, blob: bytes | None
) -> None:
    """Encode first, then write atomically: a failure leaves no file and no temp file."""
    data = encode_carrier(carrier_format_for(path), srgb8, alpha, blob)
    write_atomic(path, data)


def read_carrier(
    path: str | os.PathLike, check: Callable[[CarrierHeader], None] | None = None
) -> Carrier:
    """Read a PNG, TIFF or JPEG carrier; every failure is a one-line GamutError."""
    path = Path(path)
    return decode_carrier(read_bytes(path), str(path), check)
