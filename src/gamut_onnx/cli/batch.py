"""How `encode` and `decode` take many files: the batch options, the choice between one file and
a batch, progress on a terminal or JSON lines, and the summary."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from gamut_onnx.batch.plan import GLOB_CHARS
from gamut_onnx.cli.common import print_json
from gamut_onnx.errors import GamutError

BATCH_HELP = {
    "recursive": "Folders: take the photos in subfolders too (the tree is mirrored).",
    "jobs": "Files processed at once, each in its own process with a share of the cores.",
    "resume": "Skip files the output folder's manifest lists as done and still valid.",
    "overwrite": "Replace outputs that exist (they are kept otherwise).",
    "ray": "Run on a Ray cluster: auto (this machine's cluster, or a local one), local, or "
    "an address.",
    "format": "Output format for a folder of outputs (suffix without the dot).",
    "fit_batch": "Fit up to this many photos at once on --device (B models in one step: a "
    "GPU's way to keep up with many cores); --jobs processes read, score and write.",
}

# The batch options as `encode` and `decode` both take them.
Recursive = Annotated[bool, typer.Option(help=BATCH_HELP["recursive"])]
Jobs = Annotated[int, typer.Option(min=1, help=BATCH_HELP["jobs"])]
Resume = Annotated[bool, typer.Option(help=BATCH_HELP["resume"])]
Overwrite = Annotated[bool, typer.Option(help=BATCH_HELP["overwrite"])]
RayAddress = Annotated[str | None, typer.Option(help=BATCH_HELP["ray"])]
JsonPerFile = Annotated[
    bool, typer.Option("--json", help="Print one JSON object (one per file in a batch).")
]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")]


def is_batch(inputs: list[str], output: Path) -> bool:
    """Many files in, or a folder/glob in, or a folder out: a batch."""
    if len(inputs) > 1 or output.is_dir() or str(output).endswith(("/", "\\")):
        return True
    single = inputs[0]
    return Path(single).is_dir() or (not Path(single).exists() and bool(GLOB_CHARS & set(single)))


def single_output_check(output: Path, overwrite: bool) -> None:
    if output.exists() and not overwrite:
        raise GamutError(f"{output} exists: pass --overwrite to replace it")


def _progress(total_hint: int, enabled: bool):
    if not enabled:
        return None, None
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    task = bar.add_task("files", total=total_hint, rate="")
    return bar, task


def run_batch_command(
    kind: str,
    inputs: list[str],
    output: Path,
    options,
    *,
    fmt: str,
    recursive: bool,
    jobs: int,
    resume: bool,
    overwrite: bool,
    ray: str | None,
    as_json: bool,
    quiet: bool,
    fit_batch: int = 1,
) -> None:
    """Plan, run and report a batch; exit 1 when any file failed."""
    import time

    from gamut_onnx.batch.plan import plan
    from gamut_onnx.batch.run import inline_executor, process_executor, run_batch

    if output.exists() and not output.is_dir():
        raise GamutError(f"-o {output} must be a folder for many inputs")
    tasks = plan(inputs, output, "." + fmt.lower().lstrip("."), recursive)
    if ray:
        from gamut_onnx.batch.ray_runner import ray_executor

        gpus = 1.0 if getattr(options, "device", "cpu") == "cuda" else 0.0
        executor = ray_executor(ray, gpus_per_task=gpus)
    elif fit_batch > 1:
        from gamut_onnx.batch.fitted import fitted_executor

        executor = fitted_executor(fit_batch, jobs)
    elif jobs > 1:
        executor = process_executor(jobs)
    else:
        executor = inline_executor
    bar, bar_task = _progress(len(tasks), not quiet and not as_json and sys.stderr.isatty())
    start = time.perf_counter()
    counts = {"n": 0}

    def on_record(record: dict) -> None:
        counts["n"] += 1
        if as_json:
            print_json(record)
        elif record["status"] == "error":
            typer.echo(f"error: {record['error']}", err=True)
        if bar is not None:
            rate = counts["n"] / max(time.perf_counter() - start, 1e-9) * 60
            bar.update(bar_task, completed=counts["n"], rate=f"{rate:.1f}/min")

    if bar is not None:
        bar.start()
    try:
        summary = run_batch(
            kind, tasks, output, options, executor=executor, overwrite=overwrite,
            resume=resume, on_record=on_record,
        )  # fmt: skip
    finally:
        if bar is not None:
            bar.stop()
    if as_json:
        print_json({"summary": summary.line(), "done": summary.done, "kept": summary.kept,
                    "failed": summary.failed, "warned": summary.warned,
                    "seconds": summary.seconds})  # fmt: skip
    else:
        typer.echo(summary.line())
    if summary.failed:
        raise typer.Exit(1)
