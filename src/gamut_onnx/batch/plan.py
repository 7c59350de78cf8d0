"""Which files a batch command works on, and where each output goes.

Inputs are files, folders (their photos; with `recursive`, the whole tree) and glob patterns.
Outputs go into one folder, mirroring each input folder's relative tree, with the carrier's or
restored image's suffix. Two inputs that would write the same output are both refused.
"""

from __future__ import annotations

import glob
from dataclasses import dataclass
from pathlib import Path

from gamut_onnx.errors import GamutError
from gamut_onnx.paths import is_photo_name

GLOB_CHARS = set("*?[")


@dataclass(frozen=True)
class Task:
    """One file to process: where it comes from and goes, or why it cannot run."""

    source: Path
    output: Path
    problem: str | None = None  # a one-line reason this task fails before it starts


def _expand(arg: str, recursive: bool) -> list[tuple[Path, Path]]:
    """(file, the folder its relative output path starts from) for one command-line input."""
    path = Path(arg)
    if path.is_dir():
        if recursive:  # every photo in the tree (a folder named like a photo is a folder)
            return [(p, path) for p in sorted(path.rglob("*")) if p.is_file() and is_photo_name(p)]
        # One level: whatever is named like a photo; a folder named so fails as its own task.
        return [(p, path) for p in sorted(path.iterdir()) if is_photo_name(p)]
    if path.exists() or not GLOB_CHARS & set(arg):
        return [(path, path.parent)]  # a file (or a missing one: its task reports that)
    matches = sorted(Path(m) for m in glob.glob(arg, recursive=recursive))
    if not matches:
        raise GamutError(f"{arg}: no file matches")
    return [(m, m.parent) for m in matches if m.is_file()]


def plan(inputs: list[str], out_dir: Path, suffix: str, recursive: bool) -> list[Task]:
    """One task per input photo, output in `out_dir` (relative trees mirrored), `suffix` applied."""
    tasks: list[Task] = []
    owners: dict[Path, Path] = {}
    seen: set[Path] = set()
    for arg in inputs:
        for source, root in _expand(arg, recursive):
            if source.resolve() in seen:  # named twice (a folder and a glob, say): once
                continue
            seen.add(source.resolve())
            output = out_dir / source.relative_to(root).with_suffix(suffix)
            tasks.append(Task(source, output))
            owners.setdefault(output.resolve(), source)
    clashes = {}
    for task in tasks:
        owner = owners[task.output.resolve()]
        if owner != task.source:
            clashes[task.source] = owner
            clashes.setdefault(owner, task.source)
    return [
        Task(t.source, t.output, f"{t.output} would also be written from {clashes[t.source]}")
        if t.source in clashes
        else t
        for t in tasks
    ]
