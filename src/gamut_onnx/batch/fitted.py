"""`--fit-batch B`: worker processes read, reduce, score and write the photos, while one fit
server in the driver trains their models on one device (a GPU), up to B at once.

Only the training pool crosses a process boundary (8 MB a photo at the default's 262,144
samples, not the ~600 MB of a staged 12 MP photo) and only the weights come back. Each worker
waits on its own reply queue, so the server fits whatever requests are waiting when it is free:
one at a time while the GPU keeps up, more as they queue (at most B, at most one per worker).
Group sizes are rounded up to a power of two (repeating a pool) so that a few captured CUDA
graphs serve every group.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Iterator

from gamut_onnx.batch.plan import Task
from gamut_onnx.batch.run import Executor, drain, error_record, ok_record, worker_threads
from gamut_onnx.errors import GamutError

_WORKER: dict = {}  # in each worker process: its index, the request queue, its reply queue


def _init_worker(threads: int, requests, replies, counter) -> None:
    os.environ["OMP_NUM_THREADS"] = str(threads)
    with counter.get_lock():
        index = counter.value
        counter.value += 1
    _WORKER.update(index=index, requests=requests, reply=replies[index])


def _remote_fit(staged):
    """Send the photo's pool to the fit server; a FitResult when the weights come back."""
    import numpy as np

    from gamut_onnx.fit.batched import Problem
    from gamut_onnx.fit.initial import initial_model
    from gamut_onnx.fit.model import load_parameters
    from gamut_onnx.fit.train import FitResult

    prepared = staged.prepared  # stage_file computed its context grids already
    problem = Problem(prepared.fit_pixels, prepared.prophoto, prepared.og,
                      prepared.train_margin, staged.grids)  # fmt: skip
    config = prepared.config
    _WORKER["requests"].put((_WORKER["index"], problem.pool(config), config))
    reply = _WORKER["reply"].get()
    if isinstance(reply, str):
        raise GamutError(f"the batched fit failed: {reply}")
    weights, seconds, device, samples, loss, init = reply
    model, _ = initial_model(config)
    import torch

    load_parameters(model, [torch.from_numpy(np.asarray(w)) for w in weights])
    return FitResult(model, seconds, device, samples, loss, init, context=config.context)


def encode_in_worker(task: Task, options) -> dict:
    """One photo in a worker process: read and reduce, fit on the server, score and write."""
    from gamut_onnx.jobs import finish_file, stage_file

    start = time.perf_counter()
    try:
        task.output.parent.mkdir(parents=True, exist_ok=True)
        staged = stage_file(task.source, task.output, options)
        fitted = _remote_fit(staged) if staged.prepared.needs_fit else None
        record = ok_record("encode", task, finish_file(staged, fitted, options))
    except Exception as exc:  # noqa: BLE001 (one bad file never stops the batch)
        record = error_record("encode", task, exc)
    record["seconds"] = time.perf_counter() - start
    return record


def _group_size(count: int, limit: int) -> int:
    """The power of two at or above `count` (at most `limit`, and never below `count`)."""
    size = 1
    while size < count:
        size *= 2
    return max(min(size, limit), count)


def serve(requests, replies, fit_batch: int, device: str, stop: threading.Event) -> None:
    """The fit server: take the waiting requests (up to `fit_batch`), fit them at once, reply."""
    from gamut_onnx.fit.batched import fit_pools

    while not stop.is_set():
        try:
            group = [requests.get(timeout=0.1)]
        except queue.Empty:
            continue
        while len(group) < fit_batch:
            try:
                group.append(requests.get_nowait())
            except queue.Empty:
                break
        pools = [pool for _, pool, _ in group]
        padded = pools + pools[:1] * (_group_size(len(pools), fit_batch) - len(pools))
        try:
            results = fit_pools(padded, group[0][2], device)
        except Exception as exc:  # noqa: BLE001 (every waiting worker must hear of it)
            for index, _, _ in group:
                replies[index].put(f"{type(exc).__name__}: {exc}")
            continue
        for (index, _, _), r in zip(group, results, strict=False):
            weights = [p.detach().numpy() for p in _weights(r.model)]
            replies[index].put((weights, r.seconds, r.device, r.samples, r.final_loss, r.init))


def _weights(model) -> list:
    from gamut_onnx.fit.model import model_parameters

    return model_parameters(model)


def fitted_executor(fit_batch: int, jobs: int) -> Executor:
    def execute(kind: str, tasks: list[Task], options) -> Iterator[dict]:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        if not tasks:
            return
        context = multiprocessing.get_context("spawn")
        requests = context.Queue()
        replies = [context.Queue() for _ in range(jobs)]
        counter = context.Value("i", 0)
        stop = threading.Event()
        server = threading.Thread(
            target=serve, args=(requests, replies, fit_batch, options.device, stop), daemon=True
        )
        server.start()
        init = (worker_threads(jobs), requests, replies, counter)
        try:
            with ProcessPoolExecutor(jobs, context, _init_worker, init) as pool:
                pending = {pool.submit(encode_in_worker, t, options): t for t in tasks}
                yield from drain(kind, pending)
        finally:
            stop.set()
            server.join()

    return execute
