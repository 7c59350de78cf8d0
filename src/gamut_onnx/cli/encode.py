"""`gamut-onnx encode`: a wide-gamut photo in, an sRGB carrier with its model out."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

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
    Device,
    Gate,
    Quality,
    Weights,
    app,
    fit_progress,
    print_json,
)


@app.command()
def encode(
    sources: Annotated[
        list[str],
        typer.Argument(
            help="Wide-gamut photos (TIFF, PNG, JPEG, HEIC, AVIF, JPEG XL, raw), folders or globs."
        ),
    ],
    output: Annotated[
        Path,
        typer.Option("-o", "--output", help="Carrier (.png, .tif or .jpg), or a folder for many."),
    ],
    input_space: Annotated[
        str | None,
        typer.Option(
            help="The photo's colour space when the file does not say (or says wrong): "
            "display-p3, adobe-rgb, prophoto, rec2020, srgb, ..."
        ),
    ] = None,
    jpeg_quality: Annotated[int, typer.Option(min=1, max=100, help="JPEG carrier quality.")] = 90,
    open_loop: Annotated[
        bool, typer.Option("--open-loop", help="JPEG: fit on pre-compression pixels (to compare).")
    ] = False,
    quality: Annotated[
        Quality,
        typer.Option(
            "--quality",
            "--preset",
            help="Fit recipe: fast, default, best (docs/results.md), or the paper's.",
        ),
    ] = Quality.default,
    width: Annotated[int | None, typer.Option(help="Hidden units: 16, 32, 64 or 128.")] = None,
    octaves: Annotated[int | None, typer.Option(min=1, max=16, help="Sin/cos octaves.")] = None,
    steps: Annotated[int | None, typer.Option(min=1, help="Optimiser steps.")] = None,
    batch: Annotated[int | None, typer.Option(min=1, help="Samples per step.")] = None,
    lr: Annotated[float | None, typer.Option(min=0.0, help="Adam learning rate.")] = None,
    og_stride: Annotated[int | None, typer.Option(min=1, help="Use every n-th OG pixel.")] = None,
    ig_stride: Annotated[int | None, typer.Option(min=1, help="Every n-th in-gamut pixel.")] = None,
    seed: Annotated[
        int | None, typer.Option(help="Random seed (CPU fits are deterministic).")
    ] = None,
    context: Annotated[
        bool | None,
        typer.Option(
            "--context/--no-context",
            help="Let the MLP see the carrier around each pixel (recipe's if unset; "
            "--no-context writes a model that gamut-onnx 0.x decoders read).",
        ),
    ] = None,
    residual_map: Annotated[
        bool | None,
        typer.Option(
            "--residual-map/--no-residual-map",
            help="Also store what the MLP leaves wrong as a small AVIF where it pays (PNG/JPEG "
            "carriers; at most 48 KB or 1 % of the file; recipe's if unset: on but for plain "
            "and paper). gamut-onnx 0.x restores without it.",
        ),
    ] = None,
    lattice: Annotated[
        bool | None,
        typer.Option(
            "--lattice/--no-lattice",
            help="Let the restore snap colours onto the source's own code lattice (8/10-bit "
            "sources, or 16-bit files holding 8-bit colours) where that pays (recipe's if "
            "unset: on but for plain and paper). Older decoders restore without it.",
        ),
    ] = None,
    device: Annotated[Device, typer.Option(help="Where to fit.")] = Device.auto,
    init: Annotated[
        str | None,
        typer.Option(help="meta (the shipped meta-learned weights), random, or an init file."),
    ] = None,
    weights: Annotated[
        Weights | None, typer.Option(help="Weight precision in the blob (recipe's if unset).")
    ] = None,
    gate: Annotated[
        Gate | None,
        typer.Option(help="MLP at boundary pixels only, everywhere, or auto (best PSNR)."),
    ] = None,
    recursive: Recursive = False,
    jobs: Jobs = 1,
    resume: Resume = False,
    overwrite: Overwrite = False,
    ray: RayAddress = None,
    fit_batch: Annotated[int, typer.Option(min=1, help=BATCH_HELP["fit_batch"])] = 1,
    fmt: Annotated[
        str, typer.Option("--format", help=BATCH_HELP["format"] + " png, tif or jpg.")
    ] = "png",
    as_json: JsonPerFile = False,
    quiet: Quiet = False,
) -> None:
    """Reduce wide-gamut photos to 8-bit sRGB and embed the model that restores each.

    Examples: gamut-onnx encode IMG_1234.HEIC -o IMG_1234.png;
    gamut-onnx encode ~/Pictures/2026/ -o carriers/ --recursive --jobs 2
    """
    from gamut_onnx.fit import preset as make_preset
    from gamut_onnx.jobs import EncodeOptions, encode_file

    overrides = {
        "init": init,
        "width": width,
        "octaves": octaves,
        "steps": steps,
        "batch": batch,
        "lr": lr,
        "og_stride": og_stride,
        "ig_stride": ig_stride,
        "seed": seed,
        "context": context,
        "residual_map": residual_map,
        "lattice": lattice,
    }
    options = EncodeOptions(
        quality=quality.value,
        overrides={k: v for k, v in overrides.items() if v is not None},
        jpeg_quality=jpeg_quality,
        closed_loop=not open_loop,
        weight_dtype={None: None, Weights.fp16: "float16", Weights.fp32: "float32"}[weights],
        gate=gate.value if gate else None,
        device=device.value,
        input_space=input_space,
    )
    steps_total = make_preset(options.quality, **options.overrides).steps
    if is_batch(sources, output) or ray or fit_batch > 1:
        run_batch_command(
            "encode", sources, output, options, fmt=fmt, recursive=recursive, jobs=jobs,
            resume=resume, overwrite=overwrite, ray=ray, as_json=as_json, quiet=quiet,
            fit_batch=fit_batch,
        )  # fmt: skip
        return
    single_output_check(output, overwrite)
    show_bar = not quiet and not as_json and sys.stderr.isatty()
    bar, update = fit_progress(steps_total, enabled=show_bar)
    if bar is not None:
        bar.start()
    try:
        report = encode_file(sources[0], output, options, progress=update)
    finally:
        if bar is not None:
            bar.stop()
    if as_json:
        print_json(report)
    else:
        typer.echo(encode_line(report))


def encode_line(report: dict) -> str:
    """The one-line summary of an encode report."""
    model = (
        f"{report['blob_bytes']} B model ({report['model']})"
        if report["model"] != "none"
        else "no model (plain clipping scored best)"
    )
    return (
        f"{report['output']}: {model}, {report['og_fraction']:.1%} OG pixels, "
        f"PSNR {report['psnr_clip']:.2f} -> {report['psnr']:.2f} dB "
        f"(OG {report['psnr_og_clip']:.2f} -> {report['psnr_og']:.2f} dB), "
        f"fit {report['fit_s']:.1f} s on {report['device']}; source: {report['source']}"
    )
