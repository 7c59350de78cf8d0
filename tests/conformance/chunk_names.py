"""Vectors for the PNG chunk names (blob-format.md section 7): the safe-to-copy gmLp/gmRm that
writers write, the legacy gmLP/gmRM the committed vectors hold, and files with both names of
one payload, which no reader may resolve by picking one. Built from committed vectors."""

from __future__ import annotations

from pathlib import Path

from gamut_onnx.container import png
from gamut_onnx.container.carrier import (
    LEGACY_PNG_BLOB_CHUNK,
    LEGACY_PNG_MAP_CHUNK,
    PNG_BLOB_CHUNK,
    PNG_MAP_CHUNK,
)

VECTORS = Path(__file__).resolve().parent / "vectors"
RENAMED = {LEGACY_PNG_BLOB_CHUNK: PNG_BLOB_CHUNK, LEGACY_PNG_MAP_CHUNK: PNG_MAP_CHUNK}


def renamed(data: bytes) -> bytes:
    """The PNG with its legacy model chunks under the new names (payloads unchanged)."""
    out = bytearray(png.PNG_SIGNATURE)
    for ctype, payload in png.iter_chunks(data):
        out += png.make_chunk(RENAMED.get(ctype, ctype), payload)
    return bytes(out)


def payload(data: bytes, kind: bytes) -> bytes:
    """The payload of the first chunk of type `kind`."""
    return next(body for ctype, body in png.iter_chunks(data) if ctype == kind)


def bad_crc(data: bytes, kind: bytes) -> bytes:
    """The PNG with the CRC of its `kind` chunk broken."""
    out = bytearray(data)
    at = out.index(kind) - 4
    length = int.from_bytes(out[at : at + 4], "big")
    out[at + 8 + length] ^= 0xFF
    return bytes(out)


def chunk_name_vectors() -> list[tuple[str, bytes, str, str, str]]:
    """(name, carrier bytes, suffix, expected outcome, message fragment)."""
    mapped = (VECTORS / "png_residual_map.png").read_bytes()
    plain = (VECTORS / "png_ungated_fp16.png").read_bytes()
    fresh = renamed(mapped)
    blob = payload(plain, LEGACY_PNG_BLOB_CHUNK)
    both_blobs = png.insert_chunks(plain, [(PNG_BLOB_CHUNK, blob)])
    both_maps = png.insert_chunks(fresh, [(LEGACY_PNG_MAP_CHUNK, payload(fresh, PNG_MAP_CHUNK))])
    return [
        ("png_safe_to_copy_chunks", fresh, ".png", "restore", ""),
        ("neg_png_both_blob_names", both_blobs, ".png", "error", "both gmLP and gmLp"),
        ("neg_png_blob_chunk_crc", bad_crc(renamed(plain), PNG_BLOB_CHUNK), ".png", "error",
         "PNG chunk gmLp has a bad CRC"),
        ("neg_png_both_map_names", both_maps, ".png", "warning",
         "residual map ignored: PNG holds both gmRM and gmRm"),
    ]  # fmt: skip
