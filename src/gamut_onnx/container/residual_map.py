"""Residual map: what the MLP leaves wrong, coded as a small AVIF image beside the blob. This
module is its format: the payload's header and checks, and the AVIF's samples; the restore
graph applies them (exporters/map_graph.py) and exporters/residual_map.py writes maps.

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
import importlib.util
import io
import struct
from dataclasses import dataclass

import numpy as np

from gamut_onnx.errors import GamutError, library_detail

MAGIC = b"GMRM"
VERSION = 1
# magic, version, flags, reserved, height, width, scale, weight power, blob digest
_HEADER = struct.Struct("<4sBBHIIff8s")
HEADER_BYTES = _HEADER.size


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


BLOB_DIGEST_FIELD = slice(24, 32)


def map_digest(payload: bytes) -> bytes:
    """SHA-256 of a packed map with its blob-digest field zeroed: what the blob records (record
    129), so the map and the blob can each name the other."""
    data = bytearray(payload)
    data[BLOB_DIGEST_FIELD] = bytes(8)
    return hashlib.sha256(data).digest()


def pack_map(m: ResidualMap) -> bytes:
    head = _HEADER.pack(
        MAGIC, VERSION, 0, 0, m.height, m.width, m.scale, m.weight_power, m.blob_digest
    )
    return head + m.avif


def unpack_map(data: bytes) -> ResidualMap:
    """Parse and check the header; the AVIF is checked against it before it is decoded."""
    if len(data) < _HEADER.size + 1:
        raise GamutError(f"residual map is {len(data)} bytes, too short to hold one")
    magic, version, flags, reserved, height, width, scale, power, digest = _HEADER.unpack_from(data)
    if magic != MAGIC:
        raise GamutError("residual map does not start with GMRM")
    if version != VERSION or flags or reserved:
        raise GamutError(
            f"residual map version {version} (flags {flags}, reserved {reserved}) is not supported"
        )
    if not (np.isfinite(scale) and 0 < scale <= 1):
        raise GamutError(f"residual map scale {scale} is outside (0, 1]")
    if not (np.isfinite(power) and 0 <= power <= 1):
        raise GamutError(f"residual map weight power {power} is outside [0, 1]")
    avif = bytes(data[_HEADER.size :])
    return ResidualMap(height, width, float(scale), float(power), digest, avif)


def check_map(
    m: ResidualMap,
    height: int,
    width: int,
    blob: bytes,
    payload: bytes | None = None,
    recorded: bytes | None = None,
) -> None:
    """The map must be for this image and this blob, unchanged since the blob recorded its
    digest (`recorded`, from a blob that has one; `payload` the packed map), and its AVIF
    within section 9's profile (container/map_avif.py)."""
    from gamut_onnx.container.map_avif import check_map_avif

    if recorded is not None and (payload is None or map_digest(payload) != recorded):
        raise GamutError("residual map was changed after encoding (its digest differs)")
    if (m.height, m.width) != (height, width):
        raise GamutError(f"residual map is {m.width}x{m.height}, the image {width}x{height}")
    if m.blob_digest != blob_digest(blob):
        raise GamutError("residual map belongs to another model (blob digest differs)")
    check_map_avif(m.avif, width, height)


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
    """The AVIF's HxWx3 uint8 samples: imagecodecs' libavif where installed (its result is
    the only copy: 36 MB at 12 MP), else Pillow's, copied out band by band (Pillow holds 4 bytes
    a pixel and the decoder's frame beside them)."""
    if importlib.util.find_spec("imagecodecs") is not None or not _pillow_avif():
        return map_codecs().avif_decode(data, numthreads=2)
    from PIL import Image

    from gamut_onnx.container.png import pixels_of

    Image.MAX_IMAGE_PIXELS = None  # the size was checked from the header (check_map)
    with Image.open(io.BytesIO(data), formats=["AVIF"]) as image:
        if image.mode != "RGB":  # a map is RGB; anything else is converted, not trusted
            image = image.convert("RGB")
        return pixels_of(image)


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


@dataclass(frozen=True)
class MapSamples:
    """A checked map with its samples decoded, as the restore graph takes them."""

    map: ResidualMap
    samples: np.ndarray  # HxWx3 uint8

    @property
    def params(self) -> tuple[float, float]:
        """The graph's `map_params`: (scale, weight power)."""
        return (self.map.scale, self.map.weight_power)


def decoded_map(
    data: bytes, height: int, width: int, blob: bytes, recorded: bytes | None = None
) -> MapSamples:
    """Parse, check and decode a carrier's map before the restore starts, so that a map which
    cannot be used is known (and reported) before any output is written. `recorded`: the map
    digest the blob holds, if any."""
    m = unpack_map(data)
    check_map(m, height, width, blob, data, recorded)
    return MapSamples(m, map_samples(m))
