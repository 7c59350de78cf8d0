"""Run a batch: decide what each task needs, run the tasks on an executor, record each result.

The driver plans the tasks, skips outputs that exist (kept, unless `overwrite`) or that the
manifest vouches for (`resume`), hands the rest to an executor (this process, a pool of worker
processes, or Ray) and appends one manifest line per finished file. One bad file never stops
the batch; the summary counts what happened.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from gamut_onnx.batch import manifest
from gamut_onnx.batch.plan import Task
from gamut_onnx.errors import GamutError, one_line
from gamut_onnx.files import TEMP_SUFFIX

KINDS = ("encode", "decode")


@dataclass
class Summary:
    done: int = 0
    kept: int = 0
    failed: int = 0
    warned: int = 0  # done, with warnings (a damaged model decoded as plain sRGB, edits, ...)
    seconds: float = 0.0
    manifest: Path | None = None
    records: list[dict] = field(default_factory=list)

    def line(self) -> str:
        total = self.done + self.kept + self.failed
        rate = self.done / self.seconds if self.seconds > 0 else 0.0
        return (
            f"{total} files: {self.done} done, {self.kept} kept (already there), "
            f"{self.failed} failed, {self.warned} with warnings in {self.seconds:.1f} s "
            f"({rate * 60:.1f} per minute); "
            f"manifest {self.manifest}"
        )


def ok_record(kind: str, task: Task, report: dict, seconds: float = 0.0) -> dict:
    """The manifest record of a finished file: its report and both files' checksums."""
    record = {"input": str(task.source), "output": str(task.output), "kind": kind}
    record.update(report, status="ok", seconds=seconds or report.get("total_s", 0.0))
    record.update(
        input_bytes=task.source.stat().st_size,
        input_sha256=manifest.sha256_file(task.source),
        output_bytes=task.output.stat().st_size,
        output_sha256=manifest.sha256_file(task.output),
    )
    return record


def error_record(kind: str, task: Task, exc: BaseException) -> dict:
    """The manifest record of a failed file: its one-line error."""
    if isinstance(exc, GamutError):
        message = str(exc)
    elif isinstance(exc, OSError):
        message = f"{task.source}: {exc.strerror or exc}"
    else:  # a bug in our code: said as such, and the batch goes on
        message = f"internal error: {type(exc).__name__}: {exc}"
    return {"input": str(task.source), "output": str(task.output), "kind": kind,
            "status": "error", "error": one_line(message)}  # fmt: skip


def run_one(kind: str, source: Path, output: Path, options) -> dict:
    """Do one task and return its manifest record; every failure becomes an error record."""
    from gamut_onnx.jobs import decode_file, encode_file

    start = time.perf_counter()
    task = Task(Path(source), Path(output))
    try:
        task.output.parent.mkdir(parents=True, exist_ok=True)
        work = encode_file if kind == "encode" else decode_file
        report = work(task.source, task.output, options)
        record = ok_record(kind, task, report, time.perf_counter() - start)
    except Exception as exc:  # noqa: BLE001 (one bad file never stops the batch)
        record = error_record(kind, task, exc)
    record["seconds"] = time.perf_counter() - start
    return record


def remove_leftovers(out_dir: Path) -> int:
    """Delete temporary files a killed run or a killed worker left behind (only our own, by
    their name)."""
    removed = 0
    for path in out_dir.rglob(f".*{TEMP_SUFFIX}"):
        path.unlink(missing_ok=True)
        removed += 1
    return removed


Executor = Callable[[str, list[Task], object], Iterator[dict]]


def inline_executor(kind: str, tasks: list[Task], options) -> Iterator[dict]:
    for task in tasks:
        yield run_one(kind, task.source, task.output, options)


def run_batch(
    kind: str,
    tasks: Iterable[Task],
    out_dir: Path,
    options,
    *,
    executor: Executor = inline_executor,
    overwrite: bool = False,
    resume: bool = False,
    on_record: Callable[[dict], None] | None = None,
    on_total: Callable[[int], None] | None = None,
) -> Summary:
    """Run every task whose output is not already there; returns the counts."""
    if kind not in KINDS:
        raise GamutError(f"unknown batch kind {kind!r}")
    start = time.perf_counter()
    out_dir.mkdir(parents=True, exist_ok=True)
    remove_leftovers(out_dir)
    summary = Summary(manifest=out_dir / manifest.MANIFEST_NAME)
    previous = manifest.read(summary.manifest) if resume else {}
    todo = []
    tasks = list(tasks)
    if on_total is not None:
        on_total(len(tasks))

    def finish(record: dict) -> None:
        if record["status"] == "ok":
            summary.done += 1
            summary.warned += bool(record.get("warnings"))
        elif record["status"] == "kept":
            summary.kept += 1
        else:
            summary.failed += 1
        if record["status"] != "kept":
            manifest.append(summary.manifest, record)
        summary.records.append(record)
        if on_record is not None:
            on_record(record)

    for task in tasks:
        base = {"input": str(task.source), "output": str(task.output), "kind": kind}
        if task.problem:
            finish({**base, "status": "error", "error": task.problem})
        elif resume and manifest.still_valid(
            previous.get(str(task.source)), task.source, task.output
        ):
            finish({**base, "status": "kept", "reason": "done in an earlier run (manifest)"})
        elif task.output.exists() and not (overwrite or resume):
            finish({**base, "status": "kept", "reason": "output exists (--overwrite replaces it)"})
        else:
            todo.append(task)
    for record in executor(kind, todo, options):
        finish(record)
    remove_leftovers(out_dir)  # a worker killed while writing, whose task ran again elsewhere
    summary.seconds = time.perf_counter() - start
    return summary


def worker_threads(jobs: int) -> int:
    """Each of `jobs` workers gets an equal share of the cores (at least one thread)."""
    from gamut_onnx.cores import cpu_threads

    return max(1, cpu_threads() // max(jobs, 1))


def _init_worker(threads: int) -> None:
    os.environ["OMP_NUM_THREADS"] = str(threads)  # read by torch and our runtime at first use


def drain(kind: str, pending: dict) -> Iterator[dict]:
    """The records of process-pool futures (future -> Task) as they finish; the file of a
    worker that died (killed, out of memory) gets an error record, and the batch goes on."""
    from concurrent.futures import FIRST_COMPLETED, wait
    from concurrent.futures.process import BrokenProcessPool

    while pending:
        finished, _ = wait(pending, return_when=FIRST_COMPLETED)
        for future in finished:
            task = pending.pop(future)
            try:
                yield future.result()
            except BrokenProcessPool:
                died = GamutError("a worker process died (killed?): rerun with --resume")
                yield error_record(kind, task, died)


def process_executor(jobs: int) -> Executor:
    """`jobs` worker processes (spawned, so each starts clean), tasks handed out as they free."""

    def execute(kind: str, tasks: list[Task], options) -> Iterator[dict]:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        if not tasks:
            return
        context = multiprocessing.get_context("spawn")
        threads = worker_threads(jobs)
        with ProcessPoolExecutor(jobs, context, _init_worker, (threads,)) as pool:
            pending = {pool.submit(run_one, kind, t.source, t.output, options): t for t in tasks}
            yield from drain(kind, pending)

    return execute
