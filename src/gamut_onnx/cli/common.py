"""What every command shares: the Typer app, option choices, output checks and printing."""

from __future__ import annotations

import json
import math
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
_state = {"debug": False}  # set by the --debug option, read by main()


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


def warn(message: str) -> None:
    typer.echo(f"warning: {message}", err=True)


def _json_safe(value):
    """JSON has no inf/nan: report them as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def print_json(data: dict) -> None:
    typer.echo(json.dumps({k: _json_safe(v) for k, v in data.items()}))


def fit_progress(total: int, enabled: bool):
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
    max_pixels: Annotated[
        int | None,
        typer.Option(
            "--max-pixels",
            min=1,
            help="Refuse images larger than this many pixels, from their headers "
            "(default 250,000,000; or GAMUT_ONNX_MAX_PIXELS).",
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option(
            "--version", is_eager=True, callback=_print_version, help="Print the version."
        ),
    ] = False,
) -> None:
    _state["debug"] = debug
    from gamut_onnx.limits import set_max_pixels

    set_max_pixels(max_pixels)


def check_output(output: Path, *inputs: Path) -> None:
    """Fail before the slow part: the folder must exist and no input may be overwritten."""
    if not output.parent.is_dir():
        raise GamutError(f"cannot write {output}: folder {output.parent} does not exist")
    for source in inputs:
        if source.exists() and output.exists() and output.resolve() == source.resolve():
            raise GamutError(f"output {output} would overwrite the input; choose another name")
