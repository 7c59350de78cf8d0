"""Viewer conformance on a real photo: each output format and space, its size, and how far what
headless Chromium draws on a float16 and on an 8-bit `display-p3` canvas is from the restore's
own colours (gamut_onnx.evaluate.viewers); TIFFs through LittleCMS instead.

    python bench/viewers.py CARRIER.png [--out report.md]

CARRIER: any carrier, e.g. `gamut-onnx encode ../shared/data/originals/rototor_Italy-P3.jpg
-o italy.png`. Prints a markdown table (8-bit codes; "max / mean").
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
from common import machine

from gamut_onnx.container.carrier import read_carrier
from gamut_onnx.evaluate.viewers import (
    chromium_read_back,
    display_codes,
    expected_codes,
    hdr_reference,
    hdr_scale,
    icc_values,
    littlecms_codes,
)
from gamut_onnx.jobs import DecodeOptions, decode_file
from gamut_onnx.runtime.decode import decode

WEB = Path(__file__).resolve().parents[1] / "runtimes" / "web"
OUTPUTS = [
    ("display-p3", ".png", None), ("rec2020", ".png", None), ("adobe-rgb", ".png", None),
    ("prophoto", ".png", None), ("srgb", ".png", None), ("source", ".png", None),
    ("display-p3", ".avif", None), ("display-p3", ".avif", 90), ("rec2020", ".avif", None),
    ("display-p3", ".jxl", None), ("rec2020", ".jxl", None),
    ("rec2020-pq", ".png", None), ("rec2020-hlg", ".png", None),
    ("display-p3", ".tif", None), ("rec2020", ".tif", None), ("prophoto", ".tif", None),
]  # fmt: skip


def spread(error: np.ndarray) -> str:
    return f"{error.max()} / {error.mean():.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("carrier", type=Path)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    prophoto = decode(read_carrier(args.carrier)).prophoto.astype(np.float64)
    with tempfile.TemporaryDirectory() as folder:
        files = []
        for space, suffix, quality in OUTPUTS:
            name = f"{space}{'' if quality is None else f'-q{quality}'}{suffix}"
            files.append(Path(folder) / name)
            decode_file(args.carrier, files[-1], DecodeOptions(space=space, quality=quality))
        shown = [f for f in files if f.suffix != ".tif"]
        drawn = dict(zip(shown, chromium_read_back(shown, WEB), strict=True))
        png16 = max(f.stat().st_size for f in files if f.suffix == ".png")
        lines = [
            f"Viewer conformance of {args.carrier.name} ({machine()})",
            "",
            "| output | bytes (of largest 16-bit PNG) | reader | float16 canvas | 8-bit canvas |",
            "|---|---|---|---|---|",
        ]
        for (space, _, _), path in zip(OUTPUTS, files, strict=True):
            if space == "source":
                want = littlecms_codes(*icc_values(path))
            elif space.startswith("rec2020-"):
                want = hdr_reference(prophoto)
            else:
                want = expected_codes(prophoto, space)
            size = f"{path.stat().st_size:,} ({path.stat().st_size / png16:.2f})"
            if path.suffix == ".tif":
                got = littlecms_codes(*icc_values(path))
                row = ["LittleCMS", spread(np.abs(got - want)), "-"]
            elif "error" in drawn[path]:
                row = ["Chromium", drawn[path]["error"], "-"]
            elif space.startswith("rec2020-"):
                scale = hdr_scale(drawn[path]["rgba"], want)
                scaled = display_codes(scale * want)
                row = [f"Chromium (x{scale} white)"]
                row += [spread(np.abs(drawn[path][c] - scaled)) for c in ("rgba", "rgba8")]
            else:
                row = ["Chromium"] + [
                    spread(np.abs(drawn[path][c] - want)) for c in ("rgba", "rgba8")
                ]
            lines.append(f"| {path.name} | {size} | " + " | ".join(row) + " |")
    report = "\n".join(lines)
    print(report)
    if args.out:
        args.out.write_text(report + "\n")


if __name__ == "__main__":
    main()
