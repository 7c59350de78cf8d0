"""Restore time of restore-graph files side by side, on one carrier, in one run.

    python bench/graph_ab.py CARRIER.png OLD.onnx NEW.onnx [--repeats 5] [--tile 512]

e.g. the previous graph against the current one:
    git show HEAD~1:src/gamut_onnx/runtime/restore.onnx > /tmp/old.onnx
    python bench/graph_ab.py full.png /tmp/old.onnx src/gamut_onnx/runtime/restore.onnx

Each graph runs through RestoreSession on the CPU (tiles, one single-threaded session per
core), alternating graphs every repeat so that this VM's drifting speed hits them alike.
Prints best and median seconds, the ratio to the first graph, and the largest output
difference from the first graph.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from common import machine

from gamut_onnx.blob import unpack_blob
from gamut_onnx.container.carrier import read_carrier
from gamut_onnx.runtime import RestoreSession


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("carrier")
    parser.add_argument("graphs", nargs="+")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--tile", type=int, default=512)
    args = parser.parse_args()
    print(machine())
    carrier = read_carrier(args.carrier)
    blob = unpack_blob(carrier.blob)
    sessions = [RestoreSession("cpu", tile=args.tile, graph=g) for g in args.graphs]
    outputs = [s.restore(carrier.srgb8, blob) for s in sessions]  # also the warm-up
    times = [[] for _ in sessions]
    for _ in range(args.repeats):
        for session, spent in zip(sessions, times, strict=True):
            start = time.perf_counter()
            session.restore(carrier.srgb8, blob)
            spent.append(time.perf_counter() - start)
    h, w = carrier.srgb8.shape[:2]
    print(f"{w}x{h}, {sessions[0].workers} tiles at a time, best of {args.repeats}")
    for graph, spent, out in zip(args.graphs, times, outputs, strict=True):
        diff = float(np.abs(out - outputs[0]).max())
        print(
            f"{graph}: best {min(spent):.3f} s, median {np.median(spent):.3f} s, "
            f"x{min(spent) / min(times[0]):.2f}, max |diff| {diff:.1e}"
        )


if __name__ == "__main__":
    main()
