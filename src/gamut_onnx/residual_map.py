"""Residual map: what the MLP leaves wrong, coded as a small AVIF image beside the blob.

On the most saturated photos the error left after the MLP is per-pixel detail (texture in a
clipped channel) that no function of the carrier and no smooth field predicts: the exact error
blurred by 1.5 px still leaves issue 14's ten photos 1.2 dB behind soft-clip
(bench/information_ceiling.py). Those bits have to travel, and an image codec is the cheapest
way to send an image: within issue 14's budget (min(48 KB, 1 % of the carrier file), beside the
blob) the map brings those photos level with soft-clip on average, without touching the sRGB
image. docs/blob-format.md section 9 is the normative text; this module writes and reads it.

The map is linear-sRGB error, 8 bits per channel around 128, times `scale / 127.5` and a weight
that grows with the carrier pixel's luminance (coding noise where CIEDE2000 sees least of it);
AVIF 4:4:4 with the identity matrix, so a decoder's output planes are the coded samples
themselves (AV1 decoding is bit-exact; no YUV conversion to disagree on). It applies where the
blob's MLP does (its gate), after the MLP; the restore then clips to [0, 1] as before.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from gamut_onnx.blob import Blob
from gamut_onnx.colour import SRGB8_TO_LINEAR, boundary_mask
from gamut_onnx.colour.protocol import PROPHOTO_TO_SRGB, apply_matrix, expansion_matrix
from gamut_onnx.errors import GamutError, library_detail

MAGIC = b"GMRM"
VERSION = 1
# magic, version, flags, reserved, height, width, scale, weight power, blob digest
_HEADER = struct.Struct("<4sBBHIIff8s")
MAX_EXTRA_BYTES = 48_000  # a map: min(48 KB, 1 % of the carrier file), beside the blob
MIN_MAP_BYTES = 1_000  # below this a map is all container overhead
QUALITIES = tuple(range(5, 100, 5))  # AVIF quality levels the encoder searches
ENCODER_SPEED = 8  # libavif: 0.4 s for a 12 MP map on 2 cores, 1.2 s at speed 6
WEIGHT_POWER = 0.5  # the encoder's: coding noise shaped like CIEDE2000's sensitivity (design.md)
WEIGHT_OFFSET = 0.01  # g = (Y + 0.01) ** power: bounded at black
LUMINANCE = np.array([0.2126, 0.7152, 0.0722])  # Y of linear sRGB (IEC 61966-2-1)


@dataclass(frozen=True)
class ResidualMap:
    height: int
    width: int
    scale: float  # linear-sRGB error of a sample 127.5 away from 128, at weight 1
    weight_power: float  # samples are error / (Y + 0.01) ** power, Y the carrier's luminance
    blob_digest: bytes  # first 8 bytes of SHA-256 of the blob it corrects
    avif: bytes


def blob_digest(blob: bytes) -> bytes:
    return hashlib.sha256(blob).digest()[:8]


def pack_map(m: ResidualMap) -> bytes:
    head = _HEADER.pack(
        MAGIC, VERSION, 0, 0, m.height, m.width, m.scale, m.weight_power, m.blob_digest
    )
    return head + m.avif


def unpack_map(data: bytes) -> ResidualMap:
    """Parse and check the header; the AVIF is checked against it before it is decoded."""
    if len(data) < _HEADER.size + 1:
        raise GamutError(f"residual map is {len(data)} bytes, too short to hold one")
    magic, version, flags, _, height, width, scale, power, digest = _HEADER.unpack_from(data)
    if magic != MAGIC:
        raise GamutError("residual map does not start with GMRM")
    if version != VERSION or flags:
        raise GamutError(f"residual map version {version} (flags {flags}) is not supported")
    if not (np.isfinite(scale) and 0 < scale <= 1):
        raise GamutError(f"residual map scale {scale} is outside (0, 1]")
    if not (np.isfinite(power) and 0 <= power <= 1):
        raise GamutError(f"residual map weight power {power} is outside [0, 1]")
    avif = bytes(data[_HEADER.size :])
    return ResidualMap(height, width, float(scale), float(power), digest, avif)


def check_map(m: ResidualMap, height: int, width: int, blob: bytes) -> None:
    """The map must be for this image and this blob, and its AVIF must say the same size."""
    from gamut_onnx.read.isobmff import is_heif_or_avif, read_heif_header

    if (m.height, m.width) != (height, width):
        raise GamutError(f"residual map is {m.width}x{m.height}, the image {width}x{height}")
    if m.blob_digest != blob_digest(blob):
        raise GamutError("residual map belongs to another model (blob digest differs)")
    if not is_heif_or_avif(m.avif):
        raise GamutError("residual map does not hold an AVIF image")
    header = read_heif_header(m.avif)
    if header.item_type != "av01" or (header.width, header.height) != (width, height):
        raise GamutError(
            f"residual map's AVIF is {header.item_type} {header.width}x{header.height}, "
            f"not av01 {width}x{height}"
        )


def map_codecs():
    """imagecodecs, whose libavif codes and decodes the map (the `codecs` and `fit` extras)."""
    try:
        import imagecodecs
    except ImportError:
        raise GamutError(
            "residual maps need a Pillow with AVIF support or imagecodecs: "
            "pip install 'gamut-onnx[codecs]'"
        ) from None
    return imagecodecs


def _pillow_avif():
    """Pillow's own libavif (in its recent wheels; 13.0 here): a decode-only install applies
    maps without imagecodecs. False where this Pillow has no AVIF."""
    from PIL import features

    return features.check("avif")


def _decode_avif(data: bytes) -> np.ndarray:
    if _pillow_avif():
        import io

        from PIL import Image

        Image.MAX_IMAGE_PIXELS = None  # the size was checked from the header (check_map)
        with Image.open(io.BytesIO(data), formats=["AVIF"]) as image:
            if image.mode != "RGB":  # a map is RGB; anything else is converted, not trusted
                image = image.convert("RGB")
            return np.asarray(image)
    return map_codecs().avif_decode(data, numthreads=2)


def map_samples(m: ResidualMap) -> np.ndarray:
    """The decoded HxWx3 uint8 samples (call check_map first: sizes come from the header).
    Pillow's libavif and imagecodecs' give the same samples (bit-exact AV1, identity matrix)."""
    try:
        samples = _decode_avif(m.avif)
    except GamutError:
        raise
    except Exception as exc:  # noqa: BLE001 (codec errors have no common base)
        detail = library_detail(exc, 160)
        raise GamutError(f"residual map's AVIF cannot be decoded ({detail})") from None
    if samples.shape != (m.height, m.width, 3) or samples.dtype != np.uint8:
        raise GamutError(f"residual map decodes to {samples.shape} {samples.dtype}")
    return samples


def pixel_weights(codes: np.ndarray, power: float) -> np.ndarray:
    """(Y + 0.01) ** power per pixel (float64), Y the linear luminance of its carrier codes:
    errors are coded relative to it, so coding noise shrinks where the eye sees more of it."""
    if power == 0:
        return np.ones(codes.shape[:-1])
    luminance = SRGB8_TO_LINEAR[codes[..., :3]].astype(np.float64) @ LUMINANCE
    return (luminance + WEIGHT_OFFSET) ** power


def correct(
    band: np.ndarray,
    samples: np.ndarray,
    gate: np.ndarray,
    m: ResidualMap,
    codes: np.ndarray,
    transform: int,
) -> None:
    """Add the map `m`'s correction (ProPhoto) where `gate` to a restored band whose carrier
    pixels are `codes`, then clip to [0, 1] (blob-format.md section 9). `transform`: the
    blob's carrier transform, whose matrix the restore used."""
    step = pixel_weights(codes[gate], m.weight_power) * (m.scale / 127.5)
    coded = ((samples[gate] - 128.0) * step[:, None]).astype(np.float32)
    fixed = band[gate] + coded @ expansion_matrix(transform).T
    band[gate] = np.clip(fixed, np.float32(0), np.float32(1))


def gate_of(srgb8: np.ndarray, blob: Blob) -> np.ndarray:
    """Where the blob's MLP runs, hence where the map applies."""
    if not blob.gated:
        return np.ones(srgb8.shape[:2], bool)
    return boundary_mask(srgb8[..., :3], blob.boundary_margin)


@dataclass(frozen=True)
class DecodedMap:
    """A checked map with its samples decoded (HxWx3 uint8), ready to apply band by band."""

    map: ResidualMap
    samples: np.ndarray


def decoded_map(data: bytes, height: int, width: int, blob: bytes) -> DecodedMap:
    """Parse, check and decode a carrier's map before the restore starts, so that a map which
    cannot be used is known (and reported) before any output is written."""
    m = unpack_map(data)
    check_map(m, height, width, blob)
    return DecodedMap(m, map_samples(m))


def corrected_bands(
    bands: Iterator[tuple[int, np.ndarray]], srgb8: np.ndarray, blob: Blob, m: DecodedMap
) -> Iterator[tuple[int, np.ndarray]]:
    """Restored row bands with the map applied."""
    for top, band in bands:
        rows = slice(top, top + band.shape[0])
        gate = gate_of(srgb8[rows], blob)
        correct(band, m.samples[rows], gate, m.map, srgb8[rows], blob.carrier_transform)
        yield top, band


def coded_samples(
    error: np.ndarray, gate: np.ndarray, codes: np.ndarray, power: float
) -> tuple[np.ndarray, float]:
    """The map's HxWx3 8-bit samples (128 outside the gate) and its scale, for the ProPhoto
    errors (truth - restore) `error` [n, 3] of the gated pixels in row-major order."""
    srgb = apply_matrix(error, PROPHOTO_TO_SRGB) / pixel_weights(codes[gate], power)[:, None]
    scale = float(np.float32(np.percentile(np.abs(srgb), 99.9))) if srgb.size else 0.0
    scale = min(max(scale, 1e-6), 1.0)
    samples = np.full((*gate.shape, 3), 128, np.uint8)
    samples[gate] = np.clip(np.rint(srgb * (127.5 / scale) + 128), 0, 255)
    return samples, scale


def avif_of(samples: np.ndarray, quality: int) -> bytes:
    """8-bit 4:4:4 AVIF with the identity matrix: the decoded planes are the samples."""
    codecs = map_codecs()
    return codecs.avif_encode(
        samples,
        level=quality,
        speed=ENCODER_SPEED,
        pixelformat=codecs.AVIF.PIXEL_FORMAT.YUV444,
        matrix=codecs.AVIF.MATRIX_COEFFICIENTS.IDENTITY,
        numthreads=2,
    )


def code_map(
    error: np.ndarray,
    gate: np.ndarray,
    quality: int,
    blob: bytes,
    codes: np.ndarray,
    power: float = WEIGHT_POWER,
) -> ResidualMap:
    """The map of the gated errors `error` [n, 3] over the carrier `codes`, at `quality`."""
    samples, scale = coded_samples(error, gate, codes, power)
    h, w = gate.shape
    return ResidualMap(h, w, scale, power, blob_digest(blob), avif_of(samples, quality))


def map_budget(file_bytes: int) -> int:
    """Bytes a map may take: min(48 KB, 1 % of the carrier file without it), on top of the
    blob (issue 14's "more model bytes on photos that gain from them")."""
    return min(MAX_EXTRA_BYTES, file_bytes // 100)


def largest_within(
    error: np.ndarray,
    gate: np.ndarray,
    blob: bytes,
    codes: np.ndarray,
    budget: int,
    power: float = WEIGHT_POWER,
) -> tuple[ResidualMap, int] | None:
    """(map, quality) at the highest AVIF quality whose packed bytes fit `budget`, or None
    when even the lowest does not. Sizes grow with quality: a bisection over QUALITIES (steps
    of 5), then over the four levels above the one found (at most 5 + 2 encodes of one set of
    samples). `error`: as for code_map."""
    samples, scale = coded_samples(error, gate, codes, power)
    best = None

    def fits(levels: list[int]) -> None:
        nonlocal best
        low, high = 0, len(levels) - 1
        while low <= high:
            mid = (low + high) // 2
            avif = avif_of(samples, levels[mid])
            if _HEADER.size + len(avif) <= budget:
                best, low = (avif, levels[mid]), mid + 1
            else:
                high = mid - 1

    fits(list(QUALITIES))
    if best is None:
        return None
    fits(list(range(best[1] + 1, min(best[1] + 5, 101))))
    h, w = gate.shape
    return ResidualMap(h, w, scale, power, blob_digest(blob), best[0]), best[1]
