"""Regenerate the conformance vectors that every restore runtime must pass.

    python tests/conformance/generate.py

Writes small carriers made by the real encoder from generated scenes, the restored linear
ProPhoto each must decode to (float32 .npy, from the Python runtime), negative vectors, and
manifest.json. Regenerate only with an intentional format change (and bump the format version
when the change is not backward compatible); tests/test_conformance.py fails on drift.
"""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import numpy as np

from gamut_onnx.blob import FORMAT_VERSION
from gamut_onnx.codec import decode, encode
from gamut_onnx.container import png
from gamut_onnx.container.carrier import PNG_BLOB_CHUNK, decode_carrier
from gamut_onnx.fit import FitConfig
from gamut_onnx.sample import synthetic_scene

HERE = Path(__file__).resolve().parent
TOLERANCE = 1e-4  # max abs difference in linear ProPhoto a runtime may show

# name, carrier, scene seed, encode options; gate forced so headers do not depend on the fit.
POSITIVE = [
    ("png_ungated_fp16", "png", 1, {"gate": "off"}),
    ("png_gated_fp16", "png", 2, {"gate": "on"}),
    ("tiff_alpha_fp32_w16", "tiff", 3, {"gate": "off", "weight_dtype": "float32", "width": 16}),
    ("jpeg_q90_gated", "jpeg", 4, {"gate": "on"}),
]
SUFFIX = {"png": ".png", "tiff": ".tif", "jpeg": ".jpg"}


def make_carrier(carrier: str, seed: int, options: dict) -> bytes:
    """Encode a 48x32 generated scene with a short deterministic CPU fit."""
    options = dict(options)
    # An explicit recipe, not the moving default: the vectors pin the format, not the fit.
    config = FitConfig(
        width=options.pop("width", 32),
        octaves=12,
        steps=150,
        batch=1024,
        pixels="strided",
        og_stride=1,
        ig_stride=4,
        init="random",
        seed=seed,
    )
    scene = synthetic_scene(48, 32, seed)
    alpha = np.linspace(0, 1, 48 * 32, dtype=np.float32).reshape(32, 48) if seed == 3 else None
    result = encode(
        scene, alpha, carrier=carrier, config=config, device="cpu", fallback=False, **options
    )
    return result.data


def _replace_png_blob(data: bytes, blob: bytes) -> bytes:
    """The same PNG with another gmLP payload (chunk CRC recomputed, so the blob check fires)."""
    out = bytearray(data[:8])
    for ctype, payload in png.iter_chunks(data):
        out += png.make_chunk(ctype, blob if ctype == PNG_BLOB_CHUNK else payload)
    return bytes(out)


def _reseal(blob: bytearray) -> bytes:
    struct.pack_into("<I", blob, len(blob) - 4, zlib.crc32(bytes(blob[:-4])))
    return bytes(blob)


def negatives(base: bytes) -> list[tuple[str, bytes, str, str]]:
    """(name, carrier bytes, expected outcome, message fragment) derived from a good PNG."""
    blob = decode_carrier(base).blob
    bad_crc = bytearray(blob)
    bad_crc[100] ^= 0x01
    version = bytearray(blob)
    struct.pack_into("<H", version, 8, FORMAT_VERSION + 1)
    arch = bytearray(blob)
    struct.pack_into("<H", arch, 18, 48)
    edited = decode_carrier(base)
    pixels = edited.srgb8.copy()
    pixels[5, 7] = (pixels[5, 7].astype(int) + 1) % 256
    edited_png = png.encode_png(pixels, [(PNG_BLOB_CHUNK, blob)])
    return [
        ("neg_truncated_blob", _replace_png_blob(base, blob[:-200]), "error", "truncated"),
        ("neg_bad_crc", _replace_png_blob(base, bytes(bad_crc)), "error", "CRC32 mismatch"),
        (
            "neg_unknown_version",
            _replace_png_blob(base, _reseal(version)),
            "error",
            f"format version {FORMAT_VERSION + 1}",
        ),
        ("neg_wrong_architecture", _replace_png_blob(base, _reseal(arch)), "error", "width 48"),
        ("neg_edited_pixels", edited_png, "warning", "pixels changed"),
    ]


def generate(folder: Path) -> list[dict]:
    """Write every vector into `folder` and return the manifest entries."""
    folder.mkdir(parents=True, exist_ok=True)
    manifest = []
    carriers = {}
    for name, carrier, seed, options in POSITIVE:
        data = make_carrier(carrier, seed, options)
        carriers[name] = data
        file = name + SUFFIX[carrier]
        (folder / file).write_bytes(data)
        expected = decode(decode_carrier(data), provider="cpu").prophoto
        np.save(folder / f"{name}.npy", expected.astype(np.float32))
        manifest.append(
            {
                "name": name,
                "file": file,
                "expect": "restore",
                "output": f"{name}.npy",
                "max_abs_error": TOLERANCE,
            }
        )
    for name, data, outcome, fragment in negatives(carriers["png_ungated_fp16"]):
        (folder / f"{name}.png").write_bytes(data)
        entry = {"name": name, "file": f"{name}.png", "expect": outcome, "message": fragment}
        if outcome == "warning":  # restores anyway, with a warning
            expected = decode(decode_carrier(data), provider="cpu").prophoto
            np.save(folder / f"{name}.npy", expected.astype(np.float32))
            entry.update(output=f"{name}.npy", max_abs_error=TOLERANCE)
        manifest.append(entry)
    (folder / "manifest.json").write_text(
        json.dumps({"format_version": FORMAT_VERSION, "vectors": manifest}, indent=2) + "\n"
    )
    return manifest


if __name__ == "__main__":
    entries = generate(HERE / "vectors")
    print(f"wrote {len(entries)} vectors to {HERE / 'vectors'}")
