"""A fuzz worker process: builds cases from their indices (or takes bytes), applies the oracle
with a memory limit, checks now and then that good carriers still decode, and reports results
over a pipe; `pool` starts it with `worker_entry`."""

from __future__ import annotations

import contextlib
import json
import os
import resource
import signal
import sys
import time
from pathlib import Path

from fuzz.corpus import case
from fuzz.file_header import declared_size
from fuzz.oracle import OUTPUT_EXTS, check_case
from fuzz.output_capture import StderrCapture
from fuzz.seed_carriers import VECTORS, seeds

# A case that raises the worker's peak RSS by more than this, plus what the pixel count its
# header declares can explain (BYTES_PER_PIXEL: carrier, alpha, decoder buffer, float32 result),
# is a finding: memory the file's own header does not account for.
MEMORY_GROWTH_MB = 300
BYTES_PER_PIXEL = 32
ADDRESS_SPACE = 8 << 30  # per worker: a runaway allocation fails instead of swapping the host
CANARY_EVERY = 250  # cases between checks that the worker still decodes good carriers
CANARIES = ("png_gated_fp16.png", "tiff_alpha_fp32_w16.tif", "jpeg_q90_gated.jpg")
SELFTEST_CRASH, SELFTEST_HANG = "__selftest-crash__", "__selftest-hang__"


def job_input(seed_value: int, job: dict) -> tuple[str, bytes, list[str], str]:
    """(name, data, ops, generator error) of a job: {"id", "index"} names a case of the stream,
    {"id", "name", "data"[, "ops"]} brings its own bytes."""
    if "index" in job:
        c = case(seed_value, job["index"])
        return c.name, c.data, c.ops, c.error
    return job["name"], job["data"], job.get("ops", []), ""


def _peak_rss_mb() -> float:
    """This process's own high-water mark (VmHWM): ru_maxrss would also count the parent's
    memory that the forked child held before exec."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _canary(work: Path, capture: StderrCapture) -> list[tuple[str, str]]:
    """Good carriers must still decode: a crash-free failure may have poisoned a library."""
    problems = []
    for name in CANARIES:
        res = check_case((VECTORS / name).read_bytes(), work, capture, inspect=False, to_file=False)
        if res["outcome"] != "ok":
            problems.append(("poisoned-state", f"{name}: {res['message'] or res['findings']}"))
    return problems


def worker_main(conn, seed_value: int, options: dict, work: Path) -> None:
    """A worker: builds cases from indices (or takes bytes), checks them, reports results."""
    limit = options.get("address_space", ADDRESS_SPACE)
    if limit:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    capture = StderrCapture(work)
    warm = _canary(work, capture)  # loads onnxruntime, LittleCMS, the codecs
    seeds()
    baseline = _peak_rss_mb()
    conn.send(("ready", {"baseline_mb": baseline, "problems": warm}))
    done = 0
    while True:
        job = conn.recv()
        if job is None:
            break
        name, data, ops, generator_error = job_input(seed_value, job)
        if name == SELFTEST_CRASH:  # the harness's own test: a segfault in a worker
            os.kill(os.getpid(), signal.SIGSEGV)
        if name == SELFTEST_HANG:
            time.sleep(3600)
        before = _peak_rss_mb()
        res = check_case(
            data,
            work,
            capture,
            inspect=options.get("inspect", True),
            to_file=options.get("to_file", True),
            out_ext=OUTPUT_EXTS[job["id"] % 2],
        )
        peak = _peak_rss_mb()
        res["peak_mb"] = peak
        declared = declared_size(data)
        explained = BYTES_PER_PIXEL * declared[0] * declared[1] / 2**20 if declared else 0.0
        if peak - baseline > MEMORY_GROWTH_MB and peak > before:
            if peak - baseline > MEMORY_GROWTH_MB + explained:
                size = f"{declared[0]}x{declared[1]}" if declared else "no readable size"
                res["findings"].append(
                    (
                        "memory",
                        f"peak RSS {peak:.0f} MB, "
                        f"{peak - baseline:.0f} MB over baseline (header: {size})",
                    )
                )
                res["outcome"] = "finding"
            res["recycle"] = True  # a fresh worker, so that the next peak is measured again
        done += 1
        if done % CANARY_EVERY == 0:
            res["findings"] += _canary(work, capture)
            if res["findings"]:
                res["outcome"] = "finding"
        res.update(id=job["id"], name=name, ops=ops, generator_error=generator_error)
        if res["findings"]:
            res["data"] = data
        conn.send(("result", res))
        if res.get("recycle"):
            break


def worker_entry() -> None:
    """`python -c` entry of a worker: argv = job fd, result fd, folder, seed, options (JSON)."""
    import faulthandler
    from multiprocessing.connection import Connection

    job_fd, result_fd, folder, seed_value, options = sys.argv[1:6]
    work = Path(folder)
    crash = open(work / "crash.txt", "w")  # noqa: SIM115 (faulthandler keeps it)
    faulthandler.enable(crash, all_threads=True)
    jobs = Connection(int(job_fd), writable=False)
    results = Connection(int(result_fd), readable=False)
    worker_main(_Duplex(jobs, results), int(seed_value), json.loads(options), work)


class _Duplex:
    def __init__(self, incoming, outgoing):
        self.recv, self.send = incoming.recv, outgoing.send
