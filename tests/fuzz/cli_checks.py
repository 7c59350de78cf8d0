"""The real command line on one input, in subprocesses: exit code 0 or 1, one `error: ` line on
failure, warnings as `warning: ` lines, no traceback, no file left behind on failure."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from fuzz.file_header import extension
from fuzz.oracle import OUTPUT_EXTS


def cli_command() -> list[str]:
    script = Path(sys.executable).with_name("gamut-onnx")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from gamut_onnx.cli import main; main()"]


def cli_problems(command: str, proc: subprocess.CompletedProcess) -> list[tuple[str, str]]:
    problems = []
    err = proc.stderr
    if proc.returncode not in (0, 1):
        problems.append((f"cli-{command}:exit-code-{proc.returncode}", err[-1000:]))
    if "Traceback" in err:
        problems.append((f"cli-{command}:traceback", err[-2000:]))
    if "internal error" in err:
        problems.append((f"cli-{command}:internal-error", err[-1000:]))
    lines = err.splitlines()
    errors = [line for line in lines if line.startswith("error: ")]
    stray = [line for line in lines if not line.startswith(("error: ", "warning: "))]
    if stray and "Traceback" not in err:
        problems.append((f"cli-{command}:stray-stderr", "\n".join(stray[:10])[:2000]))
    if proc.returncode == 1 and len(errors) != 1:
        problems.append((f"cli-{command}:error-lines", f"{len(errors)} error lines: {err[-1000:]}"))
    if proc.returncode == 0 and errors:
        problems.append((f"cli-{command}:error-on-success", err[-1000:]))
    return problems


def check_cli(data: bytes, work: Path, out_ext: str = ".png", timeout: float = 120.0) -> dict:
    """`gamut-onnx decode` and `gamut-onnx inspect --json` on one input, in subprocesses."""
    work.mkdir(parents=True, exist_ok=True)
    src = work / f"case.{extension(data)}"
    src.write_bytes(data)
    out = work / f"restored{out_ext}"
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")
    env.pop("GAMUT_ONNX_MAX_PIXELS", None)
    problems: list[tuple[str, str]] = []
    codes = {}
    for command, args in (
        ("decode", ["decode", str(src), "-o", str(out), "--provider", "cpu"]),
        ("inspect", ["inspect", str(src), "--json"]),
    ):
        start = time.perf_counter()
        try:
            proc = subprocess.run(
                cli_command() + args,
                capture_output=True,
                text=True,
                timeout=timeout,
                env=env,
                cwd=work,
            )
        except subprocess.TimeoutExpired:
            problems.append((f"cli-{command}:hang", f"no exit within {timeout:g} s"))
            continue
        codes[command] = (proc.returncode, time.perf_counter() - start)
        problems += cli_problems(command, proc)
        if command == "decode":
            left = sorted(p.name for p in work.iterdir() if p != src and p != out)
            if left:
                problems.append(("cli-decode:temp-file-left", ", ".join(left)))
            if proc.returncode != 0 and out.exists():
                problems.append(("cli-decode:output-left-on-failure", out.name))
            if proc.returncode == 0 and not out.exists():
                problems.append(("cli-decode:no-output", proc.stdout[-500:]))
            out.unlink(missing_ok=True)
        elif proc.returncode == 0:
            try:
                assert isinstance(json.loads(proc.stdout), dict)
                assert proc.stdout.count("\n") == 1
            except (ValueError, AssertionError):
                problems.append(("cli-inspect:bad-json", proc.stdout[:500]))
    shutil.rmtree(work, ignore_errors=True)
    return {"findings": problems, "codes": codes}


def run_cli_cases(
    cases: list[tuple[str, bytes]], workers: int = 2, timeout: float = 120.0
) -> list[dict]:
    """check_cli on (name, data) pairs, `workers` at a time."""
    from concurrent.futures import ThreadPoolExecutor

    base = Path(tempfile.mkdtemp(prefix="gamut-onnx-fuzz-cli-"))

    def one(item):
        i, (name, data) = item
        res = check_cli(data, base / f"{i:05d}", OUTPUT_EXTS[i % 2], timeout)
        res.update(name=name, data=data)
        return res

    try:
        with ThreadPoolExecutor(workers) as pool:
            return list(pool.map(one, enumerate(cases)))
    finally:
        shutil.rmtree(base, ignore_errors=True)
