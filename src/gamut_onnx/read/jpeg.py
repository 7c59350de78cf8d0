"""JPEG photos (8-bit), described by an ICC profile or, in camera files without one, by the Exif
colour space: sRGB, or Adobe RGB by the DCF convention (ColorSpace "uncalibrated" with the
interoperability index "R03"). Pillow (libjpeg-turbo) decodes them."""

from __future__ import annotations

import io
import warnings
from struct import error as struct_error

import numpy as np

from gamut_onnx.colour.spaces import NAMED_SPACES
from gamut_onnx.errors import GamutError
from gamut_onnx.limits import check_pixels
from gamut_onnx.read.source import Decoded, SourceSpace, icc_space, orient
from gamut_onnx.read.tiff import corrupt

EXIF_IFD, INTEROP_IFD = 0x8769, 0xA005
EXIF_COLOUR_SPACE, EXIF_ORIENTATION, INTEROP_INDEX = 0xA001, 0x0112, 0x0001
_MODES = {"L": "grayscale", "LA": "grayscale", "CMYK": "CMYK", "I": "16-bit grayscale"}


def exif_space(exif) -> SourceSpace | None:
    """sRGB or Adobe RGB from Exif tags when there is no ICC profile; None if unsaid."""
    colour_space = exif.get_ifd(EXIF_IFD).get(EXIF_COLOUR_SPACE)
    if colour_space == 1:
        return NAMED_SPACES["srgb"]
    index = exif.get_ifd(INTEROP_IFD).get(INTEROP_INDEX)
    if colour_space == 0xFFFF and isinstance(index, str) and index.strip("\0") == "R03":
        return NAMED_SPACES["adobe-rgb"]
    return None


def read_jpeg(data: bytes, name: str) -> Decoded:
    from PIL import Image, UnidentifiedImageError

    unreadable = False
    try:
        with warnings.catch_warnings(record=True) as caught:  # Pillow on corrupt Exif
            warnings.simplefilter("always")
            Image.MAX_IMAGE_PIXELS = None  # our limit, checked at once from the header below
            with Image.open(io.BytesIO(data), formats=["JPEG"]) as image:
                check_pixels(*image.size, name)
                if image.mode != "RGB":
                    found = _MODES.get(image.mode, image.mode)
                    raise GamutError(f"{name}: JPEG is {found}; expected an RGB photo")
                icc = image.info.get("icc_profile")
                exif = image.getexif()
                samples = np.asarray(image)
            try:  # Pillow reads the Exif sub-IFDs lazily, and warns there on damaged ones
                exif_colour = exif_space(exif)
                orientation = int(exif.get(EXIF_ORIENTATION, 1) or 1)
            except (OSError, SyntaxError, ValueError, TypeError, KeyError, struct_error):
                unreadable = True
    except GamutError:
        raise
    except (OSError, SyntaxError, ValueError, UnidentifiedImageError) as exc:
        raise corrupt(name, exc) from None
    # Pillow reports damaged Exif as UserWarning; other categories (a DeprecationWarning from a
    # Pillow/NumPy version pair, say) say nothing about this file and are dropped.
    if unreadable or any(issubclass(w.category, UserWarning) for w in caught):
        warnings.warn(f"{name}: its Exif data is corrupt and was ignored", stacklevel=2)
        exif_colour, orientation = None, 1
    space = icc_space(icc, name) if icc else exif_colour
    samples = orient(samples, orientation)
    return Decoded(samples, 256, None, space, "8-bit JPEG")
