"""One file in, one file out: the jobs the CLI runs for a single photo and a batch runs for each.

Each job reads its input, does the work, writes its output atomically and returns a report (a
JSON-ready dict). Every failure the user can cause is a GamutError with one line; the output is
then never created. Options are plain dataclasses so that batch workers (processes, Ray tasks)
receive exactly what the command line said.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from gamut_onnx.cores import one_blas_thread
from gamut_onnx.errors import GamutError
from gamut_onnx.files import check_writable

TORCH_HINT = (
    "encoding needs PyTorch: pip install 'gamut-onnx[fit]' (without a GPU, first: pip "
    "install torch --index-url https://download.pytorch.org/whl/cpu)"
)


@dataclass(frozen=True)
class EncodeOptions:
    """Everything `gamut-onnx encode` takes besides the paths."""

    quality: str = "default"
    overrides: dict = field(default_factory=dict)  # FitConfig fields: width, steps, seed, ...
    jpeg_quality: int = 90
    closed_loop: bool = True
    weight_dtype: str | None = None
    gate: str | None = None
    device: str = "auto"
    input_space: str | None = None


@dataclass(frozen=True)
class DecodeOptions:
    """Everything `gamut-onnx decode` takes besides the paths."""

    space: str = "source"
    depth: str | None = None
    provider: str = "auto"
    strict: bool = False
    tile: int = 0  # 0: the provider's default (runtime/session.py)
    quality: int | None = None  # AVIF only; None: lossless


def check_paths(source: Path, output: Path) -> None:
    """Fail before the slow part: an unwritable output, or one that would replace the input."""
    if source.exists() and output.exists() and output.resolve() == source.resolve():
        raise GamutError(f"output {output} would overwrite the input; choose another name")
    check_writable(output)


@dataclass
class Staged:
    """A photo read and reduced, waiting for its fit (a batch fits many at once)."""

    source: Path
    output: Path
    prepared: object  # codec.Prepared
    description: str
    space_name: str
    clipped_fraction: float
    read_s: float
    start: float
    grids: object = None  # runtime.feeds.Grids of the carrier, when the fit uses context


def import_torch() -> None:
    """Import torch for the fit (about 0.9 s) once the photo is read and reduced, not on a
    thread beside them: the import holds the GIL most of the time, so there the reading and
    the reduction ran 3x slower, and the PNG compression, which starts with the reduction, ran
    beside the fit instead of beside the import (a 12 MP camera JPEG or HEIC took 0.4 s more;
    docs/results.md). The cyclic collector is paused during the import, then one collection and
    a freeze: the import makes hundreds of thousands of objects that live until exit, which the
    collector would otherwise walk again and again (0.3-0.45 of an encode's CPU-seconds); the
    collection first, so that no garbage cycle of the moment is frozen with them."""
    import gc
    import sys

    if sys.modules.get("torch") is not None:  # imported already (a batch worker's later files)
        return
    collecting = gc.isenabled()
    gc.disable()
    try:
        import torch  # noqa: F401
    except ImportError:
        raise GamutError(TORCH_HINT) from None
    finally:
        if collecting:
            gc.collect()
            gc.freeze()
            gc.enable()


@one_blas_thread()
def stage_file(source: str | os.PathLike, output: str | os.PathLike, options: EncodeOptions):
    """The first half of `encode_file`: checks, reading, the reduction (no torch needed)."""
    from gamut_onnx.codec import prepare
    from gamut_onnx.container.carrier import carrier_format_for
    from gamut_onnx.exporters.residual_map import check_map_carrier
    from gamut_onnx.fit import preset
    from gamut_onnx.read import read_prophoto

    start = time.perf_counter()
    source, output = Path(source), Path(output)
    fmt = carrier_format_for(output)  # a bad suffix fails before anything slow
    if options.overrides.get("residual_map"):  # asked for explicitly, not by the preset
        check_map_carrier(fmt)
    check_paths(source, output)
    config = preset(options.quality, **options.overrides)
    image = read_prophoto(source, options.input_space)
    read_s = time.perf_counter() - start
    prepared = prepare(
        image.prophoto,
        image.alpha,
        carrier=fmt,
        jpeg_quality=options.jpeg_quality,
        closed_loop=options.closed_loop,
        config=config,
        weight_dtype=options.weight_dtype,
        gate=options.gate,
        source=image.space,
        source_levels=image.levels,
    )
    grids = prepared.context_grids() if prepared.needs_fit else None
    import_torch()  # the fit needs it: say so before the slow part
    return Staged(source, output, prepared, image.description, image.space_name,
                  image.clipped_fraction, read_s, start, grids)  # fmt: skip


@one_blas_thread()
def finish_file(staged: Staged, fitted, options: EncodeOptions) -> dict:
    """The second half: score the fit (a FitResult, or None), write the carrier, report."""
    from gamut_onnx.codec import finish
    from gamut_onnx.files import write_atomic

    result = finish(staged.prepared, fitted, grids=staged.grids)
    write_atomic(staged.output, result.data)
    report = {
        "input": str(staged.source),
        "output": str(staged.output),
        "source": staged.description,
        "source_space": staged.space_name,
        "source_clipped_fraction": staged.clipped_fraction,
        "quality": options.quality,
        **result.report(),
        "read_s": staged.read_s,
        "total_s": time.perf_counter() - staged.start,
    }
    if result.carrier == "jpeg":
        report.update(jpeg_quality=options.jpeg_quality, closed_loop=options.closed_loop)
    return report


def encode_file(
    source: str | os.PathLike,
    output: str | os.PathLike,
    options: EncodeOptions = EncodeOptions(),
    progress: Callable[[int, float], None] | None = None,
) -> dict:
    """Read a photo, fit, write the carrier; the report `encode --json` prints."""
    from gamut_onnx.fit import fit

    staged = stage_file(source, output, options)
    prep = staged.prepared
    fitted = None
    if prep.needs_fit:
        fitted = fit(prep.fit_pixels, prep.prophoto, prep.og, prep.config,
                     boundary_margin=prep.train_margin, device=options.device,
                     progress=progress, grids=staged.grids)  # fmt: skip
    return finish_file(staged, fitted, options)


def decode_file(
    carrier: str | os.PathLike,
    output: str | os.PathLike,
    options: DecodeOptions = DecodeOptions(),
) -> dict:
    """Read a carrier, restore, write the image; the report `decode --json` prints.

    Without --strict a damaged model gives the plain sRGB photo and one warning (the photo is
    fine); a file without a usable model takes the model of its sidecar (`FILE.gamut`)."""
    from gamut_onnx.container.carrier import read_carrier
    from gamut_onnx.container.sidecar import sidecar_path
    from gamut_onnx.runtime.decode import check_blob
    from gamut_onnx.write import check_quality, output_format
    from gamut_onnx.write.decoded import decode_to_file

    start = time.perf_counter()
    carrier, output = Path(carrier), Path(output)
    check_quality(output_format(output), options.quality)
    check_paths(carrier, output)
    side = sidecar_path(carrier)
    early = check_blob if options.strict and not side.is_file() else None
    found, source = with_sidecar(read_carrier(carrier, check=early), side)
    report = decode_to_file(
        found,
        output,
        space=options.space,
        depth=options.depth,
        provider=options.provider,
        strict=options.strict,
        tile=options.tile,
        quality=options.quality,
        fallback=not options.strict,
    )
    h, w = found.srgb8.shape[:2]
    return {
        "input": str(carrier),
        "output": str(output),
        "width": w,
        "height": h,
        "restored": report.restored,
        "model": source if report.restored or source == "none" else "ignored",
        **({"sidecar": str(side)} if source == "sidecar" else {}),
        "residual_map": report.residual_map,
        "space": report.space,
        "depth": report.depth,
        "quality": report.quality,
        "provider": report.provider,
        "decode_s": report.decode_s,
        "total_s": time.perf_counter() - start,
        "warnings": report.warnings,
    }


def with_sidecar(found, side: Path):
    """(carrier, where its model comes from: "embedded", "sidecar" or "none"). The sidecar is
    used when the file holds no usable model; a damaged sidecar is the model's damage."""
    import dataclasses

    from gamut_onnx.blob import check_image_size, unpack_blob
    from gamut_onnx.container.sidecar import read_sidecar

    embedded = found.blob is not None or found.model_damage is not None
    if found.blob is not None and found.model_damage is None:
        try:
            check_image_size(unpack_blob(found.blob), *found.srgb8.shape[:2], turned=True)
            return found, "embedded"
        except GamutError:
            pass
    if not side.is_file():
        return found, "embedded" if embedded else "none"
    try:
        model = read_sidecar(side)
    except GamutError as exc:
        return dataclasses.replace(found, blob=None, model_damage=str(exc)), "sidecar"
    replaced = dataclasses.replace(
        found, blob=model.blob, residual_map=model.residual_map, model_damage=None, notes=()
    )
    return replaced, "sidecar"
