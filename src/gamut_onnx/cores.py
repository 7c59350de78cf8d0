"""How many CPU threads this process should use: OMP_NUM_THREADS when set (a batch worker sets
it to its share of the cores), else the cores this process may run on; and a pass over an
image's bands on that many threads."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable


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
