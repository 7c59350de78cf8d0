"""How many CPU threads this process should use: OMP_NUM_THREADS when set (a batch worker sets
it to its share of the cores), else the cores this process may run on; a pass over an
image's bands on that many threads; and numpy's BLAS held to one thread while encoding."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Iterator


def cpu_threads() -> int:
    env = os.environ.get("OMP_NUM_THREADS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def on_every_core(work: Callable[[int], None], starts: Iterable[int]) -> None:
    """`work(start)` for each band start, on `cpu_threads()` threads: numpy's ufuncs, LittleCMS
    and the codecs release the GIL, so bands that write disjoint rows run side by side. A
    band's exception is raised here."""
    from concurrent.futures import ThreadPoolExecutor

    starts = list(starts)
    if len(starts) <= 1 or cpu_threads() == 1:
        for start in starts:
            work(start)
        return
    with ThreadPoolExecutor(cpu_threads()) as pool:
        list(pool.map(work, starts))


@contextlib.contextmanager
def one_blas_thread() -> Iterator[None]:
    """numpy's BLAS (OpenBLAS) on one thread inside the block. Its products here are [n, 3] x
    [3, 3] colour matrices, too small to share out, and between calls its idle threads spin on
    the cores that torch, onnxruntime and the codecs need: 3 of the 14 CPU-seconds of a 12 MP
    encode on 2 cores. threadpoolctl finds the BLAS numpy loaded and sets its thread count."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield
