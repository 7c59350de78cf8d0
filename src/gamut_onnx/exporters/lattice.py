"""The encoder's lattice (blob record 131): which code lattice the source's colours sit on, and
which pixels the restore should move onto it.

An 8- or 10-bit source (its reader says so) has its own space's lattice. A 16-bit or float file
may still hold 8-bit colours (a JPEG or HEIC converted to 16-bit ProPhoto): a sample of its
pixels is tested against each named space's 8-bit lattice. The encoder then scores snapping the
carrier's own colours and the restored colours separately, against the truth, and keeps what
lowers the error (colour/lattice.snap, the graph's twin, so the scores are what decode gives).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from gamut_onnx.colour.lattice import (
    MAX_LEVELS,
    MODE_SELECTED,
    MODE_UNSELECTED,
    Lattice,
    buckets_ok,
    pack_lattice,
    parse_lattice,
    record_bytes,
    snap,
)
from gamut_onnx.colour.spaces import NAMED_SPACES, ColourSpace, rgb_to_rgb_matrix, space_name
from gamut_onnx.colour.transfer import HDR_TRANSFERS, TRANSFERS
from gamut_onnx.errors import GamutError
from gamut_onnx.exporters.lattice_sums import class_sums, selected_sums, unselected_sums
from gamut_onnx.pixels import masked

DETECT_SAMPLES = 200_000  # pixels tested against each candidate lattice
# Snapped onto the lattice it came from (code values fitted), a sample of a 16-bit file holding
# 8-bit colours keeps 90-109 dB on the dev set; any other lattice, or true 16-bit colours,
# lose the 8-bit quantisation: 31-68 dB. So the first lattice over the bar is the one.
DETECT_PSNR = 80.0
CANDIDATES = ("display-p3", "adobe-rgb", "srgb", "rec2020", "prophoto")
OG_TOLERANCE = 0.1  # dB of OG PSNR the lattice may cost against a map of the whole budget
BAND = 1 << 19  # pixels measured at a time (float temporaries of a few tens of MB)
FIT_SAMPLES = 2_000_000  # pixels whose colours measure the code values


def _checked(lattice: Lattice) -> Lattice | None:
    """`lattice` if every reader accepts its record (the reader's own checks) and `snap` finds
    the nearest code with it, else None."""
    try:
        parse_lattice(pack_lattice(lattice))
    except GamutError:
        return None
    return lattice if buckets_ok(lattice.codes) else None


def named_lattice(space: ColourSpace, levels: int) -> Lattice | None:
    """The lattice of `levels` codes per channel of a named space (None for HDR transfers)."""
    if space.transfer in HDR_TRANSFERS or not 2 <= levels <= MAX_LEVELS:
        return None
    to_prophoto = rgb_to_rgb_matrix(space.primaries, "prophoto")
    codes = TRANSFERS[space.transfer][0](np.arange(levels) / (levels - 1)).astype(np.float32)
    return _checked(
        Lattice(
            np.linalg.inv(to_prophoto).astype(np.float32),
            to_prophoto.astype(np.float32),
            codes[None, :],
            name=f"{space_name(space)}, {levels} codes",
        )
    )


def icc_lattice(profile) -> Lattice | None:
    """The 8-bit lattice of a matrix/TRC ICC profile, factored from the reader's own per-channel
    tables (LittleCMS) as to_prophoto x codes; None for LUT profiles or a black above zero."""
    from gamut_onnx.colour.cms import _separable_tables

    tables = _separable_tables(profile.data, 256)
    if tables is None or np.abs(tables[0][0]).max() > 1e-6:
        return None
    parts = tables.astype(np.float64) - tables[:, :1, :]
    columns = parts[:, -1, :]  # [channel, prophoto]: each channel's colour at full code
    codes = (
        np.einsum("cvk,ck->cv", parts, columns) / np.einsum("ck,ck->c", columns, columns)[:, None]
    )
    if np.abs(codes[:, :, None] * columns[:, None, :] - parts).max() > 1e-6:
        return None  # not a matrix times per-channel curves
    return _one_curve(np.linalg.inv(columns.T), columns.T, codes, "ICC profile, 256 codes")


def _one_curve(to_source, to_prophoto, codes: np.ndarray, name: str, mode: int = 3):
    """A lattice of [3, L] per-channel code values stored as one curve and a gain per channel,
    folded into the matrices: this keeps the record at 1 KB for 256 codes. Measured curves
    differ by a scale of up to 3e-4 between channels (a converter's matrix), and by 1e-4 once
    it is taken out. None when the result is not a lattice `snap` can use."""
    curve = codes.mean(axis=0)
    for _ in range(3):
        gains = codes @ curve / (curve @ curve)
        curve = (codes / gains[:, None]).mean(axis=0)
    return _checked(
        Lattice(
            (np.diag(1 / gains) @ np.asarray(to_source, np.float64)).astype(np.float32),
            (np.asarray(to_prophoto, np.float64) @ np.diag(gains)).astype(np.float32),
            curve[None, :].astype(np.float32),
            mode,
            name,
        )
    )


def _source_codes(truth: np.ndarray, lattice: Lattice) -> tuple[np.ndarray, np.ndarray]:
    """([3, N] the truth in the source's linear light, [3, N] each value's nearest code)."""
    from gamut_onnx.colour.lattice import thresholds

    source = lattice.source_linear(truth)
    mids = thresholds(lattice.codes)
    return source, np.stack([np.searchsorted(mids[c], source[c]) for c in range(3)])


def fitted_codes(truth: np.ndarray, lattice: Lattice) -> Lattice:
    """`lattice` with each code's linear value measured: the mean of the truth's values (linear
    ProPhoto, ...x3; a sample of FIT_SAMPLES) nearest to it, in the source's linear light.
    A converter's tone curve (an ICC profile's, LittleCMS's rounding) differs from the named
    space's formula by up to 1e-3; measured values put a 16-bit file made from 8-bit colours
    back within 1e-4. Codes no pixel uses keep their formula value; an unusable result keeps
    `lattice`."""
    flat = truth.reshape(-1, 3)
    flat = flat[:: max(1, len(flat) // FIT_SAMPLES)]
    counts = np.zeros((3, lattice.levels))
    sums = np.zeros((3, lattice.levels))
    for start in range(0, len(flat), BAND):
        source, codes = _source_codes(np.ascontiguousarray(flat[start : start + BAND].T), lattice)
        for c in range(3):
            counts[c] += np.bincount(codes[c], minlength=lattice.levels)
            sums[c] += np.bincount(codes[c], source[c], minlength=lattice.levels)
    measured = np.broadcast_to(lattice.codes, (3, lattice.levels)).astype(np.float64)
    used = counts > 0
    measured[used] = sums[used] / counts[used]
    fitted = _one_curve(
        lattice.to_source, lattice.to_prophoto, measured, lattice.name, lattice.mode
    )
    return fitted or lattice


def detected_lattice(prophoto: np.ndarray, own: ColourSpace | None) -> Lattice | None:
    """The named 8-bit lattice a sample of a deep image's colours sits on, if any: the first
    candidate (the image's own space, then the common ones) that keeps DETECT_PSNR."""
    from gamut_onnx.metrics import psnr

    flat = prophoto.reshape(-1, 3)
    sample = np.ascontiguousarray(flat[:: max(1, len(flat) // DETECT_SAMPLES)].T, np.float32)
    spaces = [NAMED_SPACES[name] for name in CANDIDATES]
    if own is not None and own not in spaces:
        spaces.insert(0, own)
    for space in spaces:
        lattice = named_lattice(space, 256)
        if lattice is None:
            continue
        lattice = fitted_codes(sample.T, lattice)
        if psnr(snap(sample, lattice), sample) >= DETECT_PSNR:
            return lattice
    return None


def source_lattice(prophoto: np.ndarray, space, levels: int) -> Lattice | None:
    """The lattice the photo's colours sit on: its own for 8/10-bit samples, else detected."""
    from gamut_onnx.colour.cms import IccProfile

    if 2 <= levels <= MAX_LEVELS:
        if isinstance(space, IccProfile):
            return icc_lattice(space) if levels == 256 else None
        return named_lattice(space, levels) if space is not None else None
    return detected_lattice(prophoto, space if isinstance(space, ColourSpace) else None)


def choose_mode(sums: np.ndarray) -> tuple[int, np.ndarray]:
    """(lattice mode, [2 (all, OG)] ProPhoto error sums of that choice). Each kind of pixel (the
    MLP's or not) is snapped where that lowers its total squared error and costs its OG pixels
    at most OG_TOLERANCE dB, in linear ProPhoto and in the source's own linear space (the two
    weigh channels differently: a choice made in one alone cost 0.6 dB OG in the other)."""
    worst = 10 ** (OG_TOLERANCE / 10)
    mode, chosen = 0, sums[0].sum(axis=0)[..., 0]
    for kind, bit in enumerate((MODE_UNSELECTED, MODE_SELECTED)):
        before, after = sums[0, kind], sums[1, kind]
        if after[0, 0] < before[0, 0] and np.all(after[1] <= before[1] * worst):
            mode |= bit
            chosen = chosen + after[:, 0] - before[:, 0]
    return mode, chosen


def with_lattice(
    prep, result, restored=None, residual_map=None, provider: str = "auto", measured=None
):
    """`result` (codec.EncodeResult) with record 131 in its blob when snapping lowers the
    whole image's error; `lattice` in the report says what and why. `restored` is the
    decoder's restore of `result` (with its map; a scoring.GatedRestore) when the caller has
    it; `residual_map` the map the carrier holds, which is sealed again to the new blob;
    `measured` (the lattice with its codes measured, a future of its `unselected_sums` for the
    same gate) when the caller started them."""
    from gamut_onnx.blob import unpack_blob
    from gamut_onnx.exporters.residual_map import restore_of

    lattice = prep.lattice
    if lattice is None or result.model == "none":
        why = "no model" if lattice is not None else "no source lattice found"
        return dataclasses.replace(result, lattice={"chosen": False, "why": why})
    blob = unpack_blob(result.blob)
    if restored is None:
        restored = restore_of(prep, blob, provider)[0]
    gate = restored.gate
    if measured is not None:
        lattice, unselected = measured[0], measured[1].result()
    else:
        lattice = fitted_codes(prep.prophoto, lattice)
        unselected = unselected_sums(
            prep.seen, prep.prophoto, prep.og, gate, restored.transform, lattice
        )
    truth, og = masked(prep.prophoto, gate), masked(prep.og, gate)
    selected = selected_sums(restored.values, truth, og, lattice)
    mode, chosen = choose_mode(class_sums(unselected, selected))
    report = {"chosen": bool(mode), "lattice": lattice.name}
    if not mode:
        return dataclasses.replace(result, lattice={**report, "why": "snapping does not help"})
    blob = dataclasses.replace(blob, lattice=lattice.with_mode(mode))
    blob_bytes, packed = _sealed(blob, residual_map)
    channels = 3 * np.array([prep.og.size, prep.og.sum()])
    psnr, psnr_og = (-10 * np.log10(chosen / channels)).tolist()
    scores = {"psnr": psnr, "psnr_og": psnr_og}
    report.update(
        mode=mode,
        bytes=record_bytes(blob.lattice),
        psnr_without=result.psnr,
        psnr_og_without=result.psnr_og,
        **scores,
    )
    return result.rewritten(prep, blob_bytes, packed, lattice=report, **scores)


def with_map_and_lattice(prep, result, restored, errors, provider: str = "auto"):
    """`result` with the residual map (when the recipe asks) and then the lattice. The record's
    bytes come out of the map's budget. On a small file, where that budget is 1 % of the file
    rather than the 48 KB cap, they are a large share of it: a map of the whole budget without
    the lattice is scored too, and the lattice kept only if it gives the better whole image and
    costs the OG pixels at most OG_TOLERANCE dB."""
    from concurrent.futures import ThreadPoolExecutor

    from gamut_onnx.exporters.residual_map import MAX_EXTRA_BYTES, map_budget, with_residual_map

    if not prep.config.residual_map:
        return with_lattice(prep, result, restored, None, provider)
    reserve = record_bytes(prep.lattice)
    plain = None
    # The map's AVIF search leaves a core idle much of the time: the lattice's sums over the
    # pixels no map changes are taken there meanwhile, on one thread (its codes are measured
    # first, here: their temporaries are large beside the search's).
    with ThreadPoolExecutor(1) as beside:
        measured = None
        if prep.lattice is not None and result.model != "none" and restored is not None:
            lattice = fitted_codes(prep.prophoto, prep.lattice)
            args = prep.seen, prep.prophoto, prep.og, restored.gate, restored.transform, lattice
            measured = lattice, beside.submit(unselected_sums, *args, parallel=False)
        if reserve and map_budget(result.file_bytes) < MAX_EXTRA_BYTES:
            plain = with_residual_map(prep, result, provider, restored, errors)[0]
        mapped, restored, residual_map = with_residual_map(
            prep, result, provider, restored, errors, reserve
        )
        snapped = with_lattice(prep, mapped, restored, residual_map, provider, measured)
    if plain is None or (
        snapped.psnr > plain.psnr and snapped.psnr_og >= plain.psnr_og - OG_TOLERANCE
    ):
        return snapped
    why = "a residual map of the whole budget measured better"
    report = {
        "chosen": False,
        "why": why,
        "psnr_with": snapped.psnr,
        "psnr_og_with": snapped.psnr_og,
    }
    return dataclasses.replace(plain, lattice=report)


def _sealed(blob, residual_map) -> tuple[bytes, bytes | None]:
    """(blob bytes, packed map or None): a map is sealed again to the changed blob."""
    from gamut_onnx.blob import pack_blob
    from gamut_onnx.exporters.residual_map import sealed

    return sealed(blob, residual_map) if residual_map is not None else (pack_blob(blob), None)


def with_lattice_record(data: bytes, lattice: Lattice | None) -> bytes:
    """A PNG or JPEG carrier file with `lattice` as its blob's record 131 (None: without one),
    its residual map sealed to the new blob (conformance vectors, benchmarks)."""
    from gamut_onnx.blob import unpack_blob
    from gamut_onnx.container.attach import with_model
    from gamut_onnx.container.carrier import decode_carrier
    from gamut_onnx.container.residual_map import unpack_map
    from gamut_onnx.container.sidecar import Sidecar

    found = decode_carrier(data)
    blob = dataclasses.replace(unpack_blob(found.blob), lattice=lattice)
    residual_map = unpack_map(found.residual_map) if found.residual_map is not None else None
    return with_model(data, found, Sidecar(*_sealed(blob, residual_map)))
