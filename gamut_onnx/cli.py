"""The `gamut-onnx` command line.

Exit codes: 0 success, 1 a problem with the input or environment (one line on stderr),
2 a usage error. `--debug` shows tracebacks.
"""

from __future__ import annotations

import json
import math
import sys
import zlib
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from gamut_onnx import __version__
from gamut_onnx.errors import GamutError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    help="Keep wide-gamut colour in 8-bit sRGB files: a per-image GamutMLP rides in the file.",
    epilog=(
        "Examples:\n\n"
        "  gamut-onnx encode photo_prophoto.tif -o photo.png\n\n"
        "  gamut-onnx decode photo.png -o restored.tif\n\n"
        "  gamut-onnx inspect photo.png --json\n\n"
        "  gamut-onnx export-onnx -o restore.onnx"
    ),
)
_state = {"debug": False}


class Quality(str, Enum):
    fast = "fast"
    default = "default"
    best = "best"
    paper = "paper"


class Device(str, Enum):
    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"


class Gate(str, Enum):
    auto = "auto"
    on = "on"
    off = "off"


class Weights(str, Enum):
    fp16 = "fp16"
    fp32 = "fp32"


def _warn(message: str) -> None:
    typer.echo(f"warning: {message}", err=True)


def _json_safe(value):
    """JSON has no inf/nan: report them as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _print_json(data: dict) -> None:
    typer.echo(json.dumps({k: _json_safe(v) for k, v in data.items()}))


def _fit_progress(total: int, enabled: bool):
    """A rich progress bar with the running loss, on stderr; a no-op when disabled."""
    if not enabled:
        return None, None
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(
        TextColumn("fitting"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("loss {task.fields[loss]}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    task = bar.add_task("fit", total=total, loss="-")

    def update(step: int, loss: float) -> None:
        bar.update(task, completed=step, loss=f"{loss:.3g}")

    return bar, update


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"gamut-onnx {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", is_eager=True, callback=_print_version, help="Print the version."
        ),
    ] = False,
) -> None:
    _state["debug"] = debug


def _check_output(output: Path, *inputs: Path) -> None:
    """Fail before the slow part: the folder must exist and no input may be overwritten."""
    if not output.parent.is_dir():
        raise GamutError(f"cannot write {output}: folder {output.parent} does not exist")
    for source in inputs:
        if source.exists() and output.exists() and output.resolve() == source.resolve():
            raise GamutError(f"output {output} would overwrite the input; choose another name")


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
    from gamut_onnx.carrier import carrier_format_for
    from gamut_onnx.codec import encode as encode_image
    from gamut_onnx.files import write_atomic
    from gamut_onnx.fit import preset as make_preset
    from gamut_onnx.inputs import read_prophoto

    fmt = carrier_format_for(output)  # fail on a bad extension before the slow part
    _check_output(output, source)
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
        raise GamutError('encoding needs PyTorch: pip install "gamut-onnx[fit]"') from None
    show_bar = not quiet and not as_json and sys.stderr.isatty()
    bar, update = _fit_progress(config.steps, enabled=show_bar)
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
        _print_json(report)
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


@app.command()
def decode(
    carrier: Annotated[Path, typer.Argument(help="A PNG, TIFF or JPEG written by `encode`.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="16-bit ProPhoto TIFF.")],
    provider: Annotated[
        str, typer.Option(help="onnxruntime provider: auto, cpu or cuda.")
    ] = "auto",
    strict: Annotated[
        bool, typer.Option(help="Fail instead of warning (no model, edits).")
    ] = False,
    tile: Annotated[int, typer.Option(min=16, help="Tile size in pixels (bounds memory).")] = 512,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Restore the wide-gamut image (no PyTorch needed).

    Example: gamut-onnx decode photo.png -o restored.tif
    """
    from gamut_onnx.carrier import read_carrier, write_restored_tiff
    from gamut_onnx.codec import decode as decode_carrier

    if output.suffix.lower() not in (".tif", ".tiff"):
        raise GamutError(f"output must be a .tif file, not '{output.suffix or output.name}'")
    _check_output(output, carrier)
    result = decode_carrier(read_carrier(carrier), provider=provider, strict=strict, tile=tile)
    for message in result.warnings:
        _warn(message)
    write_restored_tiff(output, result.prophoto, result.alpha)
    h, w = result.prophoto.shape[:2]
    if as_json:
        _print_json(
            {
                "output": str(output),
                "width": w,
                "height": h,
                "restored": result.restored,
                "provider": result.provider,
                "decode_s": result.decode_s,
                "warnings": result.warnings,
            }
        )
    else:
        what = "restored" if result.restored else "expanded (no model)"
        typer.echo(f"{output}: {w}x{h} {what} in {result.decode_s:.2f} s ({result.provider})")


@app.command()
def inspect(
    carrier: Annotated[Path, typer.Argument(help="A PNG, TIFF or JPEG carrier.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Show what is embedded: model architecture, sizes, checksums.

    Example: gamut-onnx inspect photo.png --json
    """
    from gamut_onnx.blob import unpack_blob
    from gamut_onnx.carrier import read_carrier

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
    if found.blob is not None:
        blob = unpack_blob(found.blob)
        info.update(
            blob_bytes=len(found.blob),
            format_version=blob.format_version,
            width=blob.width,
            hidden_layers=blob.hidden_layers,
            octaves=blob.octaves,
            weight_dtype=blob.weight_dtype,
            source_space=blob.source_space,
            gated=blob.gated,
            model_image_size=[blob.image_width, blob.image_height],
            blob_crc32=f"{zlib.crc32(found.blob[:-4]):08x}",
            pixel_digest=blob.pixel_digest.hex(),
            pixel_digest_ok=blob.pixel_digest == found.digest,
        )
    if as_json:
        _print_json(info)
        return
    for key, value in info.items():
        typer.echo(f"{key:>18}: {value}")


@app.command("export-onnx")
def export_onnx(
    output: Annotated[Path, typer.Option("-o", "--output", help="Where to write the .onnx.")],
    bake: Annotated[Path | None, typer.Option(help="Carrier whose weights to bake in.")] = None,
) -> None:
    """Write the fixed restore graph, or a standalone model with one image's weights baked in.

    Examples: gamut-onnx export-onnx -o restore.onnx;
    gamut-onnx export-onnx --bake photo.png -o photo.onnx
    """
    from gamut_onnx.files import write_atomic
    from gamut_onnx.runtime import GRAPH_PATH

    _check_output(output, *([bake] if bake else []))
    if bake is None:
        write_atomic(output, GRAPH_PATH.read_bytes())
        typer.echo(f"{output}: fixed restore graph ({output.stat().st_size} bytes)")
        return
    from gamut_onnx.carrier import read_carrier
    from gamut_onnx.codec import read_blob
    from gamut_onnx.exporters.graph import bake_restore_graph

    blob, warnings = read_blob(read_carrier(bake))
    if blob is None:
        raise GamutError(f"{bake} carries no gamut-onnx model to bake")
    for message in warnings:
        _warn(message)
    write_atomic(output, bake_restore_graph(blob).SerializeToString())
    typer.echo(f"{output}: standalone model for {blob.image_width}x{blob.image_height} pixels")


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
        from gamut_onnx import plots

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
            overrides={"steps": steps, "batch": batch, "seed": seed},
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

    Pass the result to `encode --init FILE`, or ship it as gamut_onnx/init/meta_wW_oL.npz.
    Example: gamut-onnx meta-train photos/ -o init.npz
    """
    from gamut_onnx.evaluate import find_images
    from gamut_onnx.fit import preset as make_preset
    from gamut_onnx.meta import meta_train_files

    _check_output(output)
    config = make_preset("default", width=width, octaves=octaves, seed=seed)
    images = find_images(paths)
    bar, update = _fit_progress(meta_steps, enabled=not as_json and sys.stderr.isatty())
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
        _print_json({"output": str(output), **about})
    else:
        typer.echo(
            f"{output}: init for width {width}, {octaves} octaves, from {len(images)} images "
            f"and {synthetic} generated scenes in {about['seconds']:.0f} s"
        )


@app.command()
def sample(
    output: Annotated[Path, typer.Option("-o", "--output", help="16-bit ProPhoto TIFF.")],
    width: Annotated[int, typer.Option(min=8, max=8192)] = 384,
    height: Annotated[int, typer.Option(min=8, max=8192)] = 256,
    seed: Annotated[int, typer.Option()] = 0,
) -> None:
    """Render the built-in synthetic wide-gamut scene (no download needed).

    Example: gamut-onnx sample -o sample.tif --width 640 --height 480
    """
    from gamut_onnx.carrier import write_restored_tiff
    from gamut_onnx.sample import synthetic_scene

    write_restored_tiff(output, synthetic_scene(width, height, seed), None)
    typer.echo(f"{output}: {width}x{height} synthetic ProPhoto scene")


@app.command()
def demo(
    folder: Annotated[Path, typer.Argument(help="Where to write the demo files.")] = Path("demo"),
) -> None:
    """The main job on the built-in sample: sample -> encode -> decode, with PSNR numbers.

    Example: gamut-onnx demo out/
    """
    from gamut_onnx.carrier import read_carrier
    from gamut_onnx.colour import out_of_gamut_mask, srgb8_to_prophoto
    from gamut_onnx.inputs import read_prophoto
    from gamut_onnx.metrics import psnr

    folder.mkdir(parents=True, exist_ok=True)
    source, carrier, restored = (
        folder / "sample.tif",
        folder / "sample.png",
        folder / "restored.tif",
    )
    sample(source)
    encode(source, carrier)
    decode(carrier, restored)
    truth = read_prophoto(source).prophoto
    back = read_prophoto(restored).prophoto
    clipped = srgb8_to_prophoto(read_carrier(carrier).srgb8)
    og = out_of_gamut_mask(truth)
    typer.echo(
        f"demo: PSNR on out-of-gamut pixels, plain sRGB {psnr(clipped, truth, og):.2f} dB -> "
        f"restored {psnr(back, truth, og):.2f} dB (whole image {psnr(clipped, truth):.2f} -> "
        f"{psnr(back, truth):.2f} dB); files in {folder}/"
    )


def main() -> None:
    """Entry point: one-line errors and exit codes instead of tracebacks."""
    try:
        app()  # standalone mode: typer reports usage errors itself, with exit code 2
    except GamutError as exc:
        if _state["debug"]:
            raise
        typer.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # a bug: still one line unless --debug
        if _state["debug"]:
            raise
        typer.echo(
            f"error: internal error: {type(exc).__name__}: {exc} (rerun with --debug)", err=True
        )
        sys.exit(1)
