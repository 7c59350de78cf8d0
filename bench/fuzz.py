"""Structure-aware fuzzing of the carrier decoders: the on-demand long run.

    python bench/fuzz.py [--cases 100000] [--seed 1] [--cli 300] [--node [--node-cases N]]

Cases come from tests/fuzz (seed carriers built with the project's writers plus the
conformance vectors, mutated by format-aware mutators); each runs through decode_carrier +
decode + inspect + decode_to_file in worker processes with a per-case time limit (a crash or a
hang restarts the worker). Then the named bombs run in fresh interpreters (time and peak RSS),
a subset of cases and every bomb through the real CLI, and with --node the same cases and bombs
through the Node runtime (runtimes/node). Prints a summary table and writes every finding (input
and traceback) under --findings. Exit code 1 when there is any finding.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from fuzz.bomb_check import BOMB_SECONDS, measure_bomb  # noqa: E402
from fuzz.bombs import BOMBS, bomb  # noqa: E402
from fuzz.cli_checks import run_cli_cases  # noqa: E402
from fuzz.corpus import case  # noqa: E402
from fuzz.file_header import declared_size, extension  # noqa: E402
from fuzz.oracle import prefix  # noqa: E402
from fuzz.pool import CASE_TIMEOUT, Pool  # noqa: E402
from fuzz.seed_carriers import VECTORS, seeds  # noqa: E402
from fuzz.summary import Summary  # noqa: E402
from fuzz.worker import CANARIES  # noqa: E402

NODE_WORKER = ROOT / "runtimes" / "node" / "test" / "fuzz-worker.js"
RESULT_MARK = "\x1e"


def _progress(summary: Summary, total: int, last: list[float]) -> None:
    now = time.perf_counter()
    if now - last[0] >= 15 or summary.cases == total:
        last[0] = now
        print(
            f"  {summary.cases}/{total} cases, {summary.with_findings} with findings, "
            f"{now - summary.start:.0f} s",
            file=sys.stderr,
            flush=True,
        )


def run_python(args) -> Summary:
    summary = Summary()
    jobs = ({"id": i, "index": i} for i in range(args.start, args.start + args.cases))
    last = [time.perf_counter()]
    with Pool(args.seed, workers=args.workers, timeout=args.timeout) as pool:
        for kind, detail in pool.startup_problems:
            summary.kinds[kind] += 1
            summary.examples.setdefault(kind, []).append(
                {"name": "startup", "ops": [], "detail": detail, "data": None, "message": ""}
            )
        for res in pool.run(jobs):
            summary.add(res)
            _progress(summary, args.cases, last)
        summary.restarts = pool.restarts
    return summary


def run_bombs(names: list[str]) -> list[dict]:
    return [measure_bomb(name, bomb(name)) for name in names]


def bomb_table(reports: list[dict], title: str) -> str:
    lines = [f"{title} bombs: {'name':<34} {'bytes':>9} {'outcome':<9} {'s':>6} {'peak MB':>8}"]
    for r in reports:
        verdict = (
            "ok" if not r["findings"] else "FINDING: " + ", ".join(k for k, _ in r["findings"])
        )
        peak = f"{r['peak_mb']:.0f}" if r.get("peak_mb") is not None else "-"
        lines.append(
            f"  {r['name']:<40} {r['bytes']:>9} {r['outcome']:<9} "
            f"{r['seconds']:>6.2f} {peak:>8}  {verdict}"
        )
        if r.get("message"):
            lines.append(f"      {r['message'][:150]}")
    return "\n".join(lines)


def run_cli(args) -> Summary:
    """CLI checks on `args.cli` cases spread over the run, every third seed and every bomb."""
    cli = Summary()
    total = args.cases
    step = max(1, total // max(1, args.cli))
    indices = list(range(1, len(seeds()), 3))
    indices += list(range(args.start, args.start + total, step))[: args.cli]
    cases = [(c.name, c.data) for c in (case(args.seed, i) for i in indices)]
    if not args.no_bombs:
        cases += [(f"bomb-{name}", bomb(name)) for name in BOMBS]
    for res in run_cli_cases(cases, workers=args.workers):
        codes = res["codes"]
        worst = max((c for c, _ in codes.values()), default=0)
        seconds = max((s for _, s in codes.values()), default=0.0)
        cli.add(
            {
                "name": res["name"],
                "ops": [],
                "outcome": "finding" if res["findings"] else ("ok" if worst == 0 else "refused"),
                "seconds": seconds,
                "findings": res["findings"],
                "data": res["data"],
                "message": "",
            }
        )
    return cli


# --- Node ---------------------------------------------------------------------------------------


class NodeWorker:
    """runtimes/node/test/fuzz-worker.js: one JSON line per case in, one marked line out."""

    def __init__(self):
        self.proc = subprocess.Popen(
            ["node", str(NODE_WORKER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=ROOT / "runtimes" / "node",
        )
        self.buf = b""
        self.err = b""
        os.set_blocking(self.proc.stdout.fileno(), False)
        os.set_blocking(self.proc.stderr.fileno(), False)

    def ask(self, job: dict, timeout: float) -> dict:
        self.proc.stdin.write((json.dumps(job) + "\n").encode())
        self.proc.stdin.flush()
        deadline = time.monotonic() + timeout
        stray = []
        while True:
            while b"\n" in self.buf:
                line, self.buf = self.buf.split(b"\n", 1)
                text = line.decode("utf-8", "replace")
                if text.startswith(RESULT_MARK):
                    res = json.loads(text[1:])
                    if stray:
                        res["findings"].append(["node:stray-stdout", "\n".join(stray)[:1000]])
                    err = self.take_stderr()
                    if err:
                        res["findings"].append(["node:stray-stderr", err[:1000]])
                    return res
                stray.append(text)
            left = deadline - time.monotonic()
            if left <= 0:
                self.kill()
                return {"findings": [["node:hang", f"no result within {timeout:g} s"]]}
            ready, _, _ = select.select([self.proc.stdout, self.proc.stderr], [], [], left)
            if self.proc.stderr in ready:
                self.err += self.proc.stderr.read() or b""
            if self.proc.stdout in ready:
                chunk = self.proc.stdout.read()
                if not chunk:  # EOF: the worker died
                    code = self.proc.wait()
                    return {
                        "findings": [
                            ["node:crash", f"exit code {code}: {self.take_stderr()[-2000:]}"]
                        ]
                    }
                self.buf += chunk

    def take_stderr(self) -> str:
        with contextlib.suppress(OSError, ValueError):
            self.err += self.proc.stderr.read() or b""
        text, self.err = self.err.decode("utf-8", "replace"), b""
        return text

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()

    def close(self) -> None:
        try:
            self.proc.stdin.close()
            self.proc.wait(10)
        except (OSError, subprocess.TimeoutExpired):
            self.kill()


def node_summary_add(summary: Summary, res: dict, name: str, data: bytes, ops) -> None:
    findings = [tuple(f) for f in res.get("findings", [])]
    status = res.get("status", "error")
    summary.add(
        {
            "name": name,
            "ops": ops,
            "outcome": "finding" if findings else status,
            "seconds": res.get("ms", 0) / 1000,
            "findings": findings,
            "data": data,
            "message": res.get("message", ""),
            "prefix": prefix(res.get("message", "")) if status == "refused" else "",
            "peak_mb": res.get("maxRssMb", 0),
        }
    )


def run_node(args) -> tuple[Summary, list[dict]]:
    """The same cases and bombs through the Node runtime: `args.workers` fuzz-worker.js
    processes, one case file at a time each; a hung or crashed worker is replaced."""
    summary = Summary()
    folder = Path(tempfile.mkdtemp(prefix="gamut-onnx-fuzz-node-"))
    count = args.node_cases or args.cases
    indices = iter(range(args.start, args.start + count))
    lock = threading.Lock()
    last = [time.perf_counter()]

    def lane(k: int) -> None:
        worker = NodeWorker()
        try:
            while True:
                with lock:
                    i = next(indices, None)
                if i is None:
                    return
                c = case(args.seed, i)
                path = folder / f"lane{k}.{c.ext}"
                path.write_bytes(c.data)
                job = {"id": i, "file": str(path), "declared": declared_size(c.data)}
                res = worker.ask(job, args.node_timeout)
                if "status" not in res:  # hang or crash: a fresh worker
                    worker.close()
                    worker = NodeWorker()
                with lock:
                    node_summary_add(summary, res, c.name, c.data, c.ops)
                    _progress(summary, count, last)
        finally:
            worker.close()

    try:
        with ThreadPoolExecutor(args.workers) as pool:
            list(pool.map(lane, range(args.workers)))
        bombs = []
        for name in [] if args.no_bombs else BOMBS:
            data = bomb(name)
            path = folder / f"bomb.{extension(data)}"
            path.write_bytes(data)
            worker = NodeWorker()  # a fresh process: its peak RSS is the bomb's
            worker.ask({"id": -1, "file": str(VECTORS / CANARIES[0])}, 60)
            res = worker.ask({"id": -2, "file": str(path), "declared": None}, 60)
            worker.close()
            findings = [tuple(f) for f in res.get("findings", [])]
            seconds = res.get("ms", 60_000) / 1000
            if res.get("status") != "refused":
                findings.append(("node-bomb:not-refused", res.get("status", "lost")))
            if seconds >= BOMB_SECONDS:
                findings.append(("node-bomb:slow", f"{seconds:.2f} s"))
            bombs.append(
                {
                    "name": name,
                    "bytes": len(data),
                    "outcome": res.get("status", "lost"),
                    "seconds": seconds,
                    "peak_mb": res.get("maxRssMb"),
                    "message": res.get("message", ""),
                    "findings": findings,
                }
            )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return summary, bombs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--start", type=int, default=0, help="first case index")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--timeout",
        type=float,
        default=CASE_TIMEOUT,
        help="seconds per case before it counts as a hang",
    )
    parser.add_argument("--cli", type=int, default=300, help="cases through the CLI")
    parser.add_argument("--no-bombs", action="store_true")
    parser.add_argument("--node", action="store_true", help="also the Node runtime")
    parser.add_argument("--node-cases", type=int, default=0, help="default: --cases")
    parser.add_argument(
        "--node-timeout", type=float, default=4.0, help="seconds per Node case (hang)"
    )
    parser.add_argument("--no-python", action="store_true", help="skip the in-process run")
    parser.add_argument(
        "--findings", type=Path, default=Path(tempfile.gettempdir()) / "gamut-onnx-fuzz-findings"
    )
    parser.add_argument("--json", type=Path, help="write the figures as JSON here")
    args = parser.parse_args()

    start = time.perf_counter()
    print(
        f"fuzz: seed {args.seed}, cases {args.start}..{args.start + args.cases - 1}, "
        f"{args.workers} workers, {args.timeout:g} s per case, "
        f"{len(seeds())} seeds",
        flush=True,
    )
    figures: dict = {"seed": args.seed, "cases": args.cases}
    found = Counter()
    if args.findings.exists():
        shutil.rmtree(args.findings)
    sections = []
    if not args.no_python:
        py = run_python(args)
        print(py.table("python"))
        print("refusals by message (top 30):\n" + py.top_prefixes(30), flush=True)
        py.save(args.findings / "python")
        found.update(py.kinds)
        sections.append(("python", py))
    if not args.no_bombs:
        bombs = run_bombs(list(BOMBS))
        print(bomb_table(bombs, "python"), flush=True)
        figures["python_bombs"] = [
            {k: r[k] for k in ("name", "bytes", "outcome", "seconds", "peak_mb", "message")}
            | {"findings": [k for k, _ in r["findings"]]}
            for r in bombs
        ]
        for r in bombs:
            found.update(k for k, _ in r["findings"])
    if args.cli:
        cli = run_cli(args)
        print(cli.table("cli (decode + inspect)"), flush=True)
        cli.save(args.findings / "cli")
        found.update(cli.kinds)
        sections.append(("cli", cli))
    if args.node:
        node, node_bombs = run_node(args)
        print(node.table("node"))
        print("node refusals by message (top 20):\n" + node.top_prefixes(20))
        print(bomb_table(node_bombs, "node"), flush=True)
        node.save(args.findings / "node")
        found.update(node.kinds)
        for r in node_bombs:
            found.update(k for k, _ in r["findings"])
        sections.append(("node", node))
        figures["node_bombs"] = [
            {k: r[k] for k in ("name", "bytes", "outcome", "seconds", "peak_mb", "message")}
            | {"findings": [k for k, _ in r["findings"]]}
            for r in node_bombs
        ]
    for name, s in sections:
        figures[name] = {
            "cases": s.cases,
            "ok": s.ok,
            "refused": s.refused,
            "with_findings": s.with_findings,
            "findings": dict(s.kinds),
            "max_seconds": s.max_seconds,
            "max_case": s.max_case,
            "over_1s": s.slow,
            "peak_mb": s.peak_mb,
        }
    figures["elapsed_s"] = time.perf_counter() - start
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))
    total = sum(found.values())
    print(
        f"total: {total} findings of {len(found)} kinds in {figures['elapsed_s']:.0f} s"
        + (f"; inputs and tracebacks in {args.findings}" if total else "")
    )
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main())
