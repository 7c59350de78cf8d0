"""A carrier's restore written straight to a file: the restore's row bands (runtime/decode.py)
go through the output graph into the writer as they come, so a command-line decode holds the
carrier and a band or two, whatever the image size (docs/design.md)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from gamut_onnx.colour.cms import IccProfile
from gamut_onnx.colour.spaces import space_name
from gamut_onnx.container.carrier import Carrier
from gamut_onnx.runtime.decode import ahead, as_given, checked, fitted_pixels, output_space
from gamut_onnx.runtime.session import RestoreSession
from gamut_onnx.write import (
    check_quality,
    coded_space,
    output_format,
    resolve_depth,
    write_restored,
)
from gamut_onnx.write.avif import LOSSLESS


@dataclass
class DecodeReport:
    """What `decode_to_file` did, for the CLI's line and --json."""

    restored: bool
    warnings: list[str]
    provider: str
    decode_s: float
    space: str  # the output's colour space, as --space names it (or "icc")
    depth: str
    residual_map: bool = False
    quality: int | None = None  # AVIF's encoder quality (100: lossless); None for other formats


def decode_to_file(
    carrier: Carrier,
    output: str | os.PathLike,
    *,
    space: str = "source",
    depth: str | None = None,
    provider: str = "auto",
    strict: bool = False,
    tile: int | None = None,
    quality: int | None = None,
    fallback: bool = False,
) -> DecodeReport:
    """Restore and write `output` (format from its suffix) in `space`, streaming row bands;
    `fallback`: a damaged model gives the plain sRGB photo and a warning (runtime/decode.py)."""
    start = time.perf_counter()
    fmt = output_format(output)
    check_quality(fmt, quality)
    blob, residual_map, warnings = checked(carrier, strict, fallback)
    target = coded_space(fmt, output_space(space, blob))
    depth = resolve_depth(fmt, depth, target)
    session = RestoreSession(provider, tile=tile or 0)
    alpha = carrier.alpha

    def bands():
        if carrier.orientation == 1:
            restored = session.bands(carrier.srgb8, blob, residual_map=residual_map)
        else:  # a turned carrier: the whole restore, turned like the file, then its bands
            whole = session.restore(fitted_pixels(carrier), blob, residual_map=residual_map)
            whole = as_given(carrier, whole)
            restored = ((top, whole[top : top + 256]) for top in range(0, len(whole), 256))
        for top, rows in ahead(restored):
            yield rows, None if alpha is None else alpha[top : top + rows.shape[0]]

    h, w = carrier.srgb8.shape[:2]
    write_restored(output, bands(), w, h, alpha is not None, target, depth, quality)
    return DecodeReport(
        restored=blob is not None,
        warnings=warnings,
        provider=session.provider,
        decode_s=time.perf_counter() - start,
        space="icc" if isinstance(target, IccProfile) else space_name(target),
        depth=depth,
        residual_map=residual_map is not None,
        quality=(LOSSLESS if quality is None else quality) if fmt == "avif" else None,
    )
