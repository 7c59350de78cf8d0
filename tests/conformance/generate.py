"""Regenerate the conformance vectors that every restore runtime must pass.

    python tests/conformance/generate.py

Writes small carriers made by the real encoder from generated scenes, the restored linear
ProPhoto each must decode to (float32 .npy, from the Python runtime), the graphs' intermediate
tensors (grids, map samples, output codes), negative vectors, and manifest.json.
`--intermediates` adds the intermediate tensors to the vectors as they are; `--map-vectors`
adds the hostile-map vectors (hostile_maps.py), `--chunk-names` the PNG chunk-name vectors
(chunk_names.py), `--jpeg-vectors` the JPEG coefficient-digest vectors (jpeg_transcodes.py,
needs jpegtran), `--lattice-vectors` the lattice-record vectors (lattice_vectors.py), leaving
the other vectors' files untouched. Regenerate only
with an intentional format change (and bump the format version when the change is not backward
compatible); tests/test_conformance.py fails on drift.
"""

from __future__ import annotations

import dataclasses
import json
import struct
import sys
from pathlib import Path

import numpy as np
from blob_bytes import reseal, with_records
from chunk_names import chunk_name_vectors
from hostile_maps import map_vectors
from jpeg_transcodes import jpeg_vectors
from lattice_vectors import lattice_vectors

from gamut_onnx.blob import FORMAT_VERSION, HEADER_BYTES, unpack_blob
from gamut_onnx.codec import decode, encode
from gamut_onnx.colour.cms import IccProfile
from gamut_onnx.colour.icc import SRGB_TRC, build_matrix_trc_icc, cat02_to_pcs
from gamut_onnx.colour.spaces import PRIMARIES, ColourSpace
from gamut_onnx.container import jpeg, png
from gamut_onnx.container.carrier import PNG_BLOB_CHUNK, PNG_MAP_CHUNK, decode_carrier, read_carrier
from gamut_onnx.container.residual_map import pack_map, unpack_map
from gamut_onnx.exporters.residual_map import code_map, gate_of
from gamut_onnx.fit import FitConfig
from gamut_onnx.sample import synthetic_scene

HERE = Path(__file__).resolve().parent
TOLERANCE = 1e-4  # max abs difference in linear ProPhoto a runtime may show

# A source ICC profile that is none of our named ones (so it rides in the blob as a record).
P3 = PRIMARIES["p3"]
TEST_ICC = build_matrix_trc_icc(
    cat02_to_pcs(P3.white) @ P3.to_xyz, SRGB_TRC, "Display P3 (conformance)", cat02_to_pcs(P3.white)
)
# name, carrier, scene seed, encode options; gate forced so headers do not depend on the fit.
POSITIVE = [
    ("png_ungated_fp16", "png", 1, {"gate": "off"}),
    ("png_gated_fp16", "png", 2, {"gate": "on"}),
    ("tiff_alpha_fp32_w16", "tiff", 3, {"gate": "off", "weight_dtype": "float32", "width": 16}),
    ("jpeg_q90_gated", "jpeg", 4, {"gate": "on"}),
    ("png_source_p3", "png", 5, {"gate": "on", "source": ColourSpace("p3", "srgb")}),
    ("png_source_icc", "png", 6, {"gate": "on", "source": IccProfile(TEST_ICC, "test")}),
    # Input layout 2: 264 x 72 gives every context level several cells, partial at the edges.
    ("png_context_gated", "png", 7, {"gate": "on", "context": True, "size": (264, 72)}),
    ("jpeg_q90_context", "jpeg", 8, {"gate": "on", "context": True}),
    # Residual maps (section 9), added by hand: these files are too small for the encoder's
    # budget. One weighted (p = 0.5) beside a context blob, one unweighted on a JPEG carrier.
    ("png_residual_map", "png", 9, {"gate": "on", "context": True, "size": (96, 64), "map": 0.5}),
    ("jpeg_residual_map", "jpeg", 10, {"gate": "on", "size": (96, 64), "map": 0.0}),
]
# Vectors of blob format 1 (written by gamut-onnx before 2026-11-27): still restored.
LEGACY = ["v1_png_ungated_fp16.png", "v1_png_gated_fp16.png", "v1_tiff_alpha_fp32_w16.tif"]
LEGACY_WARNED = [("v1_jpeg_q90_gated.jpg", "blob format 1")]
SUFFIX = {"png": ".png", "tiff": ".tif", "jpeg": ".jpg"}


def make_carrier(carrier: str, seed: int, options: dict) -> bytes:
    """Encode a generated scene (48x32 unless `size`) with a short deterministic CPU fit."""
    options = dict(options)
    width, height = options.pop("size", (48, 32))
    power = options.pop("map", None)
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
        context=options.pop("context", False),
        context_race=0.0,  # a context vector must carry context, whatever the race says
    )
    scene = synthetic_scene(width, height, seed)
    alpha = np.linspace(0, 1, 48 * 32, dtype=np.float32).reshape(32, 48) if seed == 3 else None
    result = encode(
        scene, alpha, carrier=carrier, config=config, device="cpu", fallback=False, **options
    )
    return result.data if power is None else with_map(result.data, scene, power)


def with_map(data: bytes, truth: np.ndarray, power: float) -> bytes:
    """The carrier plus a residual map of its restore's error (AVIF quality 60)."""
    found = decode_carrier(data)
    blob = unpack_blob(found.blob)
    restored = decode(found, provider="cpu").prophoto
    gate = gate_of(found.srgb8, blob)
    error = np.asarray(truth, np.float32)[gate] - restored[gate]
    packed = pack_map(code_map(error, gate, 60, found.blob, found.srgb8, power))
    if found.format == "png":
        return png.insert_chunks(data, [(PNG_MAP_CHUNK, packed)])
    return jpeg.add_segments(data, jpeg.jpeg_metadata(data)[0], found.blob, packed)


def _replace_png_blob(data: bytes, blob: bytes) -> bytes:
    """The same PNG with another gmLP payload (chunk CRC recomputed, so the blob check fires)."""
    out = bytearray(data[:8])
    for ctype, payload in png.iter_chunks(data):
        out += png.make_chunk(ctype, blob if ctype == PNG_BLOB_CHUNK else payload)
    return bytes(out)


def _fp32_with_weight(blob: bytes, value: float) -> bytes:
    """The blob's model as float32 weights with W2[0][0] = `value`, with a valid CRC."""
    import dataclasses

    from gamut_onnx.blob import pack_blob

    model = unpack_blob(blob)
    data = bytearray(pack_blob(dataclasses.replace(model, weight_dtype="float32")))
    w1, b1 = model.weights[0].size, model.weights[1].size
    struct.pack_into("<f", data, HEADER_BYTES + 4 * (w1 + b1), value)
    return reseal(data)


def _app14_for_app0(data: bytes) -> bytes:
    """The JPEG with its APP0 (JFIF) replaced by an Adobe APP14 segment, transform 0: the same
    coefficients now decode as RGB instead of YCbCr (colours change, scan data does not)."""
    adobe = b"\xff\xee" + struct.pack(">H", 14) + b"Adobe" + struct.pack(">HHHB", 100, 0, 0, 0)
    out = b""
    for marker, payload in jpeg.iter_segments(data):
        if marker == jpeg.SOI:
            out += b"\xff\xd8"
        elif marker == jpeg.APP0:
            out += adobe
        elif marker == jpeg.SOS:
            break
        else:
            out += bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload
    sos = data.index(b"\xff\xda")
    return out + data[sos:]


def _map_replaced(data: bytes, change) -> bytes:
    """The PNG with its gmRM payload passed through `change` (chunk CRC recomputed)."""
    out = bytearray(data[:8])
    for ctype, payload in png.iter_chunks(data):
        out += png.make_chunk(ctype, change(payload) if ctype == PNG_MAP_CHUNK else payload)
    return bytes(out)


def map_negatives(mapped: bytes) -> list[tuple[str, bytes, str, str, str]]:
    """Maps a decoder must ignore with a warning, restoring the model's result alone."""
    m = unpack_map(decode_carrier(mapped).residual_map)
    foreign = pack_map(dataclasses.replace(m, blob_digest=bytes(8)))
    found = decode_carrier(mapped)
    h, w = found.srgb8.shape[:2]
    gate = np.ones((h, w - 1), bool)  # an AVIF one column narrower than the header says
    codes = found.srgb8[:, :-1]
    narrow = code_map(np.zeros((gate.size, 3), np.float32), gate, 60, found.blob, codes)
    narrow = pack_map(dataclasses.replace(narrow, width=w))
    return [
        ("neg_map_foreign", _map_replaced(mapped, lambda _: foreign), ".png", "warning",
         "residual map ignored: residual map belongs to another model"),
        ("neg_map_avif_size", _map_replaced(mapped, lambda _: narrow), ".png", "warning",
         "residual map ignored"),
    ]  # fmt: skip


def negatives(base: bytes, base_jpeg: bytes) -> list[tuple[str, bytes, str, str, str]]:
    """(name, carrier bytes, suffix, expected outcome, message fragment), derived from good
    carriers."""
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
    overflow = _fp32_with_weight(blob, 3e38)
    critical = with_records(blob, struct.pack("<BI", 5, 1) + b"x")
    return [
        ("neg_truncated_blob", _replace_png_blob(base, blob[:-200]), ".png", "error", "truncated"),
        ("neg_bad_crc", _replace_png_blob(base, bytes(bad_crc)), ".png", "error", "CRC32 mismatch"),
        (
            "neg_unknown_version",
            _replace_png_blob(base, reseal(version)),
            ".png",
            "error",
            f"format version {FORMAT_VERSION + 1}",
        ),
        (
            "neg_wrong_architecture",
            _replace_png_blob(base, reseal(arch)),
            ".png",
            "error",
            "width 48",
        ),
        ("neg_edited_pixels", edited_png, ".png", "warning", "pixels changed"),
        ("neg_weight_overflow", _replace_png_blob(base, overflow), ".png", "error", "exceed"),
        ("neg_critical_record", _replace_png_blob(base, critical), ".png", "error", "newer"),
        ("neg_jpeg_app14", _app14_for_app0(base_jpeg), ".jpg", "warning", "pixels changed"),
    ]


def _write_entries(folder: Path, manifest: list[dict], vectors: list) -> None:
    """Write (name, bytes, suffix, outcome, fragment) vectors and their manifest entries."""
    for name, data, suffix, outcome, fragment in vectors:
        file = name + suffix
        (folder / file).write_bytes(data)
        if outcome in ("warning", "restore"):  # restores, with a warning or without
            manifest.append(_restore_entry(folder, name, file, data, outcome, fragment or None))
        else:
            manifest.append({"name": name, "file": file, "expect": outcome, "message": fragment})


def add_vectors(folder: Path, fresh: list) -> None:
    """Add (or replace) these vectors, leaving the others as they are: hostile maps
    (hostile_maps.py), chunk names (chunk_names.py), JPEG transcodes (jpeg_transcodes.py)."""
    data = json.loads((folder / "manifest.json").read_text())
    names = {name for name, *_ in fresh}
    kept = [entry for entry in data["vectors"] if entry["name"] not in names]
    added: list[dict] = []
    _write_entries(folder, added, fresh)
    add_intermediates(folder, added)
    data["vectors"] = kept + added
    (folder / "manifest.json").write_text(json.dumps(data, indent=2) + "\n")


def _restore_entry(folder: Path, name: str, file: str, data: bytes, expect: str, message=None):
    """Save the Python runtime's restore of `data` and return its manifest entry."""
    result = decode(decode_carrier(data), provider="cpu")
    np.save(folder / f"{name}.npy", result.prophoto.astype(np.float32))
    entry = {"name": name, "file": file, "expect": expect, "output": f"{name}.npy"}
    entry["max_abs_error"] = TOLERANCE
    if message:
        entry["message"] = message
    blob = decode_carrier(data).blob
    if blob is not None:
        entry["source_space"] = unpack_blob(blob).source_space
        entry["blob_version"] = unpack_blob(blob).format_version
    return entry


def generate(folder: Path) -> list[dict]:
    """Write every vector into `folder` and return the manifest entries."""
    folder.mkdir(parents=True, exist_ok=True)
    manifest, carriers = [], {}
    for name, carrier, seed, options in POSITIVE:
        data = make_carrier(carrier, seed, options)
        carriers[name] = data
        file = name + SUFFIX[carrier]
        (folder / file).write_bytes(data)
        manifest.append(_restore_entry(folder, name, file, data, "restore"))
    for file in LEGACY:  # kept as written by format 1; their outputs must not change
        data = (folder / file).read_bytes()
        manifest.append(_restore_entry(folder, Path(file).stem, file, data, "restore"))
    for file, message in LEGACY_WARNED:
        data = (folder / file).read_bytes()
        manifest.append(_restore_entry(folder, Path(file).stem, file, data, "warning", message))
    negative = negatives(carriers["png_ungated_fp16"], carriers["jpeg_q90_gated"])
    negative += map_negatives(carriers["png_residual_map"])
    _write_entries(folder, manifest, negative)
    _write_entries(folder, manifest, map_vectors())
    _write_entries(folder, manifest, jpeg_vectors(carriers["jpeg_q90_gated"]))
    _write_entries(folder, manifest, chunk_name_vectors())
    _write_entries(folder, manifest, lattice_vectors())
    add_intermediates(folder, manifest)
    (folder / "manifest.json").write_text(
        json.dumps({"format_version": FORMAT_VERSION, "vectors": manifest}, indent=2) + "\n"
    )
    return manifest


# Output spaces whose 16-bit codes (the output graph's `codes`) every vector records.
CODE_SPACES = ("prophoto", "display-p3")


def add_intermediates(folder: Path, manifest: list[dict]) -> None:
    """For a new host to check itself step by step: per restored vector, the grid graph's
    grids (context blobs), the residual map's decoded samples and parameters (map vectors),
    and the output graph's 16-bit codes in CODE_SPACES (blob-format.md, "Embedding restore")."""
    from gamut_onnx.colour.spaces import named_space
    from gamut_onnx.runtime import RestoreSession
    from gamut_onnx.runtime.decode import checked
    from gamut_onnx.runtime.output import OutputEncoder, output_space

    session = RestoreSession("cpu")
    for entry in manifest:
        if entry["expect"] == "error":
            continue
        name = entry["name"]
        carrier = read_carrier(folder / entry["file"])
        blob, residual_map, _ = checked(carrier, strict=False)
        if blob is not None and blob.context:
            entry["grids"] = {}
            for key, grid in session.grids(carrier.srgb8).feeds().items():
                np.save(folder / f"{name}.{key}.npy", grid)
                entry["grids"][key] = f"{name}.{key}.npy"
        if residual_map is not None:
            np.save(folder / f"{name}.map_samples.npy", residual_map.samples)
            entry["map_samples"] = f"{name}.map_samples.npy"
            entry["map_params"] = [float(v) for v in residual_map.params]
        restored = np.load(folder / entry["output"])
        entry["codes16"] = {}
        for space in CODE_SPACES:
            codes = OutputEncoder().run(restored, output_space(named_space(space)), 16)
            np.save(folder / f"{name}.{space}.npy", codes)
            entry["codes16"][space] = f"{name}.{space}.npy"
        entry["codes_max_error"] = 1


def update_intermediates(folder: Path) -> None:
    """Add the intermediate tensors to the vectors as they are, without re-encoding them."""
    data = json.loads((folder / "manifest.json").read_text())
    add_intermediates(folder, data["vectors"])
    (folder / "manifest.json").write_text(json.dumps(data, indent=2) + "\n")


if __name__ == "__main__":
    if sys.argv[1:] == ["--map-vectors"]:
        add_vectors(HERE / "vectors", map_vectors())
        print(f"added the hostile-map vectors to {HERE / 'vectors'}")
    elif sys.argv[1:] == ["--jpeg-vectors"]:
        vectors = HERE / "vectors"
        add_vectors(vectors, jpeg_vectors((vectors / "jpeg_q90_gated.jpg").read_bytes()))
        print(f"added the JPEG coefficient-digest vectors to {vectors}")
    elif sys.argv[1:] == ["--chunk-names"]:
        add_vectors(HERE / "vectors", chunk_name_vectors())
        print(f"added the PNG chunk-name vectors to {HERE / 'vectors'}")
    elif sys.argv[1:] == ["--lattice-vectors"]:
        add_vectors(HERE / "vectors", lattice_vectors())
        print(f"added the lattice-record vectors to {HERE / 'vectors'}")
    elif sys.argv[1:] == ["--intermediates"]:
        update_intermediates(HERE / "vectors")
        print(f"added intermediate tensors to {HERE / 'vectors'}")
    else:
        entries = generate(HERE / "vectors")
        print(f"wrote {len(entries)} vectors to {HERE / 'vectors'}")
