"""Blob bytes per MLP width and weight dtype, measured from real pack_blob output.

    python bench/blob_size.py [--octaves 8]

Random weights of the right shapes go through gamut_onnx.blob.pack_blob (header, weights, CRC),
so the numbers are the bytes a carrier really holds for the model (PNG/JPEG framing excluded).
Prints the bytes, the ratio to width 32 fp16 (the default) and fp32/fp16 side by side.
"""

from __future__ import annotations

import argparse

import numpy as np
from common import machine

from gamut_onnx.blob import SUPPORTED_WIDTHS, Blob, pack_blob, weight_shapes
from gamut_onnx.fit import PRESETS


def blob_bytes(width: int, octaves: int, dtype: str) -> int:
    rng = np.random.default_rng(0)
    weights = [rng.normal(0, 0.1, s).astype(np.float32) for s in weight_shapes(width, octaves)]
    blob = Blob(weights, width, octaves, 4000, 3000, bytes(32), weight_dtype=dtype)
    return len(pack_blob(blob))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--octaves",
        type=int,
        default=PRESETS["default"].octaves,
        help="sin/cos octaves (default: the default preset's)",
    )
    args = parser.parse_args()
    print(machine())
    sizes = {
        (w, d): blob_bytes(w, args.octaves, d)
        for w in SUPPORTED_WIDTHS
        for d in ("float16", "float32")
    }
    base = sizes[(32, "float16")]
    print(f"\n{args.octaves} octaves; ratio = bytes / bytes of width 32 fp16 ({base} B)\n")
    print("| width | params | fp16 bytes | fp32 bytes | fp32/fp16 | fp16 ratio | fp32 ratio |")
    print("|---|---|---|---|---|---|---|")
    for w in SUPPORTED_WIDTHS:
        params = sum(int(np.prod(s)) for s in weight_shapes(w, args.octaves))
        h, f = sizes[(w, "float16")], sizes[(w, "float32")]
        print(f"| {w} | {params} | {h} | {f} | {f / h:.3f} | {h / base:.2f} | {f / base:.2f} |")


if __name__ == "__main__":
    main()
