"""Everything a case makes a library say (file descriptors 1 and 2, Python warnings, log
records), caught per case: the CLI would print it, so any of it is a finding."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import warnings
from pathlib import Path


class _Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        self.records.append(record)


class StderrCapture:
    """Per case: everything written to file descriptors 2 and 1 (C libraries and Python alike),
    Python warnings and log records of level WARNING and above (which the CLI would print)."""

    def __init__(self, folder: Path):
        self.files = {fd: open(folder / f"fd{fd}.txt", "w+b") for fd in (1, 2)}  # noqa: SIM115
        self.handler = _Records()
        logging.getLogger().addHandler(self.handler)

    @contextlib.contextmanager
    def __call__(self, found: list):
        sys.stdout.flush()
        sys.stderr.flush()
        saved = {}
        for fd, f in self.files.items():
            f.seek(0)
            f.truncate()
            saved[fd] = os.dup(fd)
            os.dup2(f.fileno(), fd)
        self.handler.records.clear()
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            for fd, old in saved.items():
                os.dup2(old, fd)
                os.close(old)
        for fd, f in self.files.items():
            f.seek(0)
            text = f.read().decode("utf-8", "replace")
            if text.strip():
                found.append((f"stray-{'stdout' if fd == 1 else 'stderr'}", text[:2000]))
        for w in caught:
            found.append(
                (f"python-warning:{w.category.__name__}", f"{w.filename}:{w.lineno}: {w.message}")
            )
        for r in self.handler.records:
            found.append((f"log-record:{r.name}", f"{r.levelname}: {r.getMessage()}"[:500]))
