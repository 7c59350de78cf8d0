"""Colour science of the reference protocol: the CAT02-adapted ProPhoto <-> sRGB matrices, the
reduction to 8-bit sRGB and the expansion back, and the two pixel masks.

Functions are small, pure and named after the standard they implement (colour-science style).
Arrays are HxWx3 (or Nx3), float values are linear light in [0, 1] unless the name says otherwise.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache

import numpy as np

from gamut_onnx.colour.spaces import rgb_to_rgb_matrix
from gamut_onnx.colour.transfer import srgb_decode, srgb_encode

# --- matrices -----------------------------------------------------------------------------------
# The blob's `carrier_transform` field names the matrices a carrier was made with; decoders pick
# the matching expansion matrix. 2 (current): colour-science's CAT02-adapted ProPhoto <-> sRGB,
# as the GamutMLP authors' code computes them (colour/spaces.py); the pair is not an exact inverse
# (colour-science tabulates both spaces' matrices to 4 decimals), and we keep that, so carriers
# and the clip-and-expand baseline equal the authors'. 1 (blobs written before 2026-11-27): our
# first derivation from tabulated D50/D65 white XYZ, differing by up to 3e-4 (1-2 code values).
LEGACY_PROPHOTO_TO_SRGB = np.array(
    [
        [2.036480572, -0.7372959698, -0.2991846022],
        [-0.2258489439, 1.2231522704, 0.0026966734],
        [-0.0106109205, -0.1348970988, 1.1455080193],
    ]
)
CARRIER_TRANSFORMS = {
    1: (LEGACY_PROPHOTO_TO_SRGB, np.linalg.inv(LEGACY_PROPHOTO_TO_SRGB)),
    2: (rgb_to_rgb_matrix("prophoto", "bt709"), rgb_to_rgb_matrix("bt709", "prophoto")),
}
CURRENT_TRANSFORM = 2
PROPHOTO_TO_SRGB, SRGB_TO_PROPHOTO = CARRIER_TRANSFORMS[CURRENT_TRANSFORM]

# ROMM RGB (ISO 22028-2) primaries as XYZ colorants under D50, used for ICC profiles.
PROPHOTO_XYZ_D50 = np.array(
    [
        [0.7976749444, 0.1351917015, 0.0313533541],
        [0.2880402379, 0.7118740972, 0.0000856649],
        [0.0, 0.0, 0.82521],
    ]
)


def expansion_matrix(transform: int = CURRENT_TRANSFORM) -> np.ndarray:
    """The float32 sRGB -> ProPhoto matrix of a carrier transform (what the graph is fed)."""
    return CARRIER_TRANSFORMS[transform][1].astype(np.float32)


# Exact 8-bit sRGB -> linear table: the decoder, the fixed ONNX graph and training all use it.
SRGB8_TO_LINEAR = srgb_decode(np.arange(256) / 255.0).astype(np.float32)


MATRIX_CHUNK = 1 << 16  # pixels per product: float64 temporaries stay in cache


def matrix_chunks(count: int) -> Iterator[slice]:
    """Slices of MATRIX_CHUNK pixels over [0, count): the chunks `apply_matrix` takes its
    products on, so a caller chunking alike gets the same `dgemm` calls."""
    return (slice(start, start + MATRIX_CHUNK) for start in range(0, count, MATRIX_CHUNK))


def apply_matrix(rgb: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Multiply every pixel of an ...x3 array by a 3x3 matrix (float64 result).

    In chunks: one product over a 12 MP float32 photo converts all of it to float64 first and
    took 1.3 s; chunk by chunk it is 0.1 s, with bit-identical results."""
    rgb = np.asarray(rgb)
    transposed = np.asarray(matrix, dtype=np.float64).T
    if rgb.size <= 3 * MATRIX_CHUNK:
        return rgb @ transposed
    flat = rgb.reshape(-1, 3)
    out = np.empty(flat.shape, np.result_type(flat.dtype, np.float64))
    for part in matrix_chunks(flat.shape[0]):
        np.matmul(flat[part].astype(out.dtype), transposed, out=out[part])
    return out.reshape(rgb.shape)


def prophoto_to_srgb_linear(prophoto: np.ndarray) -> np.ndarray:
    """Linear ProPhoto -> linear sRGB, unclipped (values outside [0, 1] are out of gamut)."""
    return apply_matrix(prophoto, PROPHOTO_TO_SRGB)


def quantise_8bit(encoded: np.ndarray) -> np.ndarray:
    """Encoded [0, 1] -> uint8 by rounding to nearest.

    The GamutMLP authors' code truncates (`(x * 255).astype(uint8)`); rounding halves the
    quantisation error and is what image libraries do, so we round (see docs/design.md).
    """
    return np.rint(np.clip(encoded, 0.0, 1.0) * 255.0).astype(np.uint8)


def prophoto_to_srgb8(prophoto: np.ndarray) -> np.ndarray:
    """The reference reduction: linear ProPhoto -> sRGB matrix -> clip -> sRGB curve -> 8 bit."""
    return reduce_to_srgb8(prophoto)[0]


def reduce_to_srgb8(prophoto: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(`prophoto_to_srgb8`, `out_of_gamut_mask`) in one pass, chunk by chunk: the float64
    linear sRGB of a 12 MP photo (290 MB) never exists whole, and each step stays in cache."""
    prophoto = np.asarray(prophoto)
    shape = prophoto.shape[:-1]
    flat = prophoto.reshape(-1, 3)
    codes = np.empty(flat.shape, np.uint8)
    og = np.empty(flat.shape[0], bool)
    for part in matrix_chunks(flat.shape[0]):
        linear = apply_matrix(flat[part], PROPHOTO_TO_SRGB)
        codes[part] = linear_to_srgb8(linear)
        og[part] = out_of_gamut_linear(linear)
    return codes.reshape(prophoto.shape), og.reshape(shape)


BUCKETS = 65536  # linear [0, 1] in equal buckets; no bucket holds two code thresholds


@cache
def _code_table() -> tuple[np.ndarray, np.ndarray]:
    """Per bucket: the code at its start, and the one threshold inside it (else infinity).

    Threshold k is the smallest float64 x with quantise_8bit(srgb_encode(x)) >= k, found by
    bisection on the bit patterns of the reference function itself, so the table reproduces it
    exactly (sRGB codes are >= 2e-4 apart in linear light; buckets are 1.5e-5 wide)."""

    def reference(x: np.ndarray) -> np.ndarray:
        return quantise_8bit(srgb_encode(x))

    codes = np.arange(1, 256)
    low = np.zeros(255, np.int64)
    high = np.full(255, np.float64(1.0).view(np.int64))
    while (high - low > 1).any():
        mid = (low + high) // 2
        above = reference(mid.view(np.float64)) >= codes
        high, low = np.where(above, mid, high), np.where(above, low, mid)
    thresholds = high.view(np.float64)
    start = reference(np.arange(BUCKETS) / BUCKETS)
    inside = np.full(BUCKETS, np.inf)
    inside[np.floor(thresholds * BUCKETS).astype(np.int64)] = thresholds
    return start, inside


def linear_to_srgb8(linear: np.ndarray) -> np.ndarray:
    """Linear sRGB -> clip -> sRGB curve -> 8 bit, bit for bit quantise_8bit(srgb_encode(x)),
    from a table instead of a float64 power per value (8x faster at 12 MP)."""
    start, inside = _code_table()
    x = np.clip(np.asarray(linear, np.float64), 0.0, 1.0)
    bucket = np.minimum((x * BUCKETS).astype(np.int32), BUCKETS - 1)
    codes = np.take(start, bucket)  # np.take: less per-index work than fancy indexing
    codes += x >= np.take(inside, bucket)
    return codes


@cache
def _expansion_tables(transform: int) -> tuple[np.ndarray, np.ndarray]:
    """(R, G) -> fl(fl(lin R * m0) + fl(lin G * m1)) per output channel (65,536 x 3) and
    B -> fl(lin B * m2) (256 x 3): the same float32 products and sums, in the same order."""
    m = expansion_matrix(transform)
    products = SRGB8_TO_LINEAR[:, None, None] * m.T[None]  # [code, input channel, output]
    pair = products[:, None, 0] + products[None, :, 1]  # [R, G, output]
    return pair.reshape(65536, 3), np.ascontiguousarray(products[:, 2])


def srgb8_to_prophoto(srgb8: np.ndarray, transform: int = CURRENT_TRANSFORM) -> np.ndarray:
    """The reference expansion: 8-bit sRGB -> linear -> ProPhoto matrix, clipped to [0, 1].

    Computed in float32 with one multiply-add per term in a fixed order, exactly as the fixed
    ONNX graph does, so the MLP sees bit-identical inputs at fit and at restore time. Read from
    an (R, G) table plus a B table in cache-sized chunks: 2x faster than the products at 12 MP.
    """
    pixels = np.asarray(srgb8)
    out = pair_lookup(pixels, *_expansion_tables(transform))
    return np.clip(out, np.float32(0.0), np.float32(1.0), out=out)


def pair_lookup(samples: np.ndarray, red_green: np.ndarray, blue: np.ndarray) -> np.ndarray:
    """8-bit RGB samples (..., 3+) through separable float32 tables: per pixel the (R, G) row
    (65,536 x 3, row 256 R + G) plus the B row (256 x 3), in cache-sized chunks. Used by the
    reference expansion and by 8-bit ICC sources (colour/cms.py)."""
    pair, blue = _rows(red_green), _rows(blue)
    flat = samples.reshape(-1, samples.shape[-1])
    out = np.empty((flat.shape[0], 3), np.float32)
    rows, blue_part = _rows(out), np.empty((MATRIX_CHUNK, 3), np.float32)
    for start in range(0, flat.shape[0], MATRIX_CHUNK):
        chunk = flat[start : start + MATRIX_CHUNK]
        n = len(chunk)
        rg = chunk[:, 0].astype(np.intp) << 8
        rg |= chunk[:, 1]
        np.take(pair, rg, out=rows[start : start + n])  # one 12-byte row per pixel
        np.take(blue, chunk[:, 2], out=_rows(blue_part)[:n])
        out[start : start + n] += blue_part[:n]
    return out.reshape(*samples.shape[:-1], 3)


def _rows(table: np.ndarray) -> np.ndarray:
    """An N x 3 float32 array as N opaque 12-byte rows: np.take copies each row in one go."""
    return np.ascontiguousarray(table, np.float32).view(np.dtype((np.void, 12))).reshape(-1)


def out_of_gamut_mask(prophoto: np.ndarray) -> np.ndarray:
    """Pixels that sRGB cannot hold (the paper's OG mask).

    Some linear-sRGB channel leaves [0, 1], excluding pixels with every channel > 1 (too bright,
    not a gamut problem) or every channel < 0.
    """
    return out_of_gamut_linear(prophoto_to_srgb_linear(prophoto))


def out_of_gamut_linear(srgb: np.ndarray) -> np.ndarray:
    """`out_of_gamut_mask` from linear sRGB: some channel outside [0, 1], but not all above 1
    nor all below 0 (from the channel min and max: a few passes instead of a dozen)."""
    channels = [srgb[..., c] for c in range(3)]
    low, high = np.minimum.reduce(channels), np.maximum.reduce(channels)
    return ((low < 0.0) | (high > 1.0)) & ~(low > 1.0) & ~(high < 0.0)


def boundary_mask(srgb8: np.ndarray, margin: int = 0) -> np.ndarray:
    """Pixels with some channel <= margin or >= 255 - margin: where clipping may have happened.

    Computable from the carrier alone, so the decoder can gate the MLP to these pixels. Lossless
    carriers use margin 0 (exactly 0 or 255); JPEG noise moves clipped values a few codes away.
    """
    srgb8 = np.asarray(srgb8, np.uint8)
    # v <= margin or v >= 255 - margin  <=>  (v - margin - 1) mod 256 >= 254 - 2 margin: one
    # wrapping subtraction and a channel max, 10x faster than any() over the channel axis.
    shifted = srgb8 - np.uint8(margin + 1)
    channels = [shifted[..., c] for c in range(srgb8.shape[-1])]
    return np.maximum.reduce(channels) >= 254 - 2 * margin
