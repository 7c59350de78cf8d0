"""A minimal JPEG marker layer: libjpeg-turbo does the pixels (decoding through Pillow, which every
install has; encoding through imagecodecs), we do the markers.

We walk the markers ourselves to place the ICC profile and the weight blob in APPn segments, to
reject grayscale and CMYK JPEGs from the frame header, and to hash the coded image data: every
decoder reads the same coefficients, but IDCTs differ slightly, so decoded pixels cannot be hashed.
"""

from __future__ import annotations

import hashlib
import io
import struct
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from gamut_onnx.errors import GamutError, library_detail
from gamut_onnx.optional import require

SOI, EOI, SOS, COM = 0xD8, 0xD9, 0xDA, 0xFE
APP0, APP1, APP2, APP9, APP14 = 0xE0, 0xE1, 0xE2, 0xE9, 0xEE
_STANDALONE = {0x01, *range(0xD0, 0xD9)}  # TEM, RST0-7, SOI: no length field
_NOT_SOF = {0xC4, 0xC8, 0xCC}  # DHT, JPG, DAC share the 0xC0-0xCF range with the SOFn markers
ARITHMETIC_SOF = {0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
# Neither Pillow's libjpeg-turbo nor the Node runtime's coefficient reader decodes arithmetic
# coding, so all runtimes refuse it from the frame header, with this line.
ARITHMETIC = "arithmetic-coded JPEG is not supported: transcode it with jpegtran -optimize"

ICC_ID = b"ICC_PROFILE\x00"
# The blob lives in APP9 segments. The common APPn are all taken: APP0 JFIF/JFXX, APP1 Exif and
# XMP, APP2 ICC_PROFILE and MPF (libultrahdr / Ultra HDR and ISO 21496-1 gain-map metadata and
# the secondary image), APP11 JPEG XT / JUMBF (C2PA, JPEG 360), APP13 Photoshop IRB/IPTC,
# APP14 Adobe. APP9 has no widely deployed user we know of, and the identifier disambiguates.
BLOB_ID = b"GAMUT-ONNX\x00"
MAP_ID = b"GAMUT-RESMAP\x00"  # the optional residual map (container/residual_map.py), APP9 too
_MAX_LENGTH = 0xFFFF  # the length field counts itself: 2 + identifier + seq + count + chunk


@dataclass(frozen=True)
class JpegParts:
    """What a JPEG carrier holds; `digest` identifies the coded image (see scan_digest), and
    `legacy_digest` is what blobs of format 1 recorded."""

    srgb8: np.ndarray  # HxWx3 uint8
    icc: bytes | None
    blob: bytes | None
    digest: bytes
    legacy_digest: bytes


def _truncated(where: str) -> GamutError:
    return GamutError(f"JPEG is truncated ({where})")


def _walk(data: bytes) -> Iterator[tuple[int, int, int, int]]:
    """Yield (marker, offset of its 0xFF, payload start, end) from SOI to the first SOS header."""
    if data[:2] != b"\xff\xd8":
        raise GamutError("not a JPEG file (no SOI marker)")
    yield SOI, 0, 2, 2
    pos, n = 2, len(data)
    while True:
        if pos >= n:
            raise _truncated("no scan before the end of the file")
        if data[pos] != 0xFF:
            raise GamutError(f"JPEG is corrupt (no marker at byte {pos})")
        while pos < n and data[pos] == 0xFF:  # 0xFF fill bytes may pad before any marker
            pos += 1
        if pos >= n:
            raise _truncated("in marker padding")
        marker, head, pos = data[pos], pos - 1, pos + 1
        if marker == EOI:
            raise GamutError("JPEG has no image data (EOI before any scan)")
        if marker in _STANDALONE:
            yield marker, head, pos, pos
            continue
        if pos + 2 > n:
            raise _truncated(f"in marker 0x{marker:02X} at byte {head}")
        length = int.from_bytes(data[pos : pos + 2], "big")
        if marker == 0x00 or length < 2:
            raise GamutError(f"JPEG is corrupt (bad marker 0x{marker:02X} at byte {head})")
        if pos + length > n:
            raise _truncated(f"in segment 0x{marker:02X} at byte {head}")
        yield marker, head, pos + 2, pos + length
        if marker == SOS:
            return
        pos += length


def iter_segments(data: bytes) -> Iterator[tuple[int, bytes]]:
    """Yield (marker, payload without the length bytes) from SOI to the first SOS header."""
    for marker, _, start, end in _walk(data):
        yield marker, data[start:end]


def scan_segments(data: bytes, pos: int) -> Iterator[tuple[int, int, int]]:
    """(marker, start, end) of each marker segment after the first scan's header (tables, later
    scans, APPn), skipping entropy-coded data, fill bytes and restart markers; the last one is
    EOI's, which ends the walk."""
    n = len(data)
    while True:
        pos = data.find(b"\xff", pos)
        if pos < 0 or pos + 1 >= n:
            raise _truncated("no EOI marker")
        code = data[pos + 1]
        if code == EOI:
            yield code, pos, pos + 2
            return
        if code == 0xFF:  # fill byte
            pos += 1
        elif code == 0x00 or 0xD0 <= code <= 0xD7:  # stuffed 0xFF byte or restart marker
            pos += 2
        elif pos + 4 > n:
            raise _truncated(f"in segment 0x{code:02X}")
        else:
            end = pos + 2 + struct.unpack_from(">H", data, pos + 2)[0]
            yield code, pos, end
            pos = end


def _scan_end(data: bytes, pos: int) -> int:
    """Offset just past the EOI, skipping entropy-coded data and any later tables or scans."""
    for code, _, end in scan_segments(data, pos):
        if code == EOI:
            return end
    raise AssertionError("unreachable: scan_segments ends at EOI or raises")


# APPn segments that change how common decoders turn coefficients into pixels: APP0 (JFIF: the
# components are YCbCr) and APP14 (Adobe: its transform flag says YCbCr, RGB or YCCK).
DECODE_AFFECTING_APPS = (APP0, APP14)


def scan_digest(data: bytes, version: int = 2) -> bytes:
    """SHA-256 of the coded image: every segment before the first scan that decoders honour
    (frame, tables, restart interval and, from blob format 2 on, APP0 and APP14), then every
    byte from the first SOS marker to the end of EOI. Other APPn (Exif, XMP, ICC, ours) and COM
    segments are left out, so metadata edits keep the digest, while any change to what decodes
    the pixels changes it. Version 1 (blob format 1) left out every APPn segment."""
    kept = DECODE_AFFECTING_APPS if version >= 2 else ()
    digest = hashlib.sha256()
    for marker, head, _, end in _walk(data):
        if marker == SOS:
            digest.update(data[head : _scan_end(data, end)])
            return digest.digest()
        if marker in kept or (marker not in (SOI, COM) and not 0xE0 <= marker <= 0xEF):
            digest.update(data[head:end])
    raise AssertionError("unreachable: _walk ends at SOS or raises")


def frame_size(data: bytes) -> tuple[int, int]:
    """(width, height) from the frame header, after checking it is an 8-bit 3-component JPEG
    (carriers are; say what the others are), before any pixel is decoded."""
    for marker, _, start, end in _walk(data):
        if 0xC0 <= marker <= 0xCF and marker not in _NOT_SOF:
            if marker in ARITHMETIC_SOF:
                raise GamutError(ARITHMETIC)
            if end - start < 6:
                raise GamutError("JPEG frame header (SOF) is corrupt")
            precision, height, width, components = struct.unpack_from(">BHHB", data, start)
            if components == 1:
                raise GamutError("grayscale JPEG is not a carrier: it has no colour to restore")
            if components == 4:
                raise GamutError("CMYK JPEG is not a carrier: save it as RGB")
            if components != 3 or precision != 8:
                raise GamutError(f"unsupported JPEG ({components} components, {precision}-bit)")
            if width == 0 or height == 0:
                raise GamutError(f"JPEG frame header says {width}x{height} pixels")
            return width, height
    raise GamutError("JPEG has no frame header (SOF) before its scan")


def encode_jpeg(srgb8: np.ndarray, quality: int) -> bytes:
    """Baseline JPEG (sequential, optimised Huffman tables) of HxWx3 uint8 pixels.

    4:4:4, no chroma subsampling: the restore MLP is sensitive to chroma, and decoders upsample
    subsampled chroma differently, while with 4:4:4 only their IDCTs differ.
    """
    srgb8 = np.ascontiguousarray(srgb8)
    if srgb8.dtype != np.uint8 or srgb8.ndim != 3 or srgb8.shape[2] != 3 or srgb8.size == 0:
        raise GamutError(f"JPEG pixels must be HxWx3 uint8, not {srgb8.dtype} {srgb8.shape}")
    if isinstance(quality, bool) or not isinstance(quality, int) or not 1 <= quality <= 100:
        raise GamutError(f"JPEG quality must be an integer from 1 to 100, not {quality!r}")
    codecs = require("imagecodecs", "writing JPEG carriers")
    return bytes(codecs.jpeg8_encode(srgb8, level=quality, subsampling="444", optimize=True))


def decode_jpeg(data: bytes) -> np.ndarray:
    """HxWx3 uint8 pixels; the EOI check matters as libjpeg pads a truncated scan with grey."""
    frame_size(data)
    scan = next(end for marker, _, _, end in _walk(data) if marker == SOS)
    _scan_end(data, scan)
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = None  # sizes are checked from the header first (limits.py)
    try:
        with warnings.catch_warnings():  # Pillow warns of corrupt Exif, which carriers ignore
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data), formats=["JPEG"]) as image:
                if image.mode != "RGB":
                    raise GamutError(f"JPEG decodes to {image.mode}, not RGB")
                return np.asarray(image)
    except (OSError, SyntaxError, ValueError) as exc:  # what Pillow raises on broken data
        detail = library_detail(exc)
        raise GamutError(f"JPEG is truncated or corrupt ({detail})") from exc


def _few(numbers: list[int], shown: int = 8) -> str:
    """A list of numbers for a one-line message: the first few, then how many more."""
    head = ", ".join(map(str, numbers[:shown]))
    return head + (f", ... {len(numbers) - shown} more" if len(numbers) > shown else "")


def _chunk_segments(marker: int, ident: bytes, payload: bytes, what: str) -> bytes:
    """APPn segments carrying `payload` in numbered chunks (seq 1..count), as ICC does in APP2."""
    size = _MAX_LENGTH - 2 - len(ident) - 2
    count = -(-len(payload) // size)
    if not 1 <= count <= 255:
        raise GamutError(f"{what} must be 1 to {255 * size} bytes for JPEG, not {len(payload)}")
    out = []
    for seq in range(1, count + 1):
        chunk = payload[(seq - 1) * size : seq * size]
        head = struct.pack(">BBH", 0xFF, marker, 2 + len(ident) + 2 + len(chunk))
        out.append(head + ident + bytes([seq, count]) + chunk)
    return b"".join(out)


def _ident(marker: int, payload: bytes) -> bytes | None:
    """Which of our payloads an APPn segment carries, if any."""
    if marker == APP2 and payload.startswith(ICC_ID):
        return ICC_ID
    if marker == APP9:
        return next((i for i in (BLOB_ID, MAP_ID) if payload.startswith(i)), None)
    return None


def _ours(marker: int, payload: bytes) -> bool:
    return _ident(marker, payload) is not None


def add_segments(
    jpeg: bytes, icc: bytes | None, blob: bytes | None, residual_map: bytes | None = None
) -> bytes:
    """Replace any ICC / blob / residual-map segments with these (None: none), placed after SOI
    and the leading APP0 (JFIF) and APP1 (Exif, XMP) segments, where readers expect those first."""
    new = b""
    if icc is not None:
        new += _chunk_segments(APP2, ICC_ID, bytes(icc), "ICC profile")
    if blob is not None:
        new += _chunk_segments(APP9, BLOB_ID, bytes(blob), "blob")
    if residual_map is not None:
        new += _chunk_segments(APP9, MAP_ID, bytes(residual_map), "residual map")
    parts, prev, leading = [], 0, True
    for marker, _, start, end in _walk(jpeg):
        segment, prev = jpeg[prev:end], end  # with any fill bytes before it
        if _ours(marker, jpeg[start:end]):
            continue
        if leading and marker not in (SOI, APP0, APP1):
            parts.append(new)
            leading = False
        parts.append(segment)
    return b"".join(parts) + jpeg[prev:]


def _reassemble(chunks: list[tuple[int, int, bytes]], what: str) -> bytes | None:
    """Join (seq, count, chunk) in sequence order; refuse gaps, duplicates and mixed counts."""
    if not chunks:
        return None
    counts = {count for _, count, _ in chunks}
    if len(counts) != 1:
        raise GamutError(f"JPEG {what} chunks disagree on their count ({sorted(counts)})")
    count = counts.pop()
    seqs = sorted(seq for seq, _, _ in chunks)
    if len(set(seqs)) != len(seqs):
        repeated = sorted({seq for seq in seqs if seqs.count(seq) > 1})
        raise GamutError(f"JPEG {what} has duplicate chunks (sequence numbers {_few(repeated)})")
    missing = sorted(set(range(1, count + 1)) - set(seqs))
    if missing:
        raise GamutError(f"JPEG {what} is missing chunks {_few(missing)} of {count}")
    if seqs != list(range(1, count + 1)):
        raise GamutError(f"JPEG {what} has chunk numbers {_few(seqs)}, expected 1 to {count}")
    return b"".join(chunk for _, _, chunk in sorted(chunks))


def jpeg_metadata(data: bytes) -> tuple[bytes | None, bytes | None, bytes | None, str | None]:
    """(ICC profile, blob, residual map, what is wrong with the map's segments or None)
    reassembled from their APP2 / APP9 chunks in one walk of the segments, no pixels decoded.
    Damaged map segments lose only the map (blob-format.md section 9); damaged blob segments
    lose the model (blob None; blob_damage says why), and the decoder decides what that means."""
    found = _payload_chunks(data)
    icc = _reassemble(found[ICC_ID], "ICC profile (APP2)")
    blob, _ = _lenient(found, BLOB_ID, "blob (APP9 GAMUT-ONNX)")
    residual_map, damage = _lenient(found, MAP_ID, "residual map (APP9 GAMUT-RESMAP)")
    return icc, blob, residual_map, damage


def blob_damage(data: bytes) -> str | None:
    """Why the blob's APP9 segments cannot be reassembled, or None when they can (or are absent)."""
    return _lenient(_payload_chunks(data), BLOB_ID, "blob (APP9 GAMUT-ONNX)")[1]


def _lenient(found: dict, ident: bytes, what: str) -> tuple[bytes | None, str | None]:
    """One payload reassembled, or None and why not."""
    if None in found[ident]:
        return None, f"JPEG segment {ident[:-1].decode()} is too short"
    try:
        return _reassemble(found[ident], what), None
    except GamutError as exc:
        return None, str(exc)


def _payload_chunks(data: bytes) -> dict[bytes, list[tuple[int, int, bytes] | None]]:
    """(seq, count, chunk) of each of our payloads, by identifier (None: a segment too short)."""
    found: dict[bytes, list] = {ICC_ID: [], BLOB_ID: [], MAP_ID: []}
    for marker, payload in iter_segments(data):
        ident = _ident(marker, payload)
        if ident is not None:
            if len(payload) < len(ident) + 2:
                if ident == ICC_ID:
                    raise GamutError(f"JPEG segment {ident[:-1].decode()} is too short")
                found[ident].append(None)  # the blob's or map's damage is theirs alone
                continue
            seq, count = payload[len(ident)], payload[len(ident) + 1]
            found[ident].append((seq, count, payload[len(ident) + 2 :]))
    return found


def read_jpeg(data: bytes) -> JpegParts:
    """Pixels, ICC profile, blob and scan digest of a JPEG carrier (or a plain JPEG)."""
    icc, blob, _, _ = jpeg_metadata(data)
    return JpegParts(decode_jpeg(data), icc, blob, scan_digest(data), scan_digest(data, 1))
