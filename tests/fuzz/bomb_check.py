"""One bomb decoded in a fresh interpreter: it must be refused with a one-line message, in
under BOMB_SECONDS and BOMB_RSS_MB of peak RSS, with nothing on stderr."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from fuzz.file_header import extension
from fuzz.oracle import one_line

BOMB_SECONDS = 1.0
BOMB_RSS_MB = 300


_BOMB_SCRIPT = r"""
import json, resource, sys, time
limit = int(sys.argv[2])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
from gamut_onnx.container.carrier import decode_carrier
from gamut_onnx.runtime.decode import decode
from gamut_onnx.errors import GamutError
import onnxruntime  # noqa: F401  (imported before the clock starts, as in a long-lived process)
data = open(sys.argv[1], "rb").read()
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
try:
    result = decode(decode_carrier(data, "bomb"), provider="cpu")
    outcome, message = "ok", "; ".join(result.warnings)
    if any(w.startswith("residual map ignored") for w in result.warnings):
        outcome = "refused"  # a map bomb: the map is refused, the carrier restores
except GamutError as exc:
    outcome, message = "refused", str(exc)
except BaseException as exc:
    outcome, message = "exception", f"{type(exc).__name__}: {exc}"
seconds = time.perf_counter() - start
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM:")]
hwm_mb = int(hwm[0].split()[1]) / 1024 if hwm else None
print(json.dumps({"outcome": outcome, "message": message, "seconds": seconds,
                  "base_mb": base / 1024, "hwm_mb": hwm_mb}))
"""


def measure_bomb(
    name: str, data: bytes, timeout: float = 60.0, address_space: int = 16 << 30
) -> dict:
    """Decode one bomb in a fresh interpreter: outcome, message, decode seconds, and the peak RSS
    of that process (its VmHWM, imports included)."""
    with tempfile.TemporaryDirectory(prefix="gamut-onnx-bomb-") as folder:
        path = Path(folder) / f"bomb.{extension(data)}"
        path.write_bytes(data)
        err_path = Path(folder) / "stderr.txt"
        with open(err_path, "wb") as err:
            proc = subprocess.Popen(
                [sys.executable, "-c", _BOMB_SCRIPT, str(path), str(address_space)],
                stdout=subprocess.PIPE,
                stderr=err,
            )
            timer = threading.Timer(timeout, proc.kill)
            timer.start()
            wall = time.perf_counter()
            out = proc.stdout.read()
            _, status, usage = os.wait4(proc.pid, 0)
            wall = time.perf_counter() - wall
            timer.cancel()
            proc.returncode = os.waitstatus_to_exitcode(status)
            proc.stdout.close()
        stderr = err_path.read_text("utf-8", "replace")
    try:
        report = json.loads(out.decode().strip().splitlines()[-1])
    except (ValueError, IndexError):
        report = {"outcome": "crash", "message": f"exit {proc.returncode}", "seconds": wall}
    # The process's own high-water mark: ru_maxrss also counts the parent's memory that a
    # forked child held before exec (a big pytest process made every bomb look 800 MB).
    peak = report.get("hwm_mb") or usage.ru_maxrss / 1024
    report.update(name=name, bytes=len(data), peak_mb=peak, wall=wall, stderr=stderr)
    problems = []
    if report["outcome"] != "refused":
        problems.append((f"bomb:{report['outcome']}", report["message"][:500]))
    elif not one_line(report["message"]):
        problems.append(("bomb:message-not-one-line", report["message"][:500]))
    if report["seconds"] >= BOMB_SECONDS:
        problems.append(("bomb:slow", f"{report['seconds']:.2f} s (limit {BOMB_SECONDS:g} s)"))
    if report["peak_mb"] >= BOMB_RSS_MB:
        problems.append(
            ("bomb:memory", f"peak RSS {report['peak_mb']:.0f} MB (limit {BOMB_RSS_MB} MB)")
        )
    if stderr.strip():
        problems.append(("bomb:stray-stderr", stderr[:1000]))
    report["findings"] = problems
    return report
