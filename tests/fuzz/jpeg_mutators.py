"""Mutators of JPEG structure: segment lengths, SOF/DQT/DHT/DRI/SOS fields, the APP9 blob and
APP2 ICC chunk numbering, APP14 Adobe, odd markers, dropped segments and the scan itself."""

from __future__ import annotations

import struct

from fuzz.generic_mutators import mutate_generic
from fuzz.jpeg_format import (
    JPEG_BLOB_ID,
    JPEG_ICC_ID,
    Segment,
    jpeg_parse,
    jpeg_segment,
    sof_segment,
)
from fuzz.mutation_context import Context
from fuzz.random_draws import U16_EDGES, chance, near, pick, rand_bytes, weighted


def jpeg_seg_length(rng, data: bytearray, segs, scan, ctx) -> bytes:
    s = pick(rng, [s for s in segs if s.end > s.payload] or segs)
    if s.end == s.payload:
        return bytes(data)
    length = s.end - s.start - 2
    struct.pack_into(">H", data, s.start + 2, near(rng, length, U16_EDGES, bits=16))
    ctx.ops.append(f"jpeg-length-{s.marker:02X}")
    return bytes(data)


def jpeg_sof(rng, data: bytearray, segs, scan, ctx) -> bytes:
    s = sof_segment(segs)
    if s is None or s.end - s.payload < 6:
        return bytes(data)
    p = s.payload
    name = pick(
        rng,
        (
            "precision",
            "height",
            "width",
            "size",
            "components",
            "sampling",
            "quant",
            "ids",
            "marker",
        ),
    )
    if name == "precision":
        data[p] = pick(rng, (0, 1, 8, 12, 16, 255))
    elif name in ("height", "width"):
        at = p + (1 if name == "height" else 3)
        struct.pack_into(">H", data, at, pick(rng, (0, 1, 2, 8, 16000, 65500, 65535)))
    elif name == "size":
        struct.pack_into(">HH", data, p + 1, 65535, 65535)
    elif name == "components":
        data[p + 5] = pick(rng, (0, 1, 2, 3, 4, 5, 255))
    elif name == "sampling" and s.end - p >= 9:
        data[p + 7 + 3 * int(rng.integers(min(3, (s.end - p - 6) // 3)))] = pick(
            rng, (0x00, 0x11, 0x12, 0x21, 0x22, 0x41, 0x44, 0x14, 0x0F, 0xFF)
        )
    elif name == "quant" and s.end - p >= 9:
        data[p + 8] = pick(rng, (0, 1, 2, 3, 4, 255))
    elif name == "ids" and s.end - p >= 12:
        data[p + 9] = data[p + 6]  # two components with one id
    else:
        data[s.start + 1] = pick(
            rng, (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF)
        )
    ctx.ops.append(f"jpeg-sof-{name}")
    return bytes(data)


def jpeg_tables(rng, data: bytearray, segs, scan, ctx) -> bytes:
    tables = [s for s in segs if s.marker in (0xDB, 0xC4, 0xDD) and s.end > s.payload]
    if not tables:
        return bytes(data)
    s = pick(rng, tables)
    r = rng.random()
    if r < 0.35:  # the precision/class and id nibble byte
        data[s.payload] = pick(
            rng, (0x00, 0x01, 0x02, 0x03, 0x04, 0x10, 0x11, 0x13, 0x20, 0xF0, 0xFF)
        )
    elif r < 0.6 and s.marker == 0xC4 and s.end - s.payload >= 17:  # Huffman code counts
        i = s.payload + 1 + int(rng.integers(16))
        data[i] = pick(rng, (0, 1, 2, 16, 200, 255))
    elif r < 0.75 and s.marker == 0xDB:  # zero quantisation values
        for i in range(s.payload + 1, min(s.end, s.payload + 65)):
            data[i] = 0 if chance(rng, 0.5) else data[i]
    else:
        for _ in range(int(rng.integers(1, 5))):
            data[int(rng.integers(s.payload, s.end))] = int(rng.integers(256))
    ctx.ops.append(f"jpeg-table-{s.marker:02X}")
    return bytes(data)


def jpeg_dri(rng, data: bytearray, segs, scan, ctx) -> bytes:
    sos = segs[-1]
    payload = pick(
        rng,
        (
            struct.pack(">H", 0),
            struct.pack(">H", 1),
            struct.pack(">H", 3),
            struct.pack(">H", 0xFFFF),
            b"\x00",
            b"\x00\x01\x02",
        ),
    )
    ctx.ops.append("jpeg-dri")
    return bytes(data[: sos.start]) + jpeg_segment(0xDD, payload) + bytes(data[sos.start :])


def jpeg_sos(rng, data: bytearray, segs, scan, ctx) -> bytes:
    s = segs[-1]
    n = s.end - s.payload
    if n < 1:
        return bytes(data)
    r = int(rng.integers(4))
    if r == 0:
        data[s.payload] = pick(rng, (0, 1, 2, 4, 255))
    elif r == 1 and n >= 3:
        data[s.payload + 2] = pick(rng, (0x00, 0x11, 0x22, 0x44, 0xFF))
    elif r == 2 and n >= 4:
        data[s.end - 3 + int(rng.integers(3))] = pick(rng, (0, 1, 63, 64, 255))
    else:
        data[s.payload + 1 + int(rng.integers(max(1, n - 1)))] = int(rng.integers(256))
    ctx.ops.append("jpeg-sos")
    return bytes(data)


def _app_chunks(segs, data, ident) -> list[Segment]:
    return [s for s in segs if data[s.payload : s.payload + len(ident)] == ident]


def jpeg_app9(rng, data: bytearray, segs, scan, ctx) -> bytes:
    """The blob's APP9 numbering: duplicate, drop, renumber, recount, shorten, re-chunk."""
    ident = JPEG_BLOB_ID if chance(rng, 0.8) else JPEG_ICC_ID
    ours = _app_chunks(segs, data, ident)
    if not ours:
        return bytes(data)
    s = pick(rng, ours)
    seq_at = s.payload + len(ident)
    r = int(rng.integers(7))
    name = ident[:5].decode()
    if r == 0 and seq_at + 1 < s.end:
        data[seq_at] = pick(rng, (0, 1, 2, 3, data[seq_at + 1], data[seq_at + 1] + 1, 255)) & 255
        op = "seq"
    elif r == 1 and seq_at + 1 < s.end:
        data[seq_at + 1] = pick(rng, (0, 1, 2, 3, 255))
        op = "count"
    elif r == 2:
        seg = bytes(data[s.start : s.end])
        at = pick(rng, segs[1:]).start
        ctx.ops.append(f"jpeg-{name}-dup")
        return bytes(data[:at]) + seg + bytes(data[at:])
    elif r == 3:
        ctx.ops.append(f"jpeg-{name}-drop")
        return bytes(data[: s.start]) + bytes(data[s.end :])
    elif r == 4:  # too short: the identifier and at most one byte
        short = ident + rand_bytes(rng, int(rng.integers(0, 2)))
        ctx.ops.append(f"jpeg-{name}-short")
        return bytes(data[: s.start]) + jpeg_segment(s.marker, short) + bytes(data[s.end :])
    elif r == 5:  # re-chunk into many small, validly numbered segments (or not)
        whole = b"".join(bytes(data[c.payload + len(ident) + 2 : c.end]) for c in ours)
        size = int(rng.integers(1, 400))
        pieces = [whole[i : i + size] for i in range(0, len(whole), size)] or [b""]
        count = len(pieces)
        out = b"".join(
            jpeg_segment(
                0xE9 if ident == JPEG_BLOB_ID else 0xE2,
                ident + bytes([(k + 1) & 255, count & 255]) + p,
            )
            for k, p in enumerate(pieces)
        )
        keep = bytearray()
        prev = 0
        for c in ours:
            keep += data[prev : c.start]
            prev = c.end
        keep += data[prev:]
        at = ours[0].start
        ctx.ops.append(f"jpeg-{name}-rechunk-{count}")
        return bytes(keep[:at]) + out + bytes(keep[at:])
    else:  # reorder: move the segment after the SOS header (into the scan)
        seg = bytes(data[s.start : s.end])
        rest = bytes(data[: s.start]) + bytes(data[s.end :])
        at = scan - (s.end - s.start)
        ctx.ops.append(f"jpeg-{name}-after-sos")
        return rest[:at] + seg + rest[at:]
    ctx.ops.append(f"jpeg-{name}-{op}")
    return bytes(data)


def jpeg_adobe(rng, data: bytearray, segs, scan, ctx) -> bytes:
    transform = pick(rng, (0, 1, 2, 3, 255))
    adobe = b"Adobe" + struct.pack(">HHHB", 100, 0, 0, transform)
    if chance(rng, 0.15):
        adobe = adobe[: int(rng.integers(0, len(adobe)))]
    seg = jpeg_segment(0xEE, adobe)
    app0 = next((s for s in segs if s.marker == 0xE0), None)
    ctx.ops.append(f"jpeg-adobe-{transform}")
    if app0 is not None and chance(rng, 0.7):
        return bytes(data[: app0.start]) + seg + bytes(data[app0.end :])
    return bytes(data[:2]) + seg + bytes(data[2:])


def jpeg_scan(rng, data: bytearray, segs, scan, ctx) -> bytes:
    """Truncate the scan, drop EOI, inject fill bytes or RSTn markers, add trailing data."""
    r = int(rng.integers(6))
    n = len(data)
    if r == 0:
        ctx.ops.append("jpeg-scan-truncate")
        return bytes(data[: int(rng.integers(scan, n))])
    if r == 1:
        ctx.ops.append("jpeg-no-eoi")
        return bytes(data[:-2])
    if r == 2:  # fill bytes before a marker segment (valid) or inside the entropy data
        s = pick(rng, segs[1:])
        at = s.start if chance(rng, 0.5) else int(rng.integers(scan, n - 1))
        ctx.ops.append("jpeg-fill")
        return bytes(data[:at]) + b"\xff" * int(rng.integers(1, 8)) + bytes(data[at:])
    if r == 3:
        out = bytearray(data)
        for _ in range(int(rng.integers(1, 4))):
            at = int(rng.integers(scan, len(out) - 1))
            out[at:at] = bytes([0xFF, 0xD0 + int(rng.integers(8))])
        ctx.ops.append("jpeg-rst")
        return bytes(out)
    if r == 4:
        ctx.ops.append("jpeg-after-eoi")
        tail = pick(rng, (rand_bytes(rng, 20), b"\xff\xd9", b"\xff\xd8\xff\xd9", b"\xff"))
        return bytes(data) + tail
    out = bytearray(data)  # flip entropy-coded bytes
    for _ in range(int(rng.integers(1, 6))):
        out[int(rng.integers(scan, n - 2))] = int(rng.integers(256))
    ctx.ops.append("jpeg-scan-bytes")
    return bytes(out)


def jpeg_markers(rng, data: bytearray, segs, scan, ctx) -> bytes:
    """Odd markers before the scan: standalone, reserved, COM, a second SOF, EOI, DNL, EXP."""
    at = pick(rng, segs[1:]).start
    r = int(rng.integers(8))
    if r == 0:
        ins = bytes([0xFF, pick(rng, (0x01, 0xD0, 0xD7, 0xD8))])
    elif r == 1:
        ins = jpeg_segment(
            pick(rng, (0x02, 0x4F, 0xBF, 0xC8, 0xCC, 0xDC, 0xDE, 0xDF, 0xF0, 0xFD)),
            rand_bytes(rng, int(rng.integers(0, 8))),
        )
    elif r == 2:
        ins = jpeg_segment(0xFE, rand_bytes(rng, pick(rng, (0, 10, 65533))))
    elif r == 3:
        sof = sof_segment(segs)
        ins = bytes(data[sof.start : sof.end]) if sof else b""
    elif r == 4:
        ins = b"\xff\xd9"
    elif r == 5:
        ins = jpeg_segment(0xE0 + int(rng.integers(16)), rand_bytes(rng, int(rng.integers(0, 30))))
    elif r == 6:
        ins = b"\xff\x00"
    else:
        ins = b"\xff" + bytes([int(rng.integers(0xC0, 0x100))]) + b"\xff\xff"
    ctx.ops.append("jpeg-marker")
    return bytes(data[:at]) + ins + bytes(data[at:])


def jpeg_drop(rng, data: bytearray, segs, scan, ctx) -> bytes:
    s = pick(rng, segs[1:])
    ctx.ops.append(f"jpeg-drop-{s.marker:02X}")
    return bytes(data[: s.start]) + bytes(data[s.end :])


JPEG_MUTATORS = [
    (jpeg_seg_length, 2),
    (jpeg_sof, 5),
    (jpeg_tables, 3),
    (jpeg_dri, 1),
    (jpeg_sos, 2),
    (jpeg_app9, 4),
    (jpeg_adobe, 2),
    (jpeg_scan, 4),
    (jpeg_markers, 2),
    (jpeg_drop, 1),
]


def mutate_jpeg(rng, data: bytes, ctx: Context) -> bytes:
    parsed = jpeg_parse(data)
    if parsed is None or len(parsed[0]) < 2:
        return mutate_generic(rng, data, ctx)
    segs, scan = parsed
    if scan >= len(data) - 2:
        return mutate_generic(rng, data, ctx)
    return weighted(rng, JPEG_MUTATORS)(rng, bytearray(data), segs, scan, ctx)
