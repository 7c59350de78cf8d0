"""Worker processes that check jobs with a per-case time limit: a hang or a crash (segfault,
abort) kills only its worker, which is restarted, and comes back as a finding."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from multiprocessing.connection import wait as wait_any
from pathlib import Path

from fuzz.worker import job_input

ROOT = Path(__file__).resolve().parents[2]
CASE_TIMEOUT = 20.0  # seconds per case before the worker is killed ("hang")


_BOOT = (
    "import sys; sys.path.insert(0, {tests!r}); from fuzz.worker import worker_entry; "
    "worker_entry()"
)


class _Worker:
    """One worker subprocess, talking over two pipes (its stdout and stderr stay free for
    whatever the libraries print; they go to a log file)."""

    def __init__(self, seed_value: int, options: dict):
        from multiprocessing.connection import Connection

        self.folder = Path(tempfile.mkdtemp(prefix="gamut-onnx-fuzz-"))
        job_r, job_w = os.pipe()
        res_r, res_w = os.pipe()
        boot = _BOOT.format(tests=str(ROOT / "tests"))
        self.log = open(self.folder / "worker.log", "wb")  # noqa: SIM115
        env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE", PYTHONFAULTHANDLER="")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                boot,
                str(job_r),
                str(res_w),
                str(self.folder),
                str(seed_value),
                json.dumps(options),
            ],
            pass_fds=(job_r, res_w),
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=self.log,
            env=env,
            cwd=self.folder,
        )
        os.close(job_r)
        os.close(res_w)
        self.jobs = Connection(job_w, readable=False)
        self.conn = Connection(res_r, writable=False)
        self.job: dict | None = None
        self.started = 0.0
        self.info: dict = {}

    def ready(self, timeout: float = 300.0) -> None:
        if not self.conn.poll(timeout):
            raise RuntimeError(f"fuzz worker did not start: {self.crash_report()}")
        try:
            kind, self.info = self.conn.recv()
        except EOFError:
            raise RuntimeError(f"fuzz worker died at start: {self.crash_report()}") from None
        assert kind == "ready"

    def crash_report(self) -> str:
        text = ""
        for name in ("crash.txt", "worker.log"):
            with contextlib.suppress(OSError):
                text += (self.folder / name).read_text("utf-8", "replace")[-3000:]
        return text

    def close(self, kill: bool = True) -> None:
        if kill:
            with contextlib.suppress(OSError):
                self.process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(10)
        for c in (self.jobs, self.conn):
            with contextlib.suppress(OSError):
                c.close()
        self.log.close()
        shutil.rmtree(self.folder, ignore_errors=True)


class Pool:
    """Worker processes that check jobs ({"id", "index"} or {"id", "name", "data"}) with a
    per-case time limit; results come in completion order."""

    def __init__(self, seed_value: int, workers: int = 2, timeout: float = CASE_TIMEOUT, **options):
        self.seed_value, self.size, self.timeout, self.options = (
            seed_value,
            workers,
            timeout,
            options,
        )
        self.workers: list[_Worker] = []
        self.restarts = 0
        self.startup_problems: list = []

    def __enter__(self) -> Pool:
        self.workers = [self._new() for _ in range(self.size)]
        for w in self.workers:
            w.ready()
            self.startup_problems += w.info.get("problems", [])
        return self

    def __exit__(self, *exc) -> None:
        for w in self.workers:
            with contextlib.suppress(OSError):
                w.jobs.send(None)
        for w in self.workers:
            with contextlib.suppress(subprocess.TimeoutExpired):
                w.process.wait(5)
            w.close()

    def _new(self) -> _Worker:
        return _Worker(self.seed_value, self.options)

    def _replace(self, i: int) -> None:
        self.workers[i].close()
        self.workers[i] = self._new()
        self.workers[i].ready()
        self.restarts += 1

    def run(self, jobs: Iterable[dict]) -> Iterator[dict]:
        jobs = iter(jobs)

        def feed(w: _Worker) -> None:
            job = next(jobs, None)
            w.job = job
            if job is not None:
                w.started = time.monotonic()
                w.jobs.send(job)

        for w in self.workers:
            feed(w)
        while any(w.job is not None for w in self.workers):
            busy = [w for w in self.workers if w.job is not None]
            deadline = min(w.started + self.timeout for w in busy)
            ready = wait_any([w.conn for w in busy], timeout=max(0.0, deadline - time.monotonic()))
            for i, w in enumerate(list(self.workers)):
                if w.job is None:
                    continue
                result = None
                if w.conn in ready:
                    try:
                        _, result = w.conn.recv()
                    except (EOFError, OSError):
                        try:
                            code = w.process.wait(10)
                        except subprocess.TimeoutExpired:
                            code = None
                        sig = ""
                        if code is not None and code < 0:
                            with contextlib.suppress(ValueError):
                                sig = f" ({signal.Signals(-code).name})"
                        detail = f"worker died, exit code {code}{sig}\n{w.crash_report()}"
                        result = self._lost(w, "crash", detail)
                        self._replace(i)
                    else:
                        if result.get("recycle"):
                            self._replace(i)
                elif time.monotonic() - w.started >= self.timeout:
                    result = self._lost(w, "hang", f"no result within {self.timeout:g} s")
                    self._replace(i)
                if result is not None:
                    yield result
                    feed(self.workers[i])

    def _lost(self, w: _Worker, kind: str, detail: str) -> dict:
        job = w.job
        name, data, ops, _ = job_input(self.seed_value, job)
        return {
            "id": job["id"],
            "name": name,
            "ops": ops,
            "outcome": "finding",
            "status": kind,
            "message": "",
            "prefix": "",
            "seconds": time.monotonic() - w.started,
            "findings": [(kind, detail)],
            "data": data,
        }
