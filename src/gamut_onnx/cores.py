"""How many CPU threads this process should use: OMP_NUM_THREADS when set (a batch worker sets
it to its share of the cores), else the cores this process may run on."""

from __future__ import annotations

import os


def cpu_threads() -> int:
    env = os.environ.get("OMP_NUM_THREADS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
