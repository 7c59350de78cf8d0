"""Restore time of restore-graph files side by side, on one carrier, in one run.

    python bench/graph_ab.py CARRIER.png OLD.onnx NEW.onnx [--repeats 5] [--tile 512]

e.g. the previous graph against the current one:
    git show HEAD~1:runtimes/python/restore.onnx > /tmp/old.onnx
    python bench/graph_ab.py full.png /tmp/old.onnx runtimes/python/restore.onnx

Each graph runs exactly as RestoreSession runs the shipped one on the CPU (tiles, one
single-threaded session per core), alternating graphs every repeat so that this VM's drifting
speed hits them alike. Prints best and median seconds, the ratio to the first graph, and the
largest output difference from the first graph.
"""

from __future__ import annotations

import argparse
import os
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import onnxruntime as ort
from common import machine

from gamut_onnx.blob import boundary_edges, unpack_blob
from gamut_onnx.carrier import read_carrier


def tiled_restore(session, srgb8: np.ndarray, feeds: dict, tile: int, workers: int) -> np.ndarray:
    h, w = srgb8.shape[:2]
    out = np.empty((h, w, 3), np.float32)

    def run(origin: tuple[int, int]) -> None:
        r, c = origin
        tile_feeds = {
            **feeds,
            "srgb8": np.ascontiguousarray(srgb8[r : r + tile, c : c + tile]),
            "origin": np.array([r, c], np.int64),
        }
        (out[r : r + tile, c : c + tile],) = session.run(["prophoto"], tile_feeds)

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(run, [(r, c) for r in range(0, h, tile) for c in range(0, w, tile)]))
    return out


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
    srgb8 = np.ascontiguousarray(carrier.srgb8[..., :3])
    feeds = {
        "image_size": np.array(srgb8.shape[:2], np.int64),
        "edges": boundary_edges(blob),
        **{
            name: np.ascontiguousarray(v, np.float32)
            for name, v in zip(("w1", "b1", "w2", "b2", "w3", "b3"), blob.weights, strict=True)
        },
    }
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    sessions = [
        ort.InferenceSession(g, options, providers=["CPUExecutionProvider"]) for g in args.graphs
    ]
    workers = os.cpu_count() or 1
    outputs = [tiled_restore(s, srgb8, feeds, args.tile, workers) for s in sessions]  # warm-up
    times = [[] for _ in sessions]
    for _ in range(args.repeats):
        for session, spent in zip(sessions, times, strict=True):
            start = time.perf_counter()
            tiled_restore(session, srgb8, feeds, args.tile, workers)
            spent.append(time.perf_counter() - start)
    print(f"{srgb8.shape[1]}x{srgb8.shape[0]}, {workers} tiles at a time, best of {args.repeats}")
    for graph, spent, out in zip(args.graphs, times, outputs, strict=True):
        diff = float(np.abs(out - outputs[0]).max())
        print(
            f"{graph}: best {min(spent):.3f} s, median {np.median(spent):.3f} s, "
            f"x{min(spent) / min(times[0]):.2f}, max |diff| {diff:.1e}"
        )


if __name__ == "__main__":
    main()
