"""Issue 16's CPU targets in one run: `encode` and `decode` of one 12 MP photo (whole commands,
wall clock, best of --repeats), and a batch of N photos on --jobs processes against the
single-photo time: throughput / (cores / per-photo time).

    python bench/library_speed.py PHOTO [--input-space prophoto] [--copies 4] [--jobs 2]

Every number comes from this one run on this machine; compare ratios, not seconds, across
machines.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import machine

CLI = [sys.executable, "-m", "gamut_onnx"]


def timed(args: list[str]) -> tuple[float, dict]:
    """Wall seconds of one CLI run, and its --json report (the last JSON line)."""
    start = time.perf_counter()
    done = subprocess.run(CLI + args + ["--json"], capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(args)} failed: {done.stderr.strip()}")
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    return seconds, json.loads(lines[-1]) if lines else {}


def best(runs: list[tuple[float, dict]]) -> tuple[float, dict]:
    return min(runs, key=lambda run: run[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photo", type=Path)
    parser.add_argument("--input-space", default=None)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--copies", type=int, default=4, help="photos in the batch")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    space = ["--input-space", args.input_space] if args.input_space else []
    work = Path(tempfile.mkdtemp(prefix="library-speed-"))
    print(machine())
    try:
        carrier, restored = work / "photo.png", work / "restored.tif"
        encodes = [timed(["encode", str(args.photo), "-o", str(carrier), "--overwrite", *space])
                   for _ in range(args.repeats)]  # fmt: skip
        wall, report = best(encodes)
        parts = {k: round(v, 2) for k, v in report.items() if k.endswith("_s")}
        print(f"encode 12 MP: {wall:.2f} s wall (best of {args.repeats}); report {parts}")
        decodes = []
        for _ in range(args.repeats):
            restored.unlink(missing_ok=True)
            decodes.append(timed(["decode", str(carrier), "-o", str(restored)]))
        wall_d, report_d = best(decodes)
        print(f"decode 12 MP -> 16-bit TIFF: {wall_d:.2f} s wall; report "
              f"{ {k: round(v, 2) for k, v in report_d.items() if k.endswith('_s')} }")  # fmt: skip
        folder = work / "photos"
        folder.mkdir()
        for i in range(args.copies):
            shutil.copy(args.photo, folder / f"{i:03d}{args.photo.suffix}")
        start = time.perf_counter()
        subprocess.run(CLI + ["encode", str(folder), "-o", str(work / "out"), "--jobs",
                              str(args.jobs), "--quiet", *space], check=True)  # fmt: skip
        batch = time.perf_counter() - start
        rate, ideal = args.copies / batch, args.jobs / wall
        print(f"batch of {args.copies} on {args.jobs} jobs: {batch:.1f} s = {rate * 60:.1f} per "
              f"minute; cores / per-photo time = {ideal * 60:.1f} per minute; "
              f"ratio {rate / ideal:.2f}")  # fmt: skip
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
