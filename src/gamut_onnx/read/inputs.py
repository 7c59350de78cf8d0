"""Read the ground-truth wide-gamut image (16-bit ProPhoto TIFF or PNG) that the encoder fits to.

Everything a user can get wrong ends in one-line GamutError saying what was found and what is
expected; decoder-library exceptions on broken files are caught and rephrased the same way.
"""

from __future__ import annotations

import io
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tifffile

from gamut_onnx import colour
from gamut_onnx.colour.icc import check_prophoto_icc
from gamut_onnx.container import png
from gamut_onnx.errors import GamutError
from gamut_onnx.optional import require

PNG_MAGIC = png.PNG_SIGNATURE
TIFF_MAGICS = (b"II*\0", b"MM\0*", b"II+\0", b"MM\0+")
TOLERANCE = 1e-3  # float samples this far outside [0, 1] are rounding noise, clipped silently
EXPECTED = "expected a 16-bit ProPhoto RGB image"
# tifffile logs a warning before raising on broken files; we report those errors ourselves, so
# keep Python's last-resort handler from printing them (configured handlers still receive them).
logging.getLogger("tifffile").addHandler(logging.NullHandler())


@dataclass
class SourceImage:
    prophoto: np.ndarray  # float32 HxWx3, LINEAR ProPhoto (ROMM decoded), [0, 1]
    alpha: np.ndarray | None  # float32 HxW in [0, 1], or None
    description: str  # e.g. "16-bit ProPhoto TIFF 1024x768"


def read_prophoto(path: str | os.PathLike) -> SourceImage:
    """Read a ProPhoto RGB TIFF or PNG from disk; see `read_prophoto_bytes`."""
    path = Path(path)
    if path.is_dir():
        raise GamutError(f"cannot read {path}: is a directory, expected a TIFF or PNG file")
    try:
        data = path.read_bytes()
    except OSError as e:
        raise GamutError(f"cannot read {path}: {e.strerror or e}") from None
    return read_prophoto_bytes(data, str(path))


def read_prophoto_bytes(data: bytes, name: str) -> SourceImage:
    """Decode a ProPhoto RGB image to linear light, dispatching on the magic bytes.

    TIFF: 8/16-bit unsigned or 32/64-bit float RGB, optionally with one extra sample read as
    straight alpha (associated alpha is not un-premultiplied). PNG: 16-bit RGB or RGBA. Values
    are ROMM-encoded unless an embedded ICC profile says linear; no profile means ProPhoto/ROMM.
    """
    if data[:4] in TIFF_MAGICS:
        return _read_tiff(data, name)
    if data[:8] == PNG_MAGIC:
        return _read_png(data, name)
    if not data:
        raise GamutError(f"cannot read {name}: file is empty; {EXPECTED} (TIFF or PNG)")
    raise GamutError(
        f"cannot read {name}: unrecognised file type (starts with {data[:8]!r}); "
        f"{EXPECTED} (TIFF or PNG)"
    )


def _corrupt(name: str, e: Exception) -> GamutError:
    reason = str(e).splitlines()[0][:120] if str(e) else type(e).__name__
    return GamutError(f"cannot read {name}: file is truncated or corrupt ({reason})")


def _icc_mode(icc: bytes | None, name: str) -> str:
    """'romm' or 'linear' from the embedded profile; an untagged image is taken as ROMM."""
    if icc is None:
        return "romm"
    try:
        return check_prophoto_icc(bytes(icc))
    except GamutError as e:
        raise GamutError(f"{name}: {e}") from None


def _to_linear(samples: np.ndarray, mode: str, name: str) -> np.ndarray:
    """Integer or float samples (HxWxC) -> float32 in [0, 1], ROMM-decoded unless linear."""
    if samples.dtype.kind == "u":
        scale = np.iinfo(samples.dtype).max
        lut = np.arange(scale + 1) / scale
        lut = (lut if mode == "linear" else colour.romm_decode(lut)).astype(np.float32)
        return lut[samples]
    v = samples.astype(np.float32)
    if not np.all(np.isfinite(v)):
        raise GamutError(f"{name}: float samples contain NaN or infinity")
    lo, hi = float(v.min(initial=0.0)), float(v.max(initial=0.0))
    if lo < -TOLERANCE or hi > 1.0 + TOLERANCE:
        raise GamutError(f"{name}: float samples span [{lo:.4g}, {hi:.4g}]; expected [0, 1]")
    v = np.clip(v, 0.0, 1.0)
    return v if mode == "linear" else colour.romm_decode(v).astype(np.float32)


def _result(samples: np.ndarray, mode: str, name: str, what: str) -> SourceImage:
    """Split colour and alpha, decode colour, describe the image."""
    h, w = samples.shape[:2]
    if h == 0 or w == 0:
        raise GamutError(f"{name}: image is empty ({w}x{h} pixels)")
    prophoto = _to_linear(samples[..., :3], mode, name)
    alpha = None
    if samples.shape[2] == 4:
        alpha = _to_linear(samples[..., 3], "linear", name)
    extra = (", linear" if mode == "linear" else "") + (", with alpha" if alpha is not None else "")
    return SourceImage(prophoto, alpha, f"{what} {w}x{h}{extra}")


# --- TIFF ---------------------------------------------------------------------------------------
_PHOTOMETRIC = {0: "grayscale", 1: "grayscale", 3: "palette", 4: "a transparency mask"}
_PHOTOMETRIC |= {5: "CMYK (separated)", 6: "YCbCr", 8: "Lab", 9: "Lab", 10: "Lab"}


def _check_tiff_page(page: tifffile.TiffPage, name: str) -> None:
    """Reject everything but 3 or 4 sample RGB with 8/16-bit integer or 32/64-bit float data."""
    found = _PHOTOMETRIC.get(int(page.photometric), f"photometric {int(page.photometric)}")
    if int(page.photometric) != 2:
        raise GamutError(f"{name}: TIFF is {found}; {EXPECTED}")
    spp = page.samplesperpixel
    if spp not in (3, 4):
        raise GamutError(f"{name}: TIFF has {spp} samples per pixel; expected 3 (RGB) or 4 (RGBA)")
    bits, fmt = page.bitspersample, int(page.sampleformat)
    ok = (fmt == 1 and bits in (8, 16)) or (fmt == 3 and bits in (32, 64))
    if not ok:
        kind = {1: "unsigned integer", 2: "signed integer", 3: "float"}.get(fmt, f"format {fmt}")
        expected = "expected 8/16-bit unsigned or 32-bit float"
        raise GamutError(f"{name}: TIFF has {bits}-bit {kind} samples; {expected}")
    if page.imagewidth == 0 or page.imagelength == 0:  # checked before decoding, which would fail
        raise GamutError(f"{name}: image is empty ({page.imagewidth}x{page.imagelength} pixels)")


def _read_tiff(data: bytes, name: str) -> SourceImage:
    try:
        with tifffile.TiffFile(io.BytesIO(data)) as tif:
            page = tif.pages[0]
            _check_tiff_page(page, name)
            mode = _icc_mode(page.tags.valueof(34675), name)
            samples = page.asarray()
            axes = page.axes
    except GamutError:
        raise
    except Exception as e:  # tifffile, imagecodecs and numpy raise many types on broken files
        raise _corrupt(name, e) from None
    if axes == "SYX":  # planar configuration separate
        samples = np.moveaxis(samples, 0, -1)
    if samples.ndim != 3 or samples.shape[2] not in (3, 4):
        raise GamutError(f"{name}: TIFF has layout {axes} {samples.shape}; {EXPECTED}")
    kind = " float" if samples.dtype.kind == "f" else ""
    return _result(samples, mode, name, f"{page.bitspersample}-bit{kind} ProPhoto TIFF")


# --- PNG ----------------------------------------------------------------------------------------
_PNG_TYPES = {0: "grayscale", 3: "palette", 4: "grayscale with alpha"}


def _read_png(data: bytes, name: str) -> SourceImage:
    try:
        header = png.read_ihdr(data)
        found = png.ancillary_chunks(data)
        icc = png.iccp_profile(found)
    except GamutError as e:
        raise _corrupt(name, e) from None
    w, h, depth, ctype = header.width, header.height, header.bit_depth, header.colour_type
    if ctype not in (2, 6):
        what = _PNG_TYPES.get(ctype, f"colour type {ctype}")
        raise GamutError(f"{name}: PNG is {what}; {EXPECTED}")
    if depth != 16:
        raise GamutError(
            f"{name}: {depth}-bit PNG: expected a 16-bit ProPhoto PNG; "
            "if this is an sRGB carrier, use `gamut-onnx decode`"
        )
    if b"sRGB" in found:
        raise GamutError(f"{name}: PNG is tagged sRGB; expected a ProPhoto RGB image")
    if w == 0 or h == 0:
        raise GamutError(f"{name}: image is empty ({w}x{h} pixels)")
    mode = _icc_mode(icc, name)
    try:
        samples = require("imagecodecs", "16-bit PNG").png_decode(data)
    except Exception as e:
        raise _corrupt(name, e) from None
    if samples.dtype != np.uint16 or samples.shape != (h, w, 3 if ctype == 2 else 4):
        raise _corrupt(name, ValueError(f"decoded {samples.dtype} {samples.shape}"))
    return _result(samples, mode, name, "16-bit ProPhoto PNG")
