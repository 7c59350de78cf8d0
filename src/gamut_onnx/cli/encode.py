"""`gamut-onnx encode`: a wide-gamut photo in, an sRGB carrier with its model out."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from gamut_onnx.cli.common import (
    Device,
    Gate,
    Quality,
    Weights,
    app,
    check_output,
    fit_progress,
    print_json,
)
from gamut_onnx.errors import GamutError


@app.command()
def encode(
    source: Annotated[Path, typer.Argument(help="16/8-bit or float ProPhoto TIFF, or 16-bit PNG.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Carrier: .png, .tif or .jpg.")],
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
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Reduce a wide-gamut photo to 8-bit sRGB and embed the model that restores it.

    Example: gamut-onnx encode photo_prophoto.tif -o photo.png
    """
    from gamut_onnx.codec import encode as encode_image
    from gamut_onnx.container.carrier import carrier_format_for
    from gamut_onnx.files import write_atomic
    from gamut_onnx.fit import preset as make_preset
    from gamut_onnx.read.inputs import read_prophoto

    fmt = carrier_format_for(output)  # fail on a bad extension before the slow part
    check_output(output, source)
    config = make_preset(
        quality.value,
        init=init,
        width=width,
        octaves=octaves,
        steps=steps,
        batch=batch,
        lr=lr,
        og_stride=og_stride,
        ig_stride=ig_stride,
        seed=seed,
    )
    image = read_prophoto(source)
    try:
        import torch  # noqa: F401
    except ImportError:
        raise GamutError(
            "encoding needs PyTorch: pip install 'gamut-onnx[fit]' (without a GPU, first: pip "
            "install torch --index-url https://download.pytorch.org/whl/cpu)"
        ) from None
    show_bar = not quiet and not as_json and sys.stderr.isatty()
    bar, update = fit_progress(config.steps, enabled=show_bar)
    if bar is not None:
        bar.start()
    try:
        result = encode_image(
            image.prophoto,
            image.alpha,
            carrier=fmt,
            jpeg_quality=jpeg_quality,
            closed_loop=not open_loop,
            config=config,
            weight_dtype={None: None, Weights.fp16: "float16", Weights.fp32: "float32"}[weights],
            gate=gate.value if gate else None,
            device=device.value,
            progress=update,
        )
    finally:
        if bar is not None:
            bar.stop()
    write_atomic(output, result.data)
    report = {"output": str(output), "quality": quality.value, **result.report()}
    if fmt == "jpeg":
        report.update(jpeg_quality=jpeg_quality, closed_loop=not open_loop)
    if as_json:
        print_json(report)
    else:
        model = (
            f"{result.blob_bytes} B model ({result.model})"
            if result.model != "none"
            else "no model (plain clipping scored best)"
        )
        typer.echo(
            f"{output}: {model}, {result.og_fraction:.1%} OG pixels, "
            f"PSNR {result.psnr_clip:.2f} -> {result.psnr:.2f} dB "
            f"(OG {result.psnr_og_clip:.2f} -> {result.psnr_og:.2f} dB), "
            f"fit {result.fit_s:.1f} s on {result.device}"
        )
