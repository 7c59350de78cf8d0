"""The JPEG carrier's coefficient digest (docs/blob-format.md section 4.3): SHA-256 of what
every decoder decodes, the quantised DCT coefficients, their quantisation tables, the frame and
the colour-transform markers, so lossless transcodes (jpegtran -optimize, -progressive,
-restart) keep it while any coefficient change breaks it.

libjpeg (through `jpeglib`, which ships it in its wheel) does the entropy decoding: a Python
Huffman decoder would take tens of seconds on a 12 MP photo. The frame, the tables and the
markers are read here from the segments, as the Node runtime reads them.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import struct
import tempfile
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from gamut_onnx.container.jpeg import (
    APP0,
    APP14,
    ARITHMETIC,
    ARITHMETIC_SOF,
    COM,
    EOI,
    SOI,
    SOS,
    _walk,
    scan_segments,
)
from gamut_onnx.errors import GamutError
from gamut_onnx.optional import require

# The zig-zag order of DQT: entry k of a table is coefficient ZIGZAG[k] in natural order.
ZIGZAG = np.array(
    [0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27]
    + [20, 13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44]
    + [51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63]
)
HUFFMAN_SOF = (0xC0, 0xC1, 0xC2)  # baseline, extended sequential, progressive
# Odd horizontal (u) / vertical (v) frequencies change sign when a block is mirrored.
_ODD_U = np.where(np.arange(8) % 2, -1, 1).astype(np.int16)[None, None, None, :]
_ODD_V = np.where(np.arange(8) % 2, -1, 1).astype(np.int16)[None, None, :, None]


@dataclass(frozen=True)
class JpegFrame:
    """What the digest takes from the segments before the first scan."""

    precision: int
    width: int
    height: int
    components: tuple[tuple[int, int, int], ...]  # (id, H, V) in frame order
    tables: tuple[np.ndarray, ...]  # each component's quantisation table, natural order 8x8
    jfif: bool
    adobe: int  # the last APP14 Adobe transform flag, 255 without one


def _dqt(payload: bytes, slots: dict[int, np.ndarray]) -> None:
    pos = 0
    while pos < len(payload):
        precision, slot = payload[pos] >> 4, payload[pos] & 15
        size = 128 if precision else 64
        if precision > 1 or slot > 3 or pos + 1 + size > len(payload):
            raise GamutError("JPEG quantisation table (DQT) is corrupt")
        dtype = ">u2" if precision else "u1"
        values = np.frombuffer(payload, dtype, 64, pos + 1).astype(np.uint16)
        table = np.zeros(64, np.uint16)
        table[ZIGZAG] = values
        slots[slot] = table.reshape(8, 8)
        pos += 1 + size


def read_frame(data: bytes) -> JpegFrame:
    """Frame, quantisation tables and colour-transform markers, as defined before the first
    scan; arithmetic coding and the lossless/hierarchical processes are refused."""
    slots: dict[int, np.ndarray] = {}
    sof, jfif, adobe = None, False, 255
    for marker, _, start, end in _walk(data):
        payload = data[start:end]
        if marker == 0xDB:
            _dqt(payload, slots)
        elif marker == APP0 and payload.startswith(b"JFIF\x00"):
            jfif = True
        elif marker == APP14 and payload.startswith(b"Adobe") and len(payload) >= 12:
            adobe = payload[11]
        elif marker in ARITHMETIC_SOF:
            raise GamutError(ARITHMETIC)
        elif 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            if marker not in HUFFMAN_SOF:
                raise GamutError(f"JPEG process SOF{marker - 0xC0} is not supported")
            sof = payload
        elif marker == SOS:
            break
    if sof is None or len(sof) < 6 or len(sof) < 6 + 3 * sof[5]:
        raise GamutError("JPEG frame header (SOF) is corrupt")
    precision, height, width, count = struct.unpack_from(">BHHB", sof)
    components, tables = [], []
    for i in range(count):
        ident, sampling, slot = sof[6 + 3 * i : 9 + 3 * i]
        h, v = sampling >> 4, sampling & 15
        if not (1 <= h <= 4 and 1 <= v <= 4) or slot not in slots:
            raise GamutError(f"JPEG component {ident} has bad sampling or no quantisation table")
        components.append((ident, h, v))
        tables.append(slots[slot])
    return JpegFrame(precision, width, height, tuple(components), tuple(tables), jfif, adobe)


def block_grid(frame: JpegFrame) -> list[tuple[int, int]]:
    """(rows, columns) of 8x8 blocks of each component, without the MCU padding."""
    hmax = max(h for _, h, _ in frame.components)
    vmax = max(v for _, _, v in frame.components)
    return [
        (_ceil(_ceil(frame.height * v, vmax), 8), _ceil(_ceil(frame.width * h, hmax), 8))
        for _, h, v in frame.components
    ]


def _ceil(a: int, b: int) -> int:
    return -(-a // b)


def read_coefficients(data: bytes) -> tuple[JpegFrame, list[np.ndarray]]:
    """The frame and each component's quantised coefficients, int16 [rows, cols, v, u]."""
    frame = read_frame(data)
    if len(frame.components) != 3:
        raise GamutError(f"unsupported JPEG ({len(frame.components)} components)")
    jpeglib = require("jpeglib")  # optional (the [jpeg] extra): only a failed digest needs it

    fd, path = tempfile.mkstemp(suffix=".jpg")  # jpeglib reads files only
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(coding_only(data))
        with warnings.catch_warnings(), _quiet_stderr():
            warnings.simplefilter("ignore")
            image = jpeglib.read_dct(path)
            planes = [image.Y, image.Cb, image.Cr]
    except (OSError, RuntimeError, ValueError) as exc:  # jpeglib's; its text names the temp file
        raise GamutError("JPEG scan data is corrupt (libjpeg cannot read it)") from exc
    finally:
        os.unlink(path)
    grids = block_grid(frame)
    if [p.shape[:2] for p in planes] != grids:
        raise GamutError("JPEG coefficients do not match its frame header")
    return frame, planes


def _metadata(marker: int) -> bool:
    return marker == COM or 0xE0 <= marker <= 0xEF


def coding_only(data: bytes) -> bytes:
    """The JPEG without its APPn and COM segments, wherever they are: all libjpeg needs for the
    coefficients. jpeglib's marker saving crashes the process on some of them (an empty APP14),
    so they never reach it."""
    out = [b"\xff\xd8"]
    for marker, head, _, end in _walk(data):
        if marker == SOS:
            out.append(_scans(data, head, end))
            return b"".join(out)
        if marker != SOI and not _metadata(marker):
            out.append(data[head:end])
    raise AssertionError("unreachable: _walk ends at SOS or raises")


def _scans(data: bytes, start: int, pos: int) -> bytes:
    """From the first SOS marker to the end of EOI, less the APPn/COM segments between scans."""
    parts = []
    for code, head, end in scan_segments(data, pos):
        if code == EOI:
            parts.append(data[start:end])
        elif _metadata(code):
            parts.append(data[start:head])
            start = end
    return b"".join(parts)


_STDERR_LOCK = threading.Lock()


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """libjpeg prints its warnings on corrupt data ("Corrupt JPEG data: ...") to file
    descriptor 2; our own one-line message says it, so they go to /dev/null meanwhile."""
    with _STDERR_LOCK, open(os.devnull, "wb") as null:
        saved = os.dup(2)
        try:
            os.dup2(null.fileno(), 2)
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def _transpose(frame: JpegFrame) -> JpegFrame:
    return JpegFrame(
        frame.precision,
        frame.height,
        frame.width,
        tuple((i, v, h) for i, h, v in frame.components),
        tuple(t.T for t in frame.tables),
        frame.jfif,
        frame.adobe,
    )


# Each orientation (the Exif numbering: how the file shows the image it was fitted on) as
# steps applied to the fitted image: t transpose, h mirror left-right, v mirror top-bottom.
ORIENTATION_STEPS = {
    1: "",
    2: "h",
    3: "hv",
    4: "v",
    5: "t",
    6: "th",  # turned 90 degrees clockwise
    7: "thv",
    8: "tv",  # turned 270 degrees clockwise
}


def unturn_blocks(frame: JpegFrame, planes: list[np.ndarray], orientation: int):
    """Frame and coefficients of the image that `orientation` turned into these, the way
    jpegtran transforms blocks: mirroring reverses the blocks and negates odd frequencies,
    transposing transposes blocks, coefficients, sampling factors and tables."""
    for step in reversed(ORIENTATION_STEPS[orientation]):
        if step == "t":
            frame = _transpose(frame)
            planes = [p.transpose(1, 0, 3, 2) for p in planes]
        elif step == "h":
            planes = [p[:, ::-1] * _ODD_U for p in planes]
        else:
            planes = [p[::-1] * _ODD_V for p in planes]
    return frame, planes


def frame_digest(frame: JpegFrame, planes: list[np.ndarray]) -> bytes:
    """SHA-256 of section 4.3's byte sequence."""
    digest = hashlib.sha256()
    head = (frame.precision, frame.width, frame.height, len(frame.components))
    digest.update(struct.pack("<BHHBBB", *head, int(frame.jfif), frame.adobe))
    for (ident, h, v), table in zip(frame.components, frame.tables, strict=True):
        digest.update(struct.pack("<BBB", ident, h, v))
        digest.update(np.ascontiguousarray(table, "<u2").tobytes())
    for plane in planes:
        digest.update(memoryview(np.ascontiguousarray(plane, "<i2")).cast("B"))
    return digest.digest()


def baseline_jpeg(frame: JpegFrame, planes: list[np.ndarray]) -> bytes:
    """A baseline JPEG of these coefficients, with the frame's size, sampling and tables
    (libjpeg writes it, through jpeglib). Decoded, it gives the pixels of any JPEG with these
    coefficients: how a turned carrier is turned back exactly, as decoders round the IDCT of
    turned blocks differently."""
    jpeglib = require("jpeglib")
    from jpeglib.dct_jpeg import DCTJPEG

    planes = [np.ascontiguousarray(p) for p in planes]
    rgb = frame.adobe == 0 or (not frame.jfif and [c[0] for c in frame.components] == [82, 71, 66])
    fd, path = tempfile.mkstemp(suffix=".jpg")
    os.close(fd)
    try:
        image = DCTJPEG(
            path=None,
            content=None,
            height=frame.height,
            width=frame.width,
            block_dims=np.array([p.shape[:2] for p in planes], "int32"),
            # jpeglib orders sampling factors vertical first
            samp_factor=np.array([[v, h] for _, h, v in frame.components], "int32"),
            jpeg_color_space=jpeglib.Colorspace["JCS_RGB" if rgb else "JCS_YCbCr"],
            num_scans=1,
            quant_tbl_no=np.arange(len(planes)),
            markers=None,
            huffmans=None,
            Y=planes[0],
            Cb=planes[1],
            Cr=planes[2],
            K=None,
            qt=np.stack([np.ascontiguousarray(t, np.uint16) for t in frame.tables]),
            progressive_mode=None,
        )
        with _quiet_stderr():
            image.write_dct(path)
        with open(path, "rb") as file:
            return file.read()
    except (OSError, RuntimeError, ValueError) as exc:
        raise GamutError("JPEG coefficients cannot be written back (libjpeg)") from exc
    finally:
        os.unlink(path)


def coefficient_digest(data: bytes) -> bytes:
    """The coefficient digest of a JPEG (what blobs record in their record 130)."""
    return frame_digest(*read_coefficients(data))
