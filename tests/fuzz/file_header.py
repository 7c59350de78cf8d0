"""What a file's first bytes say: its format, the extension to write it under, and the image
size its container header declares (which the oracle holds the decoded size to)."""

from __future__ import annotations

import struct

from fuzz.jpeg_format import jpeg_parse, sof_segment
from fuzz.png_format import PNG_SIGNATURE
from fuzz.tiff_format import TIFF_INT_FORMATS, tiff_parse, tiff_values_at

EXTENSIONS = {"png": "png", "tiff": "tif", "jpeg": "jpg"}


def detect(data: bytes) -> str | None:
    """The format by its signature: "png", "jpeg", "tiff", or None for none of these."""
    if data.startswith(PNG_SIGNATURE):
        return "png"
    if data[:2] == b"\xff\xd8":
        return "jpeg"
    if data[:4] in (b"II*\0", b"MM\0*", b"II+\0", b"MM\0+"):
        return "tiff"
    return None


def extension(data: bytes) -> str:
    """The file extension the decoders expect for these bytes ("bin" for none of ours)."""
    return EXTENSIONS.get(detect(data), "bin")


def declared_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) as the container header declares them, where it is readable."""
    fmt = detect(data)
    if fmt == "png" and len(data) >= 24 and data[12:16] == b"IHDR":
        return struct.unpack_from(">II", data, 16)
    if fmt == "jpeg":
        parsed = jpeg_parse(data)
        sof = parsed and sof_segment(parsed[0])
        if sof and sof.end - sof.payload >= 5:
            h, w = struct.unpack_from(">HH", data, sof.payload + 1)
            return w, h
    if fmt == "tiff":
        layout = tiff_parse(data)
        if layout:  # only when the IFD is unambiguous: one entry each, a plain integer
            found = [e for e in layout.entries if e.tag in (256, 257)]
            if sorted(e.tag for e in found) == [256, 257] and all(
                e.count == 1 and e.type in (3, 4, 16) for e in found
            ):
                size = {}
                for e in found:
                    at = tiff_values_at(layout, e, data)
                    fmt_ = TIFF_INT_FORMATS[e.type]
                    size[e.tag] = struct.unpack_from(layout.order + fmt_, data, at)[0]
                return size[256], size[257]
    return None
