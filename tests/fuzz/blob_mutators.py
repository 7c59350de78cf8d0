"""Mutators of the weight blob: header fields (CRC recomputed so later checks are reached),
special weights, truncation, bit flips, record sections and fresh random blobs."""

from __future__ import annotations

import struct
import zlib

import numpy as np

from fuzz.blob_format import (
    BLOB_FIELDS,
    BLOB_HEADER,
    blob_fields,
    blob_pack_raw,
    blob_reseal,
    blob_weights_span,
    new_header_fields,
    record,
    weight_count,
)
from fuzz.icc_mutator import mutate_icc
from fuzz.mutation_context import Context
from fuzz.random_draws import HUGE_DIMS, U32_EDGES, chance, near, pick, rand_bytes, weighted
from fuzz.zlib_zeros import zlib_zeros

BLOB_FIELD_VALUES = {
    "version": (0, 1, 2, 3, 0x100, 0xFFFF),
    "header_bytes": (0, 63, 64, 65, 68, 128, 0xFFFF),
    "dtype": (0, 1, 2, 3, 4, 255),
    "primaries": (0, 1, 2, 3, 4, 5, 6, 254, 255),
    "transform": (0, 1, 2, 3, 255),
    "layout": (0, 1, 2, 255),
    "layers": (0, 1, 2, 3, 255),
    "octaves": (0, 1, 2, 15, 16, 17, 255),
    "width": (0, 1, 8, 16, 24, 32, 48, 64, 128, 256, 0xFFFF),
    "flags": (0, 1, 2, 3, 4, 5, 7, 0x8000, 0xFFFF),
    "margin": (0, 1, 32, 63, 64, 65, 254, 255),
    "transfer": (0, 1, 2, 3, 4, 5, 6, 7, 8, 255),
}


def special_weights(rng: np.random.Generator, itemsize: int) -> bytes:
    """One weight's bytes: NaN, infinities, float32 extremes, the +-65504 bound and past it."""
    if itemsize == 2:
        values = [0x7E00, 0x7C00, 0xFC00, 0x7BFF, 0xFBFF, 0x7C01, 0x0001, 0x8000, 0xFFFF]
        return struct.pack("<H", pick(rng, values))
    values = [
        float("nan"),
        float("inf"),
        float("-inf"),
        3e38,
        -3e38,
        3.4028235e38,
        65504.0,
        -65504.0,
        65505.0,
        65504.004,
        1e-45,
        1e30,
    ]
    return struct.pack("<f", pick(rng, values))


def blob_header_field(rng, blob: bytes, ctx: Context) -> bytes:
    f = blob_fields(blob)
    if f is None:
        return blob
    name = pick(rng, list(BLOB_FIELD_VALUES) + ["image_width", "image_height", "magic", "digest"])
    if name in BLOB_FIELD_VALUES:
        f[name] = (
            pick(rng, BLOB_FIELD_VALUES[name]) if chance(rng, 0.8) else int(rng.integers(0, 256))
        )
    elif name in ("image_width", "image_height"):
        f[name] = near(rng, f[name], U32_EDGES + HUGE_DIMS)
    elif name == "magic":
        f[name] = pick(rng, (b"GAMUTMLQ", b"gamutmlp", b"\0" * 8, b"GAMUTML\0"))
    else:
        f[name] = rand_bytes(rng, 32)
    out = BLOB_HEADER.pack(*(f[k] for k in BLOB_FIELDS)) + blob[64:]
    ctx.ops.append(f"blob-{name}")
    return blob_reseal(out) if chance(rng, 0.9) else out


def _complete(blob: bytes) -> tuple[dict, tuple[int, int, int]] | None:
    """The header fields and weights span of a blob that holds all its weights and a CRC."""
    f = blob_fields(blob)
    span = f and blob_weights_span(f)
    if not span or span[1] > len(blob) - 4:
        return None
    return f, span


def blob_special_weights(rng, blob: bytes, ctx: Context) -> bytes:
    complete = _complete(blob)
    if complete is None:
        return blob
    start, end, itemsize = complete[1]
    b = bytearray(blob)
    n = (end - start) // itemsize
    if chance(rng, 0.15):  # every weight at the bound: the "cannot overflow" claim
        value = struct.pack("<e" if itemsize == 2 else "<f", pick(rng, (65504.0, -65504.0)))
        signs = rng.integers(0, 2, n)
        neg = bytearray(value)
        neg[-1] ^= 0x80
        b[start:end] = b"".join(bytes(neg) if s else value for s in signs)
        ctx.ops.append("blob-weights-at-bound")
    else:
        for _ in range(int(rng.integers(1, 5))):
            i = int(rng.integers(n))
            b[start + i * itemsize : start + (i + 1) * itemsize] = special_weights(rng, itemsize)
        ctx.ops.append("blob-special-weight")
    return blob_reseal(bytes(b)) if chance(rng, 0.95) else bytes(b)


def blob_truncate(rng, blob: bytes, ctx: Context) -> bytes:
    f = blob_fields(blob)
    span = f and blob_weights_span(f)
    cuts = [0, 1, 8, 63, 64, 67, 68, len(blob) - 5, len(blob) - 4, len(blob) - 1]
    if span:
        cuts += [span[1] - 1, span[1], span[1] + 1, span[1] + 4, span[1] + 5]
    cut = pick(rng, [c for c in cuts if 0 <= c < len(blob)] or [0])
    if chance(rng, 0.2):
        cut = int(rng.integers(0, len(blob)))
    out = blob[:cut]
    ctx.ops.append("blob-truncate")
    if chance(rng, 0.5) and len(out) >= 4:  # re-seal: the length check must catch it
        return out + struct.pack("<I", zlib.crc32(out))
    return out


def blob_bitflip(rng, blob: bytes, ctx: Context) -> bytes:
    b = bytearray(blob)
    if not b:
        return blob
    for _ in range(int(rng.integers(1, 6))):
        b[int(rng.integers(len(b)))] ^= 1 << int(rng.integers(8))
    ctx.ops.append("blob-bitflip")
    return blob_reseal(bytes(b)) if chance(rng, 0.8) else bytes(b)


def icc_record_payload(rng, ctx: Context) -> tuple[bytes, str]:
    """A source-ICC record payload: good, mutated, corrupt or a bomb."""
    r = rng.random()
    icc = pick(rng, ctx.icc_pool)
    if r < 0.3:
        return zlib.compress(icc, 9), "icc-good"
    if r < 0.6:
        mutated, what = mutate_icc(rng, icc)
        return zlib.compress(mutated, 6), what
    if r < 0.68:
        return zlib_zeros(pick(rng, (4 << 20, (4 << 20) + 1, 64 << 20))), "icc-bomb"
    if r < 0.74:
        return zlib.compress(icc)[: int(rng.integers(0, 60))], "icc-zlib-truncated"
    if r < 0.8:
        return zlib.compress(icc) + rand_bytes(rng, 7), "icc-zlib-trailing"
    if r < 0.86:
        return rand_bytes(rng, int(rng.integers(0, 64))), "icc-not-zlib"
    if r < 0.92:
        return zlib.compress(rand_bytes(rng, int(rng.integers(0, 400)))), "icc-random"
    return zlib.compress(b""), "icc-empty"


def blob_records(rng, blob: bytes, ctx: Context) -> bytes:
    """Rebuild the blob with a new record section and consistent or inconsistent flags."""
    complete = _complete(blob)
    if complete is None:
        return blob
    f, span = complete
    weights = blob[64 : span[1]]
    recs, names = b"", []
    for _ in range(int(rng.integers(0, 4))):
        r = rng.random()
        if r < 0.45:
            payload, what = icc_record_payload(rng, ctx)
            recs += record(128, payload)
            names.append(what)
        elif r < 0.6:
            recs += record(int(rng.integers(0, 128)), rand_bytes(rng, int(rng.integers(0, 9))))
            names.append("critical")
        elif r < 0.75:
            recs += record(int(rng.integers(129, 256)), rand_bytes(rng, int(rng.integers(0, 40))))
            names.append("ancillary")
        elif r < 0.9:
            payload = rand_bytes(rng, int(rng.integers(0, 9)))
            recs += record(pick(rng, (128, 5, 200)), payload, pick(rng, U32_EDGES))
            names.append("bad-length")
        else:
            recs += rand_bytes(rng, int(rng.integers(1, 5)))
            names.append("short-header")
    has_icc = any(n.startswith("icc") for n in names)
    if chance(rng, 0.85):  # consistent flags and source codes, so the records are reached
        f["flags"] = (f["flags"] & 1) | (2 if recs else 0)
        f["version"] = 2
        if has_icc:
            f["primaries"], f["transfer"] = 255, 0
        elif f["primaries"] == 255:
            f["primaries"], f["transfer"] = 1, 3
    else:
        f["flags"] ^= 2
    ctx.ops.append("blob-records[" + ",".join(names) + "]")
    return blob_pack_raw(f, weights, recs, crc=chance(rng, 0.95))


def blob_repack(rng, blob: bytes, ctx: Context) -> bytes:
    """A fresh, mostly valid blob for the seed's image: random architecture, version, codes,
    gating and weight scale (up to the +-65504 bound), the right or a wrong digest."""
    seed = ctx.seed
    f = blob_fields(blob) if blob else None
    digest = f["digest"] if f else bytes(32)
    if chance(rng, 0.1):
        digest = rand_bytes(rng, 32)
    width = pick(rng, (16, 16, 32, 32, 64, 128))
    octaves = int(rng.integers(1, 17)) if width <= 32 else int(rng.integers(1, 6))
    at_bound = chance(rng, 0.08)  # the largest network with every weight at +-65504: the
    if at_bound:  # format's "a restore cannot overflow" bound (docs/blob-format.md section 3)
        width, octaves = 128, 16
    dtype = pick(rng, (1, 2))
    version = 2 if chance(rng, 0.8) else 1
    if version == 1:
        primaries, transform, transfer = 1, 1, 0
    else:
        primaries = pick(rng, (1, 2, 3, 4, 5))
        transfer = pick(rng, (1, 2, 3, 4, 5, 6, 7))
        transform = pick(rng, (1, 2))
    gated = int(chance(rng, 0.5))
    fields = new_header_fields(
        version=version,
        dtype=dtype,
        primaries=primaries,
        transform=transform,
        transfer=transfer,
        octaves=octaves,
        width=width,
        flags=gated,
        margin=int(rng.integers(0, 65)) if gated else 0,
        size=seed.size,
        digest=digest,
    )
    n = weight_count(width, octaves)
    scale = pick(rng, (0.01, 0.1, 1.0, 30.0, 1000.0, 65504.0))
    values = np.clip(rng.standard_normal(n) * scale, -65504, 65504).astype(np.float32)
    if at_bound:
        signs = rng.integers(0, 2, n) if chance(rng, 0.5) else np.zeros(n, int)
        values = np.where(signs, -65504.0, 65504.0).astype(np.float32)
        scale = 65504.0
    payload = values.astype("<f2" if dtype == 1 else "<f4").tobytes()
    recs = b""
    if version == 2 and chance(rng, 0.25):
        icc = pick(rng, ctx.icc_pool)
        recs = record(128, zlib.compress(icc, 9))
        fields.update(primaries=255, transfer=0, flags=gated | 2)
    bound = ",at-bound" if at_bound else ""
    ctx.ops.append(f"blob-repack[v{version},d{width},L{octaves},s{scale:g}{bound}]")
    return blob_pack_raw(fields, payload, recs)


BLOB_MUTATORS = [
    (blob_header_field, 5),
    (blob_special_weights, 2),
    (blob_truncate, 2),
    (blob_bitflip, 2),
    (blob_records, 3),
    (blob_repack, 3),
]


def mutate_blob(rng, blob: bytes, ctx: Context) -> bytes:
    return weighted(rng, BLOB_MUTATORS)(rng, blob, ctx)
