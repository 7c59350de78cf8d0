"""Peak memory of `gamut-onnx decode` on a large carrier, against the image's own size.

    python bench/decode_memory.py [--megapixels 24] [--carrier photo.png]

Without --carrier, a real small fit's carrier pixels are tiled up to --megapixels and written as
a PNG carrier with that fit's weights (blob re-packed for the size and digest), once ungated
and once gated. Each decode runs in its own child process without torch (as users decode);
its peak RSS is resource.getrusage(RUSAGE_CHILDREN).ru_maxrss, read by a small launcher. A
child that only imports the decoder gives the fixed cost. Prints the ratios of peak RSS to the
8-bit pixels (HxWx3), to the restored float32 image and to the 16-bit restored TIFF's pixels.
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import blob_for, machine, small_fit, tiled

from gamut_onnx.blob import pack_blob
from gamut_onnx.container.carrier import encode_carrier, read_carrier
from gamut_onnx.files import write_atomic

NO_TORCH = "import sys; sys.modules['torch'] = None; "
DECODE = NO_TORCH + "from gamut_onnx.cli import main; main()"
IMPORT_ONLY = NO_TORCH + "import onnxruntime, numpy, gamut_onnx.cli, gamut_onnx.runtime"


# Linux keeps the high-water RSS across exec, so a child forked from this (large) process would
# inherit our peak. A small launcher process forks the measured one and reports
# getrusage(RUSAGE_CHILDREN).ru_maxrss after waiting for it: that child started lean.
LAUNCHER = """import os, resource, sys
pid = os.fork()
if pid == 0:
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # the child's own output is not ours
    os.execv(sys.executable, [sys.executable, *sys.argv[1:]])
_, status = os.waitpid(pid, 0)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, os.waitstatus_to_exitcode(status))
"""


def peak_rss(args: list[str]) -> tuple[int, float]:
    """(peak RSS in bytes, wall seconds) of one child process; exits on failure."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", LAUNCHER, *args], capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - start
    fields = done.stdout.split()
    if done.returncode != 0 or len(fields) != 2 or fields[1] != "0":
        raise SystemExit(f"child failed: {done.stdout[-500:]} {done.stderr[-2000:]}")
    return int(fields[0]) * 1024, seconds  # Linux reports KiB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--megapixels", type=float, default=24.0, help="default 24")
    parser.add_argument("--carrier", type=Path, help="decode this carrier instead")
    parser.add_argument("--provider", default="cpu", help="decode --provider (default cpu)")
    parser.add_argument("--tile", type=int, default=0, help="decode --tile (0: its default)")
    args = parser.parse_args()
    print(machine())
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        carriers = {}
        if args.carrier:
            carriers["given"] = args.carrier
        else:
            fit = small_fit()
            h = max(16, round(math.sqrt(args.megapixels * 1e6 * 3 / 4)))
            w = max(16, round(h * 4 / 3))
            srgb8 = tiled(fit.srgb8, h, w)
            for mode in ("ungated", "gated"):
                blob = pack_blob(blob_for(fit.blob, srgb8, gated=mode == "gated"))
                carriers[mode] = work / f"{mode}.png"
                write_atomic(carriers[mode], encode_carrier("png", srgb8, None, blob))
        base, _ = peak_rss(["-c", IMPORT_ONLY])
        print(f"child importing the decoder only: {base / 2**20:.0f} MiB peak RSS\n")
        print(
            "| carrier | WxH | file MiB | peak RSS MiB | s | RSS / 8-bit pixels "
            "| RSS / float32 image | RSS / 16-bit image | (RSS - import) / 8-bit |"
        )
        print("|---|---|---|---|---|---|---|---|---|")
        for mode, path in carriers.items():
            pixels = read_carrier(path).srgb8
            h, w = pixels.shape[:2]
            decode = ["-c", DECODE, "decode", str(path), "-o", str(work / f"{mode}.tif")]
            decode += ["--provider", args.provider, "--tile", str(args.tile)]
            rss, seconds = peak_rss(decode)
            size8 = h * w * 3
            print(
                f"| {mode} | {w}x{h} | {path.stat().st_size / 2**20:.1f} | {rss / 2**20:.0f} "
                f"| {seconds:.1f} | {rss / size8:.2f} | {rss / (4 * size8):.2f} "
                f"| {rss / (2 * size8):.2f} | {(rss - base) / size8:.2f} |"
            )
            del pixels


if __name__ == "__main__":
    main()
