"""`eval` and `meta-train`: the commands that fit many images."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from gamut_onnx.cli.common import (
    Device,
    app,
    check_output,
    fit_progress,
    print_json,
)
from gamut_onnx.errors import GamutError


@app.command("eval")
def eval_command(
    paths: Annotated[list[Path], typer.Argument(help="Ground-truth ProPhoto images or folders.")],
    method: Annotated[
        str,
        typer.Option(help="Comma-separated: clip, soft-clip and fit recipes (default, paper...)."),
    ] = "clip,default",
    carrier: Annotated[str, typer.Option(help="png, tiff or jpeg:QUALITY.")] = "png",
    out: Annotated[
        Path | None, typer.Option(help="Folder for eval.csv/.json/.md and figures/ (pictures).")
    ] = None,
    steps: Annotated[
        int | None, typer.Option(min=1, help="Override every preset's optimiser steps.")
    ] = None,
    batch: Annotated[int | None, typer.Option(min=1, help="Override samples per step.")] = None,
    seed: Annotated[int | None, typer.Option(help="Override the fit's random seed.")] = None,
    residual_map: Annotated[
        bool | None,
        typer.Option(
            "--residual-map/--no-residual-map",
            help="Override whether the presets add a residual map (on but for plain and paper).",
        ),
    ] = None,
    lattice: Annotated[
        bool | None,
        typer.Option(
            "--lattice/--no-lattice",
            help="Override whether the presets snap onto the source's code lattice.",
        ),
    ] = None,
    device: Annotated[Device, typer.Option(help="Where to fit.")] = Device.auto,
    provider: Annotated[str, typer.Option(help="onnxruntime provider for restores.")] = "auto",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Score methods on ground-truth photos through the full encode -> carrier -> restore path.

    Example: gamut-onnx eval ../shared/data/dev --method clip,soft-clip,default --out report/
    """
    import contextlib

    from gamut_onnx import evaluate

    methods = [m.strip() for m in method.split(",") if m.strip()]
    evaluate.check_methods(methods, carrier)
    images = evaluate.find_images(paths)
    on_image = None
    if out is not None:
        from gamut_onnx.evaluate import plots

        if out.exists() and not out.is_dir():
            raise GamutError(f"--out {out} exists and is not a folder")
        plots.require_matplotlib()
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise GamutError(f"cannot create --out {out}: {exc.strerror or exc}") from None

        def on_image(result: evaluate.ImageResult) -> None:
            plots.write_pictures(result, out / "figures")

    show = not as_json and sys.stderr.isatty()
    bar, progress = evaluate.progress_bar(len(images) * len(methods)) if show else (None, None)
    with bar or contextlib.nullcontext():
        rows = evaluate.evaluate(
            images,
            methods,
            carrier,
            device.value,
            provider,
            progress,
            on_image,
            overrides={
                "steps": steps,
                "batch": batch,
                "seed": seed,
                "residual_map": residual_map,
                "lattice": lattice,
            },
        )
    if out is not None:
        evaluate.write_reports(rows, out)
        plots.write_charts(evaluate.means(rows), out / "figures")
    if as_json:
        typer.echo(evaluate.report_json(rows))
    else:
        typer.echo(evaluate.report_markdown(rows), nl=False)


@app.command("meta-train")
def meta_train(
    paths: Annotated[list[Path], typer.Argument(help="Wide-gamut ProPhoto images or folders.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Init file (.npz) to write.")],
    width: Annotated[int, typer.Option(help="Hidden units: 16, 32, 64 or 128.")] = 32,
    octaves: Annotated[int, typer.Option(min=1, max=16, help="Sin/cos octaves.")] = 8,
    meta_steps: Annotated[int, typer.Option(min=1, help="Outer (Reptile) steps.")] = 300,
    inner_steps: Annotated[int, typer.Option(min=1, help="Fit steps per task.")] = 50,
    tasks_per_step: Annotated[int, typer.Option(min=1, help="Tasks averaged per step.")] = 4,
    crop: Annotated[int, typer.Option(min=32, help="Crop size (pixels) of each task.")] = 256,
    crops_per_image: Annotated[int, typer.Option(min=1, help="Random crops per photo.")] = 6,
    synthetic: Annotated[int, typer.Option(min=0, help="Generated scenes added as tasks.")] = 16,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    device: Annotated[Device, typer.Option(help="Where to train.")] = Device.auto,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Meta-learn an initialisation (Reptile) that makes per-image fits converge in few steps.

    Pass the result to `encode --init FILE`, or ship it as gamut_onnx/fit/init/meta_wW_oL.npz.
    Example: gamut-onnx meta-train photos/ -o init.npz
    """
    from gamut_onnx.evaluate import find_images
    from gamut_onnx.fit import preset as make_preset
    from gamut_onnx.fit.meta import meta_train_files

    check_output(output)
    config = make_preset("plain", width=width, octaves=octaves, seed=seed)  # inits: no context
    images = find_images(paths)
    bar, update = fit_progress(meta_steps, enabled=not as_json and sys.stderr.isatty())
    if bar is not None:
        bar.start()
    try:
        about = meta_train_files(
            images,
            output,
            config,
            crop=crop,
            crops_per_image=crops_per_image,
            synthetic=synthetic,
            seed=seed,
            progress=update,
            meta_steps=meta_steps,
            inner_steps=inner_steps,
            tasks_per_step=tasks_per_step,
            device=device.value,
        )
    finally:
        if bar is not None:
            bar.stop()
    if as_json:
        print_json({"output": str(output), **about})
    else:
        typer.echo(
            f"{output}: init for width {width}, {octaves} octaves, from {len(images)} images "
            f"and {synthetic} generated scenes in {about['seconds']:.0f} s"
        )
