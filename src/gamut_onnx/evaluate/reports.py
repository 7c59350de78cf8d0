"""Eval reports: per-method means, JSON/CSV/Markdown tables and the progress bar."""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import asdict
from pathlib import Path

import numpy as np

from gamut_onnx.evaluate.harness import METRICS, EvalRow


def progress_bar(total: int):
    """A rich progress bar on stderr over images x methods, naming the current pair; returns
    (bar, update) where update(image, method) is evaluate()'s progress callback."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    task = bar.add_task("evaluating", total=total)
    done = [0]

    def update(image: str, method: str) -> None:
        bar.update(task, completed=done[0], description=f"{image} · {method}")
        done[0] += 1

    return bar, update


def means(rows: list[EvalRow]) -> dict[str, dict[str, float]]:
    """Per-method means of every numeric metric (NaNs, e.g. images without OG pixels, skipped)."""
    out = {}
    for method in dict.fromkeys(r.method for r in rows):
        values = [asdict(r) for r in rows if r.method == method]
        out[method] = {k: float(np.nanmean([v[k] for v in values])) for k in METRICS}
    return out


def _finite(value):
    return value if not isinstance(value, float) or math.isfinite(value) else None


def report_json(rows: list[EvalRow]) -> str:
    """{"images": [...], "means": {METHOD: {...}}}, with NaN/inf as null."""
    images = [{k: _finite(v) for k, v in asdict(r).items()} for r in rows]
    avg = {m: {k: _finite(v) for k, v in d.items()} for m, d in means(rows).items()}
    return json.dumps({"images": images, "means": avg})


def report_csv(rows: list[EvalRow]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(asdict(rows[0])))
    writer.writeheader()
    writer.writerows(asdict(r) for r in rows)
    return buffer.getvalue()


def report_markdown(rows: list[EvalRow]) -> str:
    """Per-image table, then the per-method means."""
    cols = (
        "psnr",
        "psnr_og",
        "psnr_ig",
        "de2000_og_mean",
        "de2000_og_p95",
        "psnr_og_src",
        "fit_s",
        "restore_s",
        "blob_bytes",
    )
    head = "| image | method | " + " | ".join(cols) + " |\n|---|---|" + "---|" * len(cols)
    lines = [head]
    for r in rows:
        d = asdict(r)
        lines.append(
            f"| {r.image} | {r.method} | " + " | ".join(f"{d[c]:.2f}" for c in cols) + " |"
        )
    lines += ["", "| method | " + " | ".join(cols) + " |", "|---|" + "---|" * len(cols)]
    for method, d in means(rows).items():
        lines.append(f"| {method} | " + " | ".join(f"{d[c]:.2f}" for c in cols) + " |")
    return "\n".join(lines) + "\n"


def write_reports(rows: list[EvalRow], folder: Path) -> None:
    """eval.csv, eval.json and eval.md in `folder`, each written atomically."""
    from gamut_onnx.files import write_atomic

    folder.mkdir(parents=True, exist_ok=True)
    write_atomic(folder / "eval.csv", report_csv(rows).encode())
    write_atomic(folder / "eval.json", report_json(rows).encode())
    write_atomic(folder / "eval.md", report_markdown(rows).encode())
