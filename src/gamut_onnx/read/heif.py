"""HEIC/HEIF photos through pillow-heif (libheif), and AVIF through imagecodecs (libavif).

Both are ISO-BMFF files: their size and colour description (an ICC `colr` box or nclx codes)
are read from the boxes before any pixel is decoded (read/isobmff.py). Phones store 8 or 10-bit
samples; the orientation boxes (irot/imir) are applied, as every viewer does.
"""

from __future__ import annotations

import numpy as np

from gamut_onnx.colour.spaces import space_from_cicp
from gamut_onnx.errors import GamutError
from gamut_onnx.limits import check_pixels
from gamut_onnx.optional import require
from gamut_onnx.read.heif_items import check_av1_size
from gamut_onnx.read.isobmff import HeifHeader, read_heif_header
from gamut_onnx.read.source import Decoded, SourceSpace, icc_space
from gamut_onnx.read.tiff import corrupt

AVIF_BRANDS = ("avif", "avis")


def header_space(header: HeifHeader, name: str) -> SourceSpace | None:
    """ICC profile first (it is the more precise description), else nclx, else untagged."""
    if header.icc:
        return icc_space(header.icc, name)
    if header.nclx is not None:
        primaries, transfer, _, _ = header.nclx
        if primaries == 2 and transfer == 2:  # both "unspecified": says nothing
            return None
        return space_from_cicp(primaries, transfer, name)
    return None


def is_avif(header: HeifHeader) -> bool:
    return header.brand in AVIF_BRANDS or (
        header.item_type == "av01" and not {"heic", "heix"} & set(header.compatible)
    )


def _unpremultiply(samples: np.ndarray, alpha: np.ndarray, levels: int) -> np.ndarray:
    scale = np.where(alpha > 0, (levels - 1) / np.maximum(alpha, 1), 0.0)[..., None]
    return np.clip(np.rint(samples * scale), 0, levels - 1).astype(samples.dtype)


def read_heic(data: bytes, name: str, header: HeifHeader) -> Decoded:
    pillow_heif = require("pillow_heif", "HEIC/HEIF photos")
    try:
        heif = pillow_heif.open_heif(data, convert_hdr_to_8bit=False)
        mode, bits = heif.mode, int(heif.info.get("bit_depth", 8))
        if not mode.startswith("RGB"):
            raise GamutError(f"{name}: HEIF image is {mode}; expected an RGB photo")
        samples = np.asarray(heif)
        premultiplied = bool(getattr(heif, "premultiplied_alpha", False))
    except GamutError:
        raise
    except (OSError, ValueError, RuntimeError, SyntaxError, EOFError, IndexError) as exc:
        raise corrupt(name, exc) from None
    levels = 256
    if samples.dtype == np.uint16:  # pillow-heif shifts 10/12-bit samples to the top bits
        samples = samples >> (16 - bits)
        levels = 1 << bits
    alpha = samples[..., 3] if samples.shape[-1] == 4 else None
    colour = samples[..., :3]
    if alpha is not None and premultiplied:
        colour = _unpremultiply(colour, alpha, levels)
    return Decoded(colour, levels, alpha, header_space(header, name), f"{bits}-bit HEIC")


def _oriented(samples: np.ndarray, header: HeifHeader) -> np.ndarray:
    """Apply the centred clean aperture (clap), irot (counter-clockwise quarter turns) and
    imir, in the order HEIF readers display them (libavif decodes the full coded image)."""
    if header.crop is not None:
        width, height = header.crop
        top, left = (samples.shape[0] - height) // 2, (samples.shape[1] - width) // 2
        samples = samples[top : top + height, left : left + width]
    if header.rotation:
        samples = np.rot90(samples, header.rotation // 90)
    if header.mirror is not None:  # HEIF (2022): axis 0 swaps top and bottom, 1 left and right
        samples = samples[::-1] if header.mirror == 0 else samples[:, ::-1]
    return np.ascontiguousarray(samples)


def read_avif(data: bytes, name: str, header: HeifHeader) -> Decoded:
    codecs = require("imagecodecs", "AVIF")
    if header.item_type == "av01":  # a grid's tiles are sized by libavif's own checks
        check_av1_size(data, header.width, header.height, name, len(data))
    try:
        samples = codecs.avif_decode(data)
    except (codecs.AvifError, ValueError, IndexError) as exc:
        raise corrupt(name, exc) from None
    if samples.ndim != 3 or samples.shape[-1] not in (3, 4):
        raise GamutError(f"{name}: AVIF is grayscale; expected an RGB photo")
    bits = header.bit_depth or (8 if samples.dtype == np.uint8 else 10)
    samples = _oriented(samples, header)
    alpha = samples[..., 3] if samples.shape[-1] == 4 else None
    space = header_space(header, name)
    return Decoded(samples[..., :3], 1 << bits, alpha, space, f"{bits}-bit AVIF")


def read_heif_family(data: bytes, name: str) -> Decoded:
    """HEIC/HEIF or AVIF, told apart by brand and item type."""
    header = read_heif_header(data)
    check_pixels(header.width, header.height, name)
    if is_avif(header):
        return read_avif(data, name, header)
    return read_heic(data, name, header)
