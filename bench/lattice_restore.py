"""What the lattice step (blob record 131) costs a restore: the same carrier with and without it.

    python bench/lattice_restore.py CARRIER.png [CARRIER ...] [--runs 5]

For each carrier whose blob holds a lattice record, writes a twin without it (the residual map
sealed to the new blob), then, interleaved, times the restore graph alone
(`RestoreSession("cpu").restore`) and the whole `gamut-onnx decode` to a 16-bit TIFF in the
photo's own space, and prints the best of `--runs` of each and the ratio, measured in one run.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import machine

from gamut_onnx.blob import unpack_blob
from gamut_onnx.container.carrier import read_carrier
from gamut_onnx.exporters.lattice import with_lattice_record
from gamut_onnx.runtime import RestoreSession
from gamut_onnx.runtime.decode import checked, fitted_pixels

CLI = [sys.executable, "-c", "from gamut_onnx.cli import main; main()"]


def restore_s(path: Path, session: RestoreSession) -> float:
    carrier = read_carrier(path)
    blob, residual_map, _ = checked(carrier, strict=False)
    pixels = fitted_pixels(carrier)
    start = time.perf_counter()
    session.restore(pixels, blob, residual_map=residual_map)
    return time.perf_counter() - start


def decode_s(path: Path, work: Path) -> float:
    start = time.perf_counter()
    out = work / f"{path.stem}.tif"
    subprocess.run([*CLI, "decode", str(path), "-o", str(out), "--overwrite", "-q"], check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("carriers", nargs="+", type=Path)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print(machine())
    session = RestoreSession("cpu")
    print("| carrier | restore graph, without / with (s) | ratio | decode to TIFF (s) | ratio |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for path in args.carriers:
            if unpack_blob(read_carrier(path).blob).lattice is None:
                print(f"{path.name}: no lattice record, skipped")
                continue
            plain = work / f"{path.stem}_plain.png"
            plain.write_bytes(with_lattice_record(path.read_bytes(), None))
            times = {"restore": ([], []), "decode": ([], [])}
            for _ in range(args.runs):
                for k, carrier in enumerate((plain, path)):
                    times["restore"][k].append(restore_s(carrier, session))
                    times["decode"][k].append(decode_s(carrier, work))
            cells = []
            for kind in ("restore", "decode"):
                bare, snapped = (min(t) for t in times[kind])
                cells += [f"{bare:.3f} / {snapped:.3f}", f"{snapped / bare:.2f}x"]
            print(f"| {path.name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
