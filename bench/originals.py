"""Every original camera and phone file through the real CLI, scored in its own colour space.

    python bench/originals.py [../shared/data/originals] [--out report.md] [--jpeg] [--residual-map]

For each file: `gamut-onnx encode FILE -o carrier.png --json`, then `gamut-onnx decode
carrier.png -o restored.png` and `-o restored.tif` (16-bit, in the photo's own space, whose ICC
profile must be accepted by LittleCMS) in processes without torch and without imagecodecs, as
the decode-only `[cpu]` install runs them; both files, read back through LittleCMS, must be
within 1e-4 in linear light of the same restore written as linear float (`--space
prophoto-linear --depth float`), which `max_linear_error` reports. Scores: PSNR in the photo's own
*linear* space (both images clipped to it), on the whole image and on the out-of-gamut (OG)
pixels, for the plain sRGB carrier (clip) and the restored file; the ground truth is the
original read by gamut-onnx's readers (LittleCMS for ICC profiles). With --jpeg, also encodes a
JPEG carrier per file and reports its size and scores. With --residual-map, the carriers also
hold the encoder's residual map (its bytes are counted in the model column).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import imagecodecs
import numpy as np

from gamut_onnx.colour import out_of_gamut_mask, srgb8_to_prophoto
from gamut_onnx.container import png
from gamut_onnx.container.carrier import read_carrier
from gamut_onnx.evaluate.harness import linear_in
from gamut_onnx.metrics import psnr
from gamut_onnx.paths import find_photos
from gamut_onnx.read import read_prophoto

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-c", "from gamut_onnx.cli import main; main()"]
DECODE_ONLY = [  # what the decode-only [cpu] install has: neither torch nor imagecodecs
    sys.executable,
    "-c",
    "import sys; sys.modules['torch'] = sys.modules['imagecodecs'] = None; "
    "from gamut_onnx.cli import main; main()",
]
LINEAR_TOLERANCE = 1e-4


def run(command: list[str]) -> tuple[dict, float]:
    start = time.perf_counter()
    done = subprocess.run([*command, "--json"], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"failed: {' '.join(command)}\n{done.stderr}")
    return json.loads(done.stdout), time.perf_counter() - start


def score(path: Path, work: Path, jpeg: bool, extra: list[str]) -> dict:
    carrier, restored = work / f"{path.stem}.png", work / f"{path.stem}_restored.png"
    enc, enc_wall = run([*CLI, "encode", str(path), "-o", str(carrier), *extra])
    dec, dec_wall = run([*DECODE_ONLY, "decode", str(carrier), "-o", str(restored)])
    profile = png.iccp_profile(png.ancillary_chunks(restored.read_bytes()))
    if profile is not None:
        imagecodecs.cms_profile_validate(profile)  # raises if LittleCMS refuses it
    source = read_prophoto(path)
    error = decode_only_error(carrier, restored, work, source.space)
    truth = linear_in(source.prophoto, source.space)
    og = out_of_gamut_mask(source.prophoto)
    clip = linear_in(srgb8_to_prophoto(read_carrier(carrier).srgb8), source.space)
    back = linear_in(read_prophoto(restored).prophoto, source.space)
    row = {
        "file": path.name,
        "source": enc["source"],
        "space": dec["space"],
        "og_fraction": float(og.mean()),
        "psnr_clip": psnr(clip, truth),
        "psnr": psnr(back, truth),
        "psnr_og_clip": psnr(clip, truth, og),
        "psnr_og": psnr(back, truth, og),
        "model": enc["model"],
        "blob_bytes": enc["blob_bytes"] + (enc.get("residual_map") or {}).get("bytes", 0),
        "fit_s": enc["fit_s"],
        "encode_wall_s": enc_wall,
        "decode_wall_s": dec_wall,
        "restored_icc_bytes": len(profile or b""),
        "max_linear_error": error,
    }
    if jpeg:
        carrier_jpg = work / f"{path.stem}.jpg"
        enc_jpg, _ = run([*CLI, "encode", str(path), "-o", str(carrier_jpg), *extra])
        row.update(jpeg_bytes=carrier_jpg.stat().st_size, jpeg_psnr_og=enc_jpg["psnr_og"],
                   jpeg_psnr_og_clip=enc_jpg["psnr_og_clip"])  # fmt: skip
    return row


def decode_only_error(carrier: Path, restored_png: Path, work: Path, space) -> float:
    """Largest difference, in the photo's linear space, between the decode-only install's PNG
    and TIFF in the photo's own space (read back through LittleCMS) and the linear float
    restore; exits when it exceeds LINEAR_TOLERANCE."""
    restored_tif = work / f"{carrier.stem}_restored.tif"
    linear = work / f"{carrier.stem}_linear.tif"
    run([*DECODE_ONLY, "decode", str(carrier), "-o", str(restored_tif)])
    args = ["--space", "prophoto-linear", "--depth", "float"]
    run([*CLI, "decode", str(carrier), "-o", str(linear), *args])
    exact = linear_in(read_prophoto(linear).prophoto, space)
    worst = 0.0
    for path in (restored_png, restored_tif):
        back = linear_in(read_prophoto(path).prophoto, space)
        worst = max(worst, float(np.abs(back - exact).max()))
    if worst > LINEAR_TOLERANCE:
        raise SystemExit(f"{carrier.name}: decode-only output off by {worst:.2e} in linear light")
    return worst


def markdown(rows: list[dict]) -> str:
    lines = [
        "| file | source | OG % | clip / restored PSNR | clip / restored OG PSNR | OG gain | "
        "model | encode s | decode s | decode-only max linear error |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['file']} | {r['source']} | {100 * r['og_fraction']:.1f} | "
            f"{r['psnr_clip']:.2f} / {r['psnr']:.2f} | {r['psnr_og_clip']:.2f} / {r['psnr_og']:.2f}"
            f" | {r['psnr_og'] - r['psnr_og_clip']:+.2f} | {r['model']} ({r['blob_bytes']} B) | "
            f"{r['encode_wall_s']:.1f} | {r['decode_wall_s']:.1f} | {r['max_linear_error']:.1e} |"
        )
    og = [r for r in rows if np.isfinite(r["psnr_og"]) and np.isfinite(r["psnr_og_clip"])]
    mean = lambda key: float(np.mean([r[key] for r in og]))  # noqa: E731
    gains = [r["psnr_og"] - r["psnr_og_clip"] for r in og]
    lines.append(
        f"| **mean** ({len(og)} with OG pixels) | | | {mean('psnr_clip'):.2f} / {mean('psnr'):.2f} "
        f"| {mean('psnr_og_clip'):.2f} / {mean('psnr_og'):.2f} | {np.mean(gains):+.2f} | | | | "
        f"{max(r['max_linear_error'] for r in rows):.1e} |"
    )
    worse = [r["file"] for r in rows if r["psnr"] < r["psnr_clip"] - 1e-9]
    lines.append("")
    lines.append(f"Restored worse than clipping (whole image): {worse or 'none'}")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", default=ROOT.parent / "shared/data/originals")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--jpeg", action="store_true")
    parser.add_argument("--residual-map", action="store_true")
    args = parser.parse_args()
    extra = ["--residual-map"] if args.residual_map else []
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for path in find_photos([args.folder]):
            rows.append(score(path, Path(tmp), args.jpeg, extra))
            r = rows[-1]
            line = f"{r['file']}: OG {r['psnr_og_clip']:.2f} -> {r['psnr_og']:.2f} dB"
            print(f"{line} ({r['space']}, {r['encode_wall_s']:.1f} s)", file=sys.stderr, flush=True)
    report = markdown(rows)
    print(report)
    if args.out:
        args.out.write_text(report)
        args.out.with_suffix(".json").write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
