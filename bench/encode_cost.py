"""What a default encode costs: wall time and peak memory of `gamut-onnx encode` (PNG carrier
with its map) on a 12 MP photo and on the same photo tiled 2x2 (48 MP), as ratios to one
12M x 120 x 32 float32 NumPy matmul measured in the same run, with the report's breakdown.

    python bench/encode_cost.py PHOTO.tif [--input-space display-p3] [--repeats 2]

A photo in another format (a camera's HEIC or JPEG) is measured at its own size only.

Targets (issue 25): 12 MP <= 5x the matmul and <= 1.0 GB; 48 MP <= 4x the 12 MP time, <= 3 GB.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import tifffile
from common import machine

GAMUT_ONNX = Path(sys.executable).with_name("gamut-onnx")


def matmul_seconds(repeats: int = 3) -> float:
    """Best of `repeats`: one 12M x 120 by 120 x 32 float32 product (the yardstick)."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((12_000_000, 120), dtype=np.float32)
    b = rng.standard_normal((120, 32), dtype=np.float32)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return best


def encode(photo: Path, out: Path, input_space: str | None) -> tuple[float, float, dict]:
    """(wall seconds, peak resident GB, the --json report) of one CLI encode."""
    args = [str(GAMUT_ONNX), "encode", str(photo), "-o", str(out), "--overwrite", "--json"]
    if input_space:
        args += ["--input-space", input_space]
    script = (
        "import resource, subprocess, sys, time; t = time.perf_counter(); "
        "r = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
        "w = time.perf_counter() - t; "
        "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1e6; "
        "print(r.stdout if r.returncode == 0 else r.stderr, end=''); print(f'\\n{w} {peak}')"
    )
    run = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True)
    *report, last = run.stdout.strip().split("\n")
    wall, peak = map(float, last.split())
    return wall, peak, json.loads("\n".join(report))


def tiled(photo: Path, folder: Path) -> Path:
    """The photo tiled 2x2, as a 16-bit TIFF (48 MP from 12 MP)."""
    pixels = tifffile.imread(photo)
    path = folder / f"{photo.stem}_2x2.tif"
    tifffile.imwrite(path, np.tile(pixels, (2, 2, 1)), photometric="rgb")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("photo", type=Path)
    parser.add_argument("--input-space")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    print(machine())
    yardstick = matmul_seconds()
    print(f"yardstick (12M x 120 x 32 float32 matmul): {yardstick:.2f} s")
    with tempfile.TemporaryDirectory() as folder:
        runs = {}
        photos = [("12 MP", args.photo)]
        if args.photo.suffix.lower() in (".tif", ".tiff"):
            photos.append(("48 MP", tiled(args.photo, Path(folder))))
        for name, photo in photos:
            space = args.input_space or ("prophoto" if name == "48 MP" else None)
            results = [encode(photo, Path(folder) / "c.png", space) for _ in range(args.repeats)]
            runs[name] = min(results, key=lambda r: r[0])
        for name, (wall, peak, report) in runs.items():
            parts = ", ".join(
                f"{k} {report.get(k, 0):.2f}" for k in ("read_s", "fit_s", "encode_s", "total_s")
            )
            ratio = f"{wall / yardstick:.1f}x the matmul"
            if name == "48 MP":
                ratio += f", {wall / runs['12 MP'][0]:.1f}x the 12 MP"
            print(f"{name}: {wall:.2f} s wall ({ratio}), peak {peak:.2f} GB; {parts}")


if __name__ == "__main__":
    main()
