"""The encoder's residual map (recipes with `residual_map`): after the fit and its scoring, code
what the restore still gets wrong as an AVIF within the byte budget, score the result, and keep
the map only if it improves the whole image. The format is container/residual_map.py."""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from gamut_onnx.blob import Blob, unpack_blob
from gamut_onnx.colour import SRGB8_TO_LINEAR, boundary_mask
from gamut_onnx.colour.protocol import (
    PROPHOTO_TO_SRGB,
    apply_matrix,
    expansion_matrix,
    matrix_chunks,
)
from gamut_onnx.container.residual_map import (
    HEADER_BYTES,
    ResidualMap,
    blob_digest,
    map_codecs,
    map_samples,
    pack_map,
)
from gamut_onnx.errors import GamutError
from gamut_onnx.pixels import masked, put_masked

MAX_EXTRA_BYTES = 48_000  # a map: min(48 KB, 1 % of the carrier file), beside the blob
MIN_MAP_BYTES = 1_000  # below this a map is all container overhead
QUALITIES = tuple(range(5, 100, 5))  # levels benches sweep; the encoder tries any from the first
ENCODER_SPEED = 8  # libavif: 0.4 s for a 12 MP map on 2 cores, 1.2 s at speed 6
WEIGHT_POWER = 0.5  # the encoder's: coding noise shaped like CIEDE2000's sensitivity (design.md)
WEIGHT_OFFSET = 0.01  # g = (Y + 0.01) ** power: bounded at black
LUMINANCE = np.array([0.2126, 0.7152, 0.0722])  # Y of linear sRGB (IEC 61966-2-1)


def pixel_weights(codes: np.ndarray, power: float) -> np.ndarray:
    """(Y + 0.01) ** power per pixel (float64), Y the linear luminance of its carrier codes:
    errors are coded relative to it, so coding noise shrinks where the eye sees more of it."""
    if power == 0:
        return np.ones(codes.shape[:-1])
    luminance = np.take(SRGB8_TO_LINEAR, codes[..., :3]).astype(np.float64) @ LUMINANCE
    return (luminance + WEIGHT_OFFSET) ** power


def correct(
    band: np.ndarray,
    samples: np.ndarray,
    gate: np.ndarray,
    m: ResidualMap,
    codes: np.ndarray,
    transform: int,
) -> None:
    """Add the map `m`'s correction (ProPhoto) where `gate` to a restored band whose carrier
    pixels are `codes`, then clip to [0, 1] (blob-format.md section 9). `transform`: the
    blob's carrier transform, whose matrix the restore used."""
    values = corrected(masked(band, gate), masked(samples, gate), masked(codes, gate), m, transform)
    put_masked(band, gate, values)


def corrected(
    values: np.ndarray, samples: np.ndarray, codes: np.ndarray, m: ResidualMap, transform: int
) -> np.ndarray:
    """`correct` on the gated pixels alone ([n, 3] restored values, map samples and carrier
    codes): the encoder's estimate of what the restore graph does (exporters/map_graph.py;
    equal within 1e-6, tests/test_residual_map.py), cheaper than a second restore."""
    matrix = expansion_matrix(transform).T
    fixed = np.empty(values.shape, np.result_type(values.dtype, np.float32))
    for part in matrix_chunks(len(values)):  # float64 temporaries of a chunk, in cache
        step = pixel_weights(codes[part], m.weight_power) * (m.scale / 127.5)
        coded = ((samples[part] - 128.0) * step[:, None]).astype(np.float32)
        np.add(values[part], coded @ matrix, out=fixed[part])
    return np.clip(fixed, np.float32(0), np.float32(1), out=fixed)


def gate_of(srgb8: np.ndarray, blob: Blob) -> np.ndarray:
    """Where the blob's MLP runs, hence where the map applies."""
    if not blob.gated:
        return np.ones(srgb8.shape[:2], bool)
    return boundary_mask(srgb8[..., :3], blob.boundary_margin)


def coded_samples(
    error: np.ndarray, gate: np.ndarray, codes: np.ndarray, power: float
) -> tuple[np.ndarray, float]:
    """The map's HxWx3 8-bit samples (128 outside the gate) and its scale, for the ProPhoto
    errors (truth - restore) `error` [n, 3] of the gated pixels in row-major order.

    Chunk by chunk, the weighted sRGB errors twice (once for their 99.9th percentile, once to
    code them) rather than float64 temporaries at every gated pixel: the same values."""
    gated = masked(codes, gate)

    def weighted(part: slice) -> np.ndarray:
        return (
            apply_matrix(error[part], PROPHOTO_TO_SRGB) / pixel_weights(gated[part], power)[:, None]
        )

    magnitude = np.empty(error.shape)
    for part in matrix_chunks(len(error)):
        np.abs(weighted(part), out=magnitude[part])
    scale = (
        float(np.float32(np.percentile(magnitude, 99.9, overwrite_input=True)))
        if error.size
        else 0.0
    )
    del magnitude
    scale = min(max(scale, 1e-6), 1.0)
    coded = np.empty(error.shape, np.uint8)
    for part in matrix_chunks(len(error)):
        coded[part] = np.clip(np.rint(weighted(part) * (127.5 / scale) + 128), 0, 255)
    samples = np.full((*gate.shape, 3), 128, np.uint8)
    put_masked(samples, gate, coded)
    return samples, scale


def avif_of(samples: np.ndarray, quality: int) -> bytes:
    """8-bit 4:4:4 AVIF with the identity matrix: the decoded planes are the samples."""
    codecs = map_codecs()
    return codecs.avif_encode(
        samples,
        level=quality,
        speed=ENCODER_SPEED,
        pixelformat=codecs.AVIF.PIXEL_FORMAT.YUV444,
        matrix=codecs.AVIF.MATRIX_COEFFICIENTS.IDENTITY,
        numthreads=2,
    )


def code_map(
    error: np.ndarray,
    gate: np.ndarray,
    quality: int,
    blob: bytes,
    codes: np.ndarray,
    power: float = WEIGHT_POWER,
) -> ResidualMap:
    """The map of the gated errors `error` [n, 3] over the carrier `codes`, at `quality`."""
    samples, scale = coded_samples(error, gate, codes, power)
    h, w = gate.shape
    return ResidualMap(h, w, scale, power, blob_digest(blob), avif_of(samples, quality))


def map_budget(file_bytes: int) -> int:
    """Bytes a map may take: min(48 KB, 1 % of the carrier file without it), on top of the
    blob (issue 14's "more model bytes on photos that gain from them")."""
    return min(MAX_EXTRA_BYTES, file_bytes // 100)


def largest_within(
    error: np.ndarray,
    gate: np.ndarray,
    blob: bytes,
    codes: np.ndarray,
    budget: int,
    power: float = WEIGHT_POWER,
) -> tuple[ResidualMap, int] | None:
    """(map, quality) at the highest AVIF quality in [LOWEST_QUALITY, 100] whose packed bytes
    fit `budget`, or None when even the lowest does not. `error`: as for code_map.

    A full encode is the search's cost (0.36 s for a 12 MP map), so large maps are searched on a
    probe, every PROBE_STRIDE-th band of the samples, whose bytes follow the full map's level by
    level at a slowly changing ratio (_search_with_probe). Small maps are searched in full."""
    samples, scale = coded_samples(error, gate, codes, power)
    full = _Sizes(samples)
    if samples.shape[0] < PROBE_MIN_ROWS:
        quality = full.highest_within(budget - HEADER_BYTES)
    else:
        quality = _search_with_probe(full, _Sizes(probe_of(samples)), budget - HEADER_BYTES)
    if quality is None:
        return None
    h, w = gate.shape
    return ResidualMap(h, w, scale, power, blob_digest(blob), full.avif(quality)), quality


LOWEST_QUALITY = 5
PROBE_STRIDE = 16  # the probe: rows of every 16th band of PROBE_BAND rows (at least 128)
PROBE_BAND = 32
PROBE_MIN_ROWS = 2048  # smaller maps encode fast enough to search in full
MAX_FULL_ENCODES = 3
# A full map's bytes follow the probe's at a ratio that drifts by about 1 % a quality step, while
# each step adds 5-15 % (measured on six 12 MP maps): a next quality predicted 3 % over the room
# is over it.
CONFIRM_MARGIN = 0.03


def _search_with_probe(full: _Sizes, probe: _Sizes, room: int) -> int | None:
    """The highest quality whose full encode fits `room`, in at most MAX_FULL_ENCODES full
    encodes: the full map's log size is predicted as the probe's plus a log ratio interpolated
    between the full encodes made so far (the ratio drifts with quality, as the container's
    fixed bytes weigh less), each guess inside the bracket the encodes have found. Once a
    quality fits and the next is predicted over `room` by CONFIRM_MARGIN, that one is not
    encoded to confirm it."""
    quality = probe.highest_within(room * probe.rows / full.rows) or LOWEST_QUALITY
    for _ in range(MAX_FULL_ENCODES):
        full.size(quality)
        sizes = full.known
        fits = [q for q, n in sizes.items() if n <= room]
        fails = [q for q, n in sizes.items() if n > room]
        low, high = max(fits, default=LOWEST_QUALITY - 1), min(fails, default=101)
        if high - low <= 1:
            break
        known = sorted(sizes)
        ratios = [math.log(sizes[q] / probe.size(q)) for q in known]

        def predicted(q: int, known=known, ratios=ratios) -> float:
            return math.log(probe.size(q)) + float(np.interp(q, known, ratios))

        if fits and predicted(low + 1) > math.log(room * (1 + CONFIRM_MARGIN)):
            break
        guess = highest_where(lambda q: predicted(q) <= math.log(room), low + 1, high - 1)
        quality = low + 1 if guess is None else guess
    return max((q for q, n in full.known.items() if n <= room), default=None)


def highest_where(ok, low: int, high: int) -> int | None:
    """The highest q in [low, high] with ok(q), for ok true up to some q and false above it
    (bisection), or None."""
    best = None
    while low <= high:
        mid = (low + high) // 2
        if ok(mid):
            best, low = mid, mid + 1
        else:
            high = mid - 1
    return best


def probe_of(samples: np.ndarray) -> np.ndarray:
    """Every PROBE_STRIDE-th band of PROBE_BAND rows: whole bands keep the map's texture, so
    its bytes per row follow the full map's."""
    rows = np.arange(samples.shape[0])
    return np.ascontiguousarray(samples[(rows // PROBE_BAND) % PROBE_STRIDE == 0])


def quantizer_of(quality: int) -> int:
    """The AV1 quantizer (0-63) libavif encodes a quality (0-100) with (its
    avifQualityToQuantizer): qualities that share one give the same bytes, so each quantizer
    is encoded once (tests/test_residual_map.py checks the mapping against the library)."""
    return ((100 - quality) * 63 + 50) // 100


class _Sizes:
    """AVIF encodes of one set of samples, by quality, each quantizer encoded once."""

    def __init__(self, samples: np.ndarray) -> None:
        self.samples, self.rows, self._avif = samples, samples.shape[0], {}

    @property
    def known(self) -> dict[int, int]:
        """Bytes by quality, of every quality whose quantizer has been encoded."""
        return {
            quality: len(self._avif[quantizer_of(quality)])
            for quality in range(LOWEST_QUALITY, 101)
            if quantizer_of(quality) in self._avif
        }

    @property
    def encodes(self) -> int:
        """AVIF encodes made so far."""
        return len(self._avif)

    def avif(self, quality: int) -> bytes:
        quantizer = quantizer_of(quality)
        if quantizer not in self._avif:
            self._avif[quantizer] = avif_of(self.samples, quality)
        return self._avif[quantizer]

    def size(self, quality: int) -> int:
        return len(self.avif(quality))

    def highest_within(self, room: float) -> int | None:
        """The highest quality whose bytes fit `room` (sizes grow with quality)."""
        return highest_where(lambda q: self.size(q) <= room, LOWEST_QUALITY, 100)


MAP_CARRIERS = ("png", "jpeg")


def check_map_carrier(carrier: str) -> None:
    """For an explicit --residual-map: say before any work that this carrier cannot hold one."""
    if carrier not in MAP_CARRIERS:
        raise GamutError(f"a residual map needs a PNG or JPEG carrier, not {carrier.upper()}")


def sealed(blob: Blob, residual_map: ResidualMap) -> tuple[bytes, bytes]:
    """(blob bytes, packed map) that name each other: the blob records the map's digest
    (taken with the map's blob-digest field zeroed), then the map records the blob's."""
    from gamut_onnx.blob import pack_blob
    from gamut_onnx.container.residual_map import map_digest

    digest = map_digest(pack_map(residual_map))
    blob_bytes = pack_blob(dataclasses.replace(blob, residual_map_digest=digest))
    named = dataclasses.replace(residual_map, blob_digest=blob_digest(blob_bytes))
    return blob_bytes, pack_map(named)


def with_residual_map(
    prep, result, provider: str = "auto", restored=None, errors=None, reserve: int = 0
):
    """(`result` (codec.EncodeResult) with a residual map in its carrier when one fits the
    budget and improves the whole-image PSNR, the restore a decoder makes of it (a
    scoring.GatedRestore) or None, the map or None); `residual_map` in the report says what
    and why.

    `restored` (a GatedRestore) and `errors` (its scoring.GatedError) are the restore of
    `result.blob` and its error when the caller has them (the encoder's scoring restore): a
    12 MP restore costs more than a second. The budget leaves `reserve` bytes for
    the source lattice's record (exporters/lattice.py)."""
    if result.model == "none" or prep.carrier not in MAP_CARRIERS:
        why = "no model" if result.model == "none" else f"{prep.carrier.upper()} carrier"
        return (
            dataclasses.replace(result, residual_map={"chosen": False, "why": why}),
            restored,
            None,
        )
    budget = map_budget(result.file_bytes) - reserve
    report = {"chosen": False, "budget": budget}
    if budget < MIN_MAP_BYTES:
        report["why"] = f"budget under {MIN_MAP_BYTES} bytes"
        return dataclasses.replace(result, residual_map=report), restored, None
    blob = unpack_blob(result.blob)
    if restored is None or errors is None:
        restored, errors = restore_of(prep, blob, provider)
    gate = restored.gate
    error = masked(prep.prophoto, gate)  # the truth, then truth - restore in place: during the
    error -= restored.values  # search (AVIF encodes, the encode's peak) it is the one [n, 3] held
    # Weighted coding spends more bytes on dark pixels; where even its lowest quality does not
    # fit, the unweighted map may (one dev photo of 31).
    for power in (WEIGHT_POWER, 0.0):
        found = largest_within(error, gate, result.blob, prep.seen, budget, power)
        if found is not None:
            break
    del error
    if found is None:
        report["why"] = "lowest quality does not fit the budget"
        return dataclasses.replace(result, residual_map=report), restored, None
    residual_map, quality = found
    samples, codes = masked(map_samples(residual_map), gate), masked(prep.seen, gate)
    fixed = corrected(restored.values, samples, codes, residual_map, blob.carrier_transform)
    diff = fixed - masked(prep.prophoto, gate)  # float32, as metrics.squared_error takes them
    scores = errors.replaced(np.einsum("ij,ij->i", diff, diff)).psnr()
    packed = pack_map(residual_map)
    report.update(
        bytes=len(packed),
        quality=quality,
        weight_power=residual_map.weight_power,
        psnr_without=result.psnr,
        **scores,
    )
    if scores["psnr"] <= errors.psnr()["psnr"]:  # the same sums without the map
        report["why"] = "does not improve the whole image"
        return dataclasses.replace(result, residual_map=report), restored, None
    report.update(chosen=True, psnr_og_without=result.psnr_og)
    blob_bytes, packed = sealed(blob, residual_map)
    report["bytes"] = len(packed)
    mapped = result.rewritten(prep, blob_bytes, packed, residual_map=report, **scores)
    return mapped, dataclasses.replace(restored, values=fixed), residual_map


def restore_of(prep, blob: Blob, provider: str = "auto"):
    """(GatedRestore, its scoring.GatedError) of `blob`'s restore of the carrier, for callers
    without the encoder's scoring restore."""
    from gamut_onnx.runtime import RestoreSession
    from gamut_onnx.scoring import GatedError, restore_and_error

    bands = RestoreSession(provider).bands(prep.seen, blob)
    gate = gate_of(prep.seen, blob)
    error, restored = restore_and_error(bands, prep.prophoto, gate, blob)
    return restored, GatedError.of(error, gate, prep.og)
