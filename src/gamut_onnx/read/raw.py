"""Camera raw files (DNG and the vendors' formats) rendered by LibRaw through rawpy.

LibRaw demosaics, applies the camera's white balance and colour matrix and writes 16-bit linear
ProPhoto (its own wide working space, D50), with its default exposure (dcraw's auto-bright: 1 %
of pixels may clip). That rendering is the "source" the carrier and the model are made from.
"""

from __future__ import annotations

import io

from gamut_onnx.colour.spaces import NAMED_SPACES
from gamut_onnx.errors import GamutError
from gamut_onnx.limits import check_pixels
from gamut_onnx.optional import require
from gamut_onnx.read.source import Decoded

# Extensions LibRaw knows that share no magic we can test cheaply (TIFF-based ones are sniffed
# by their DNG tag or this list too; Kodak's headerless .raw is recognised by LibRaw's size table).
RAW_SUFFIXES = [
    ".dng",
    ".nef",
    ".nrw",
    ".cr2",
    ".cr3",
    ".crw",
    ".arw",
    ".srf",
    ".sr2",
    ".raf",
    ".orf",
    ".rw2",
    ".rwl",
    ".pef",
    ".ptx",
    ".srw",
    ".x3f",
    ".3fr",
    ".fff",
    ".iiq",
    ".mos",
    ".mef",
    ".mrw",
    ".erf",
    ".kdc",
    ".dcr",
    ".k25",
    ".raw",
    ".rwz",
    ".gpr",
]


def read_raw(data: bytes, name: str) -> Decoded:
    rawpy = require("rawpy", "camera raw files")
    try:
        with rawpy.imread(io.BytesIO(data)) as raw:
            sizes = raw.sizes
            check_pixels(sizes.width, sizes.height, name)
            if raw.color_desc not in (b"RGBG", b"RGB", b"RGBE", b"GMCY"):
                found = raw.color_desc.decode("latin-1")
                raise GamutError(f"{name}: raw sensor layout {found!r} is not an RGB camera's")
            samples = raw.postprocess(
                output_color=rawpy.ColorSpace.ProPhoto,
                gamma=(1, 1),
                output_bps=16,
                use_camera_wb=True,
            )
    except GamutError:
        raise
    except (rawpy.LibRawError, rawpy.NotSupportedError, ValueError, OSError) as exc:
        detail = str(exc).strip().strip("b'\"") or type(exc).__name__
        raise GamutError(
            f"cannot read {name}: LibRaw cannot read it as camera raw ({detail})"
        ) from None
    return Decoded(samples, 65536, None, NAMED_SPACES["prophoto-linear"], "camera raw (LibRaw)")
