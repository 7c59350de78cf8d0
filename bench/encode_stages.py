"""Where a default encode's seconds go: one `encode_file` run (PNG carrier with its map) with
each stage timed in place, how many cores it kept busy (the process's CPU time over the stage's
wall time: 2.00 is both cores of the 2-core machine), and the peak resident memory when each
stage ends.

    python bench/encode_stages.py PHOTO.tif [--input-space prophoto] [-o carrier.png]

Run it in a fresh process per measurement: the imports (torch's about 1 s) count, and they
overlap the reading. Nested stages are indented; "other" is the encode's time outside them.
"""

from __future__ import annotations

import time

START = time.perf_counter()

import argparse  # noqa: E402
import functools  # noqa: E402
import importlib  # noqa: E402
import resource  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

# (module, function, label): wrapped where the caller looks the name up.
STAGES = [
    ("gamut_onnx.read", "read_prophoto", "read and convert to ProPhoto"),
    ("gamut_onnx.codec", "prepare", "reduce to sRGB, detect the lattice"),
    ("gamut_onnx.fit", "fit", "fit"),
    ("gamut_onnx.fit.train", "encode_pool", "training pool"),
    ("gamut_onnx.fit.train", "race", "context race and fit steps"),
    ("gamut_onnx.codec", "_scored", "scoring restore"),
    ("gamut_onnx.exporters.lattice", "with_map_and_lattice", "map and lattice"),
    ("gamut_onnx.exporters.residual_map", "largest_within", "map quality search"),
    ("gamut_onnx.exporters.lattice", "with_lattice", "lattice choice"),
    ("gamut_onnx.files", "write_atomic", "write"),
]


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3


def cpu_seconds() -> float:
    """User and system time of every thread of this process so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def instrument(log: list) -> None:
    """Wrap each stage so that it appends (start, depth, label, seconds, cores busy, peak MB) to
    `log`; cores busy is the process's CPU time over the stage's wall time."""
    depth = [0]
    for module_name, name, label in STAGES:
        module = importlib.import_module(module_name)
        function = getattr(module, name)

        @functools.wraps(function)
        def timed(*args, _function=function, _label=label, **kwargs):
            start, cpu = time.perf_counter(), cpu_seconds()
            depth[0] += 1
            try:
                return _function(*args, **kwargs)
            finally:
                depth[0] -= 1
                seconds = time.perf_counter() - start
                busy = (cpu_seconds() - cpu) / max(seconds, 1e-9)
                log.append((start, depth[0], _label, seconds, busy, peak_mb()))

        setattr(module, name, timed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("photo", type=Path)
    parser.add_argument("--input-space")
    parser.add_argument("-o", "--output", type=Path)
    args = parser.parse_args()
    from gamut_onnx.jobs import EncodeOptions, encode_file

    log: list = []
    instrument(log)
    with tempfile.TemporaryDirectory() as folder:
        output = args.output or Path(folder) / "carrier.png"
        begin = time.perf_counter()
        report = encode_file(args.photo, output, EncodeOptions(input_space=args.input_space))
        end = time.perf_counter()
    print(f"{args.photo.name}: {report['source']}")
    print(f"{'startup (Python imports before the encode)':46s} {begin - START:6.2f} s")
    for _, depth, label, seconds, busy, peak in sorted(log):
        line = f"{'  ' * depth + label:46s} {seconds:6.2f} s   cores busy {busy:4.2f}"
        print(f"{line}   peak so far {peak:5.0f} MB")
    outer = sum(entry[3] for entry in log if entry[1] == 0)
    print(f"{'other (checks, carrier assembly, waits)':46s} {end - begin - outer:6.2f} s")
    busy = cpu_seconds() / (end - START)
    print(f"{'total':46s} {end - START:6.2f} s   cores busy {busy:4.2f}   peak {peak_mb():5.0f} MB")


if __name__ == "__main__":
    main()
