"""`decode`, `inspect` and `export-onnx`: the commands that need no PyTorch."""

from __future__ import annotations

import importlib.util
import zlib
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from gamut_onnx.cli.batch import (
    BATCH_HELP,
    Jobs,
    JsonPerFile,
    Overwrite,
    Quiet,
    RayAddress,
    Recursive,
    Resume,
    is_batch,
    run_batch_command,
    single_output_check,
)
from gamut_onnx.cli.common import (
    app,
    check_output,
    print_json,
    warn,
)
from gamut_onnx.errors import GamutError


def _check_tile(value: int) -> int:
    if 0 < value < 16:
        raise typer.BadParameter(f"{value} is too small (0 for the default, or at least 16)")
    return value


@app.command()
def decode(
    carriers: Annotated[
        list[str],
        typer.Argument(help="PNG, TIFF or JPEG carriers written by `encode`, folders or globs."),
    ],
    output: Annotated[
        Path,
        typer.Option(
            "-o", "--output", help="Restored image (.png, .tif, .avif or .jxl), or a folder."
        ),
    ],
    space: Annotated[
        str,
        typer.Option(
            help="Colour space of the output: source (the photo's own), prophoto, "
            "prophoto-linear, display-p3, adobe-rgb, rec2020, srgb, srgb-linear, ..."
        ),
    ] = "source",
    depth: Annotated[
        str | None,
        typer.Option(help="Bits: 16 (PNG, TIFF, JXL), 10 or 12 (AVIF), float (linear TIFF)."),
    ] = None,
    quality: Annotated[
        int | None,
        typer.Option(min=0, max=100, help="AVIF encoder quality, 0-100; default 100, lossless."),
    ] = None,
    provider: Annotated[
        str, typer.Option(help="onnxruntime provider: auto, cpu or cuda.")
    ] = "auto",
    strict: Annotated[
        bool,
        typer.Option(
            help="Fail instead of warning (no model, a damaged model, edits); without it a "
            "damaged model gives the plain sRGB photo."
        ),
    ] = False,
    tile: Annotated[
        int,
        typer.Option(
            min=0,
            callback=_check_tile,
            help="Tile size in pixels, >= 16; bounds memory (0: 256 on CPU, 4096 on CUDA).",
        ),
    ] = 0,
    recursive: Recursive = False,
    jobs: Jobs = 1,
    resume: Resume = False,
    overwrite: Overwrite = False,
    ray: RayAddress = None,
    fmt: Annotated[
        str, typer.Option("--format", help=BATCH_HELP["format"] + " png, tif, avif or jxl.")
    ] = "png",
    as_json: JsonPerFile = False,
    quiet: Quiet = False,
) -> None:
    """Restore wide-gamut images into each photo's own colour space (no PyTorch needed).

    Example: gamut-onnx decode IMG_1234.png -o restored.png
    """
    from gamut_onnx.jobs import DecodeOptions, decode_file

    options = DecodeOptions(
        space=space, depth=depth, provider=provider, strict=strict, tile=tile, quality=quality
    )
    if is_batch(carriers, output) or ray:
        run_batch_command(
            "decode", carriers, output, options, fmt=fmt, recursive=recursive, jobs=jobs,
            resume=resume, overwrite=overwrite, ray=ray, as_json=as_json, quiet=quiet,
        )  # fmt: skip
        return
    single_output_check(output, overwrite)
    report = decode_file(carriers[0], output, options)
    for message in report["warnings"]:
        warn(message)
    if as_json:
        print_json(report)
    else:
        typer.echo(decode_line(report))


def decode_line(report: dict) -> str:
    model = report.get("model")
    what = "restored" if report["restored"] else "expanded (no model)"
    what = "expanded (damaged model ignored)" if model == "ignored" else what
    what += " from its sidecar" if report["restored"] and model == "sidecar" else ""
    what += " with its residual map" if report.get("residual_map") else ""
    quality = report.get("quality")
    coding = "" if quality is None else " lossless" if quality == 100 else f" quality {quality}"
    return (
        f"{report['output']}: {report['width']}x{report['height']} {what} in "
        f"{report['decode_s']:.2f} s ({report['provider']}), {report['space']} "
        f"{'float32' if report['depth'] == 'float' else report['depth'] + '-bit'}{coding}"
    )


@app.command()
def inspect(
    carrier: Annotated[Path, typer.Argument(help="A PNG, TIFF or JPEG carrier.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Show what is embedded: model architecture, sizes, checksums.

    Example: gamut-onnx inspect photo.png --json
    """
    from gamut_onnx.blob import unpack_blob
    from gamut_onnx.colour.lattice import lattice_facts
    from gamut_onnx.container.carrier import read_carrier
    from gamut_onnx.runtime.decode import matching_orientation

    found = read_carrier(carrier)
    h, w = found.srgb8.shape[:2]
    info = {
        "file": str(carrier),
        "carrier": found.format,
        "image_width": w,
        "image_height": h,
        "alpha": found.alpha is not None,
        "has_model": found.blob is not None,
    }
    if found.model_damage is not None:  # the model's chunk or segments cannot be read
        info["model_damage"] = found.model_damage
    if found.blob is not None:
        blob = unpack_blob(found.blob)
        info.update(
            blob_bytes=len(found.blob),
            format_version=blob.format_version,
            width=blob.width,
            hidden_layers=blob.hidden_layers,
            octaves=blob.octaves,
            context=blob.context,
            weight_dtype=blob.weight_dtype,
            source_space=blob.source_space,
            source_icc_bytes=len(blob.source_icc or b""),
            carrier_transform=blob.carrier_transform,
            gated=blob.gated,
            boundary_margin=blob.boundary_margin,
            model_image_size=[blob.image_width, blob.image_height],
            blob_crc32=f"{zlib.crc32(found.blob[:-4]):08x}",
            pixel_digest=blob.pixel_digest.hex(),
            pixel_digest_ok=matching_orientation(found, blob) is not None,
            lattice=lattice_facts(blob.lattice),
        )
    if found.residual_map is not None:
        info["residual_map_bytes"] = len(found.residual_map)
    if as_json:
        print_json(info)
        return
    for key, value in info.items():
        typer.echo(f"{key:>18}: {value}")


@app.command("export-onnx")
def export_onnx(
    output: Annotated[
        Path, typer.Option("-o", "--output", help="Where to write the .onnx (a folder: all three).")
    ],
    graph: Annotated[
        str, typer.Option(help="Which shipped graph: restore, grids or output.")
    ] = "restore",
    bake: Annotated[Path | None, typer.Option(help="Carrier whose weights to bake in.")] = None,
) -> None:
    """Write the shipped graphs (restore, grids, output), or a standalone restore model with one
    image's weights, grids and residual map baked in.

    Examples: gamut-onnx export-onnx -o graphs/; gamut-onnx export-onnx -o restore.onnx;
    gamut-onnx export-onnx --bake photo.png -o photo.onnx
    """
    from gamut_onnx.files import write_atomic
    from gamut_onnx.runtime import GRAPHS

    if bake is None and output.is_dir():
        for path in GRAPHS.values():
            write_atomic(output / path.name, path.read_bytes())
        typer.echo(f"{output}: {', '.join(p.name for p in GRAPHS.values())}")
        return
    check_output(output, *([bake] if bake else []))
    if bake is None:
        if graph not in GRAPHS:
            raise GamutError(f"unknown graph {graph!r} (choose {', '.join(GRAPHS)})")
        write_atomic(output, GRAPHS[graph].read_bytes())
        typer.echo(f"{output}: the {graph} graph ({output.stat().st_size} bytes)")
        return
    if importlib.util.find_spec("onnx") is None:
        raise GamutError("--bake needs the onnx package: pip install 'gamut-onnx[export]'")
    from gamut_onnx.container.carrier import read_carrier
    from gamut_onnx.exporters.graph import bake_restore_graph
    from gamut_onnx.runtime.decode import checked, fitted_pixels
    from gamut_onnx.runtime.feeds import UNUSED_SAMPLES
    from gamut_onnx.runtime.session import RestoreSession

    carrier = read_carrier(bake)
    blob, residual_map, warnings = checked(carrier, strict=False)
    if blob is None:
        raise GamutError(f"{bake} carries no gamut-onnx model to bake")
    for message in warnings:
        warn(message)
    params = residual_map.params if residual_map else None
    pixels = fitted_pixels(carrier)  # a baked graph restores the image as fitted
    feeds = RestoreSession("cpu").feeds(pixels, blob, map_params=params)
    feeds["origin"] = np.zeros(2, np.int64)
    feeds["map_samples"] = residual_map.samples if residual_map else UNUSED_SAMPLES
    h, w = pixels.shape[:2]
    write_atomic(output, bake_restore_graph(feeds, h, w).SerializeToString())
    typer.echo(f"{output}: standalone model for {w}x{h} pixels")
