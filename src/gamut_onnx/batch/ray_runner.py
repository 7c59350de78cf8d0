"""Batches on a Ray cluster: one Ray task per file, on a shared filesystem or object-store path.

Ray (an existing distributed engine, not a scheduler of ours) places the tasks on the cluster's
CPUs or GPUs, retries a task whose worker died (`max_retries`) and reports results as they
finish; the driver writes the same manifest as a local run, so `--resume` works the same.
`--ray auto` joins the cluster this machine belongs to (RAY_ADDRESS or a running head) or, when
there is none, starts a local one; `--ray local` always starts one; any other value is an
address (`ray://host:10001`, `host:6379`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from gamut_onnx.batch.plan import Task
from gamut_onnx.batch.run import Executor, run_one
from gamut_onnx.errors import GamutError
from gamut_onnx.optional import require

RETRIES = 3  # a task whose worker dies is run again this many times


def connect(address: str, cpus: int | None = None) -> None:
    """Join or start Ray quietly (its logs go to its session folder, not our stderr)."""
    ray = require("ray", "--ray")
    if ray.is_initialized():
        return
    quiet = {"logging_level": logging.ERROR, "log_to_driver": False, "include_dashboard": False}
    if address == "local":
        ray.init(num_cpus=cpus, **quiet)
        return
    try:
        ray.init(address="auto" if address == "auto" else address, **quiet)
    except ConnectionError:
        if address != "auto":
            raise GamutError(f"cannot reach the Ray cluster at {address}") from None
        ray.init(num_cpus=cpus, **quiet)  # no cluster here: a local one


def ray_executor(address: str, cpus_per_task: float = 1, gpus_per_task: float = 0) -> Executor:
    def execute(kind: str, tasks: list[Task], options) -> Iterator[dict]:
        ray = require("ray", "--ray")
        if not tasks:
            return
        connect(address)
        remote = ray.remote(num_cpus=cpus_per_task, num_gpus=gpus_per_task, max_retries=RETRIES)(
            run_one
        )
        pending = {remote.remote(kind, t.source, t.output, options): t for t in tasks}
        while pending:
            finished, _ = ray.wait(list(pending), num_returns=1)
            for ref in finished:
                task = pending.pop(ref)
                try:
                    yield ray.get(ref)
                except ray.exceptions.RayError as exc:  # died more often than RETRIES
                    yield {
                        "input": str(task.source),
                        "output": str(task.output),
                        "kind": kind,
                        "status": "error",
                        "error": f"Ray task failed ({type(exc).__name__}): rerun with --resume",
                    }

    return execute
