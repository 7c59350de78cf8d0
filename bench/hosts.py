"""Every host's restore of the same carriers in one run, as ratios to yardsticks measured in it.

    python bench/hosts.py CARRIER.png ... [--repeats 3] [--no-node] [--no-browser]

(PNG carriers.)

Per carrier, each run in its own child process and timed from outside (wall seconds, peak RSS
from wait4), best of --repeats, interleaved so that a drifting machine hits all alike:
- libvips: `vips icc_transform CARRIER "out.tif[compression=deflate]" prophoto.icc --depth 16`,
  the same kind of file without any model (the yardstick of the Python decoder);
- Python: `gamut-onnx decode CARRIER -o out.tif --space prophoto` (16-bit deflate TIFF), and
  the API restore (read_carrier + decode, linear ProPhoto in memory, timed inside the child);
- Node: `node runtimes/node/cli.js CARRIER out.tif` (the same TIFF);
- browser: runtimes/web/bench.js (headless Chromium, cross-origin isolated, every core's
  WebAssembly thread), a fresh page each repeat: its load-to-ready seconds (sessions and the
  warm-up), then two runs of the carrier: the first restore and draw on a Display P3 canvas
  after the page is ready, and the faster of the two (restore alone, and restore and draw).
Ratios: Python decode / libvips (time; peak RSS against 4 x libvips' + the carrier's decoded
size), Node / Python decode, browser restore and draw (first and faster run) / Python API
restore (a fresh process: sessions, carrier read and restore).
"""

from __future__ import annotations

import argparse
import json
import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

from common import machine

ROOT = Path(__file__).resolve().parents[1]
PROPHOTO_ICC = ROOT / "runtimes" / "node" / "prophoto.icc"
API = (
    "import time; from gamut_onnx import decode, read_carrier; t = time.perf_counter(); "
    "decode(read_carrier({path!r}), provider='cpu'); print(time.perf_counter() - t)"
)


# A small launcher times each command: a child forked from this (large) interpreter would
# count this process's memory in its own peak.
LAUNCHER = """
import json, resource, subprocess, sys, time
start = time.perf_counter()
done = subprocess.run(sys.argv[2:], capture_output=True, text=True, cwd=sys.argv[1] or None)
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(json.dumps([done.returncode, seconds, peak, done.stdout, done.stderr[-2000:]]))
"""


def timed(command: list[str], cwd: Path | None = None) -> tuple[float, float, str]:
    """(wall seconds, peak RSS in MB, stdout) of one child process."""
    launcher = [sys.executable, "-c", LAUNCHER, str(cwd or ""), *command]
    code, seconds, peak, out, err = json.loads(subprocess.run(launcher, capture_output=True,
                                                              text=True).stdout)  # fmt: skip
    if code != 0:
        raise SystemExit(f"failed: {' '.join(command)}\n{err}")
    return seconds, peak, out


def measure(carrier: Path, work: Path, node: bool, browser: bool) -> dict:
    tif = str(work / "out.tif")
    row = {}
    vips = timed(["vips", "icc_transform", str(carrier), f"{tif}[compression=deflate]",
                  str(PROPHOTO_ICC), "--depth", "16"])  # fmt: skip
    row["vips_s"], row["vips_mb"] = vips[:2]
    ours = timed([sys.executable, "-m", "gamut_onnx", "decode", str(carrier), "-o", tif,
                  "--space", "prophoto", "--overwrite"])  # fmt: skip
    row["python_decode_s"], row["python_decode_mb"] = ours[:2]
    row["python_api_restore_s"] = float(
        timed([sys.executable, "-c", API.format(path=str(carrier))])[2]
    )
    if node:
        cli = ROOT / "runtimes" / "node" / "cli.js"
        row["node_s"], row["node_mb"] = timed(["node", str(cli), str(carrier), tif])[:2]
    if browser:
        page = timed(["node", "bench.js", str(carrier), "--repeats", "2"], ROOT / "runtimes/web")
        found = json.loads(page[2].splitlines()[-1])
        row["browser_ready_s"] = found["ready_s"]
        row["browser_restore_s"] = found["restore_s"]
        row["browser_first_restore_and_draw_s"] = found["runs_s"][0]
        row["browser_restore_and_draw_s"] = found["restore_and_draw_s"]
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("carriers", nargs="+", type=Path)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-node", action="store_true")
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()
    node = not args.no_node and shutil.which("node") is not None
    browser = node and not args.no_browser and Path("/usr/bin/chromium").exists()
    print(machine())
    with tempfile.TemporaryDirectory() as tmp:
        for carrier in args.carriers:
            runs = [measure(carrier, Path(tmp), node, browser) for _ in range(args.repeats)]
            best = {key: min(r[key] for r in runs) for key in runs[0]}
            width, height = struct.unpack(">II", carrier.read_bytes()[16:24])  # PNG IHDR
            decoded_mb = width * height * 3 / 2**20
            ratios = {
                "python_decode / vips": best["python_decode_s"] / best["vips_s"],
                "python peak / (4 vips + carrier)": best["python_decode_mb"]
                / (4 * best["vips_mb"] + decoded_mb),
            }
            if node:
                ratios["node / python_decode"] = best["node_s"] / best["python_decode_s"]
            if browser:
                api = best["python_api_restore_s"]
                first, faster = (
                    best["browser_first_restore_and_draw_s"],
                    best["browser_restore_and_draw_s"],
                )
                ratios["browser first restore+draw / python api"] = first / api
                ratios["browser restore+draw / python api"] = faster / api
            print(f"{carrier.name}: " + ", ".join(f"{k} {v:.2f}" for k, v in best.items()))
            print("  ratios: " + ", ".join(f"{k} {v:.2f}" for k, v in ratios.items()))


if __name__ == "__main__":
    main()
