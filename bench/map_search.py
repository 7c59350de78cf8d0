"""The residual map's quality search: the probe search (the encoder's) against a bisection of
full encodes, on the maps real encodes build, in one run.

    python bench/map_search.py PHOTO [PHOTO ...] [--input-space display-p3]

For each photo: the map's budget, the quality and seconds of each search, the number of full
and probe AVIF encodes. The two must pick the same quality (the carriers are then identical).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from common import machine

import gamut_onnx.exporters.residual_map as rm
from gamut_onnx.jobs import EncodeOptions, encode_file


def map_inputs(photo: Path, input_space: str | None) -> dict:
    """The arguments the encoder gave the map search for `photo`."""
    seen = {}
    search = rm.largest_within

    def spy(error, gate, blob, codes, budget, power=rm.WEIGHT_POWER):
        seen.update(error=error, gate=gate, codes=codes, budget=budget, power=power)
        return search(error, gate, blob, codes, budget, power)

    rm.largest_within = spy
    try:
        with tempfile.TemporaryDirectory() as folder:
            encode_file(photo, Path(folder) / "carrier.png", EncodeOptions(input_space=input_space))
    finally:
        rm.largest_within = search
    return seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("photos", nargs="+", type=Path)
    parser.add_argument("--input-space", help="for untagged photos (the dev crops: prophoto)")
    args = parser.parse_args()
    print(machine())
    print("| photo | map rows | budget | bisection | probe search | encodes (full + probe) |")
    print("|---|---|---|---|---|---|")
    for photo in args.photos:
        seen = map_inputs(photo, args.input_space)
        if not seen:
            print(f"| {photo.name} | no map searched | | | | |")
            continue
        samples, _ = rm.coded_samples(seen["error"], seen["gate"], seen["codes"], seen["power"])
        room = seen["budget"] - rm.HEADER_BYTES
        start = time.perf_counter()
        bisected = rm._Sizes(samples).highest_within(room)
        bisection_s = time.perf_counter() - start
        start = time.perf_counter()
        full, probe = rm._Sizes(samples), rm._Sizes(rm.probe_of(samples))
        found = rm._search_with_probe(full, probe, room)
        probe_s = time.perf_counter() - start
        print(
            f"| {photo.name} | {samples.shape[0]} | {seen['budget']} | q{bisected}, "
            f"{bisection_s:.2f} s | q{found}, {probe_s:.2f} s | {full.encodes} + "
            f"{probe.encodes} |"
        )


if __name__ == "__main__":
    main()
