"""Round trip every photo of a folder through the real CLI and score it.

    python bench/devset.py ../shared/data/dev [--ext .jpg] [--out t.md] [-- encode options...]

For each image: `gamut-onnx encode --json`, then `gamut-onnx decode --json` in a process where
torch cannot be imported (as users without PyTorch decode), then PSNR/PSNR-OG of the restored
TIFF and of plain clipping against the ground truth. Prints a Markdown table and the means.
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

from gamut_onnx.colour import out_of_gamut_mask, srgb8_to_prophoto
from gamut_onnx.container.carrier import read_carrier
from gamut_onnx.metrics import psnr
from gamut_onnx.read import read_prophoto

CLI = [sys.executable, "-c", "import sys; from gamut_onnx.cli import main; main()"]
CLI_NO_TORCH = [
    sys.executable,
    "-c",
    "import sys; sys.modules['torch'] = None; from gamut_onnx.cli import main; main()",
]


def run_json(command: list[str]) -> dict:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"failed: {' '.join(map(str, command))}\n{done.stderr}")
    return json.loads(done.stdout)


def score(source: Path, work: Path, encode_args: list[str], ext: str = ".png") -> dict:
    carrier, restored = work / f"{source.stem}{ext}", work / f"{source.stem}.tif"
    enc = run_json(
        [*CLI, "encode", str(source), "-o", str(carrier), "--input-space", "prophoto", "--json"]
        + list(encode_args)
    )
    start = time.perf_counter()
    dec = run_json([*CLI_NO_TORCH, "decode", str(carrier), "-o", str(restored), "--json"])
    decode_wall = time.perf_counter() - start
    truth = read_prophoto(source, untagged="prophoto").prophoto
    back = read_prophoto(restored).prophoto
    clipped = srgb8_to_prophoto(read_carrier(carrier).srgb8)
    og = out_of_gamut_mask(truth)
    return {
        "image": source.name,
        "size": f"{truth.shape[1]}x{truth.shape[0]}",
        "og_pct": 100 * float(og.mean()),
        "psnr_clip": psnr(clipped, truth),
        "psnr": psnr(back, truth),
        "psnr_og_clip": psnr(clipped, truth, og),
        "psnr_og": psnr(back, truth, og),
        "gated": enc["gated"],
        "fit_s": enc["fit_s"],
        "encode_s": enc["encode_s"],
        "decode_s": dec["decode_s"],
        "decode_cmd_s": decode_wall,
        "blob_bytes": enc["blob_bytes"],
        "file_bytes": enc["file_bytes"],
    }


COLUMNS = [
    "image",
    "size",
    "og_pct",
    "psnr_clip",
    "psnr",
    "psnr_og_clip",
    "psnr_og",
    "gated",
    "fit_s",
    "encode_s",
    "decode_s",
    "decode_cmd_s",
    "blob_bytes",
    "file_bytes",
]


def markdown(rows: list[dict]) -> str:
    def fmt(v):
        return f"{v:.2f}" if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(fmt(r[c]) for c in COLUMNS) + " |" for r in rows]
    means = {
        c: float(np.mean([r[c] for r in rows]))
        for c in COLUMNS
        if isinstance(rows[0][c], (int, float)) and not isinstance(rows[0][c], bool)
    }
    lines.append(
        "| **mean** | | "
        + " | ".join(fmt(means[c]) if c in means else "" for c in COLUMNS[2:])
        + " |"
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--out", type=Path, help="also write the Markdown table here")
    parser.add_argument("--ext", default=".png", help="carrier type: .png, .tif or .jpg")
    args, encode_args = parser.parse_known_args()  # the rest goes to `gamut-onnx encode`
    args.encode_args = [a for a in encode_args if a != "--"]
    sources = sorted(p for p in args.folder.iterdir() if p.suffix.lower() in (".tif", ".tiff"))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for source in sources:
            rows.append(score(source, Path(tmp), args.encode_args, args.ext))
            r = rows[-1]
            print(
                f"{r['image']}: PSNR {r['psnr_clip']:.2f} -> {r['psnr']:.2f}, OG "
                f"{r['psnr_og_clip']:.2f} -> {r['psnr_og']:.2f}, fit {r['fit_s']:.1f} s, "
                f"decode {r['decode_s']:.2f} s",
                file=sys.stderr,
                flush=True,
            )
    table = markdown(rows)
    print(table)
    if args.out:
        args.out.write_text(table + "\n")


if __name__ == "__main__":
    main()
