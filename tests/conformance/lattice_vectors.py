"""Vectors for blob record 131, the source's code lattice (blob-format.md sections 3.1 and 5.3):
committed carriers given a lattice record (one curve and three, 256 and 1024 codes, each mode,
beside a residual map), and records every reader must reject with the same reason."""

from __future__ import annotations

import dataclasses
import struct
from pathlib import Path

import numpy as np
from blob_bytes import with_records

from gamut_onnx.blob import RECORD_LATTICE
from gamut_onnx.colour.lattice import Lattice, pack_lattice
from gamut_onnx.colour.spaces import NAMED_SPACES
from gamut_onnx.container.attach import with_model
from gamut_onnx.container.carrier import decode_carrier
from gamut_onnx.container.sidecar import Sidecar
from gamut_onnx.exporters.lattice import named_lattice, with_lattice_record

VECTORS = Path(__file__).resolve().parent / "vectors"


def _three_curves(lattice: Lattice) -> Lattice:
    """Per-channel code values: the curve scaled by a gain per channel (what measured codes of a
    converter look like), the matrices left as they are."""
    gains = np.array([[0.9996], [1.0], [0.9993]], np.float32)
    return dataclasses.replace(lattice, codes=np.repeat(lattice.codes, 3, axis=0) * gains)


def _raw_record(blob: bytes, payloads: list[bytes]) -> bytes:
    """`blob` with these record-131 payloads appended."""
    records = b"".join(struct.pack("<BI", RECORD_LATTICE, len(p)) + p for p in payloads)
    return with_records(blob, records)


def lattice_vectors() -> list[tuple[str, bytes, str, str, str]]:
    """(name, carrier bytes, suffix, expected outcome, message fragment)."""
    gated = (VECTORS / "png_gated_fp16.png").read_bytes()
    mapped = (VECTORS / "png_residual_map.png").read_bytes()
    jpeg_gated = (VECTORS / "jpeg_q90_gated.jpg").read_bytes()
    p3 = named_lattice(NAMED_SPACES["display-p3"], 256)
    adobe = named_lattice(NAMED_SPACES["adobe-rgb"], 256)
    rec2020 = named_lattice(NAMED_SPACES["rec2020"], 1024)
    good = pack_lattice(p3)
    found = decode_carrier(gated)
    blob = found.blob

    def bad(name: str, payloads: list[bytes], fragment: str):
        data = with_model(gated, found, Sidecar(_raw_record(blob, payloads)))
        return (name, data, ".png", "error", fragment)

    mode4 = bytes([4]) + good[1:]
    levels = good[:2] + struct.pack("<H", 1025) + good[4:]
    nan = good[:-4] + struct.pack("<f", float("nan"))
    matrix = good[:4] + struct.pack("<f", 17.0) + good[8:]
    flat = good[:-4] + good[-8:-4]  # the last code repeats the one before it
    relatticed = with_lattice_record  # a shorter name, for the table below

    def good_vector(name: str, data: bytes, suffix: str = ".png"):
        return (name, data, suffix, "restore", "")

    return [
        good_vector("png_lattice_p3", relatticed(gated, p3)),
        good_vector("png_lattice_unselected", relatticed(gated, adobe.with_mode(1))),
        good_vector("png_lattice_map_3curves", relatticed(mapped, _three_curves(p3))),
        good_vector("jpeg_lattice_1024_selected", relatticed(jpeg_gated, rec2020.with_mode(2)),
                    ".jpg"),
        bad("neg_lattice_truncated", [good[:3]], "lattice record is truncated"),
        bad("neg_lattice_mode", [mode4], "lattice record mode 4"),
        bad("neg_lattice_levels", [levels], "1 curves of 1025 codes"),
        bad("neg_lattice_length", [good[:-1]], "its header says"),
        bad("neg_lattice_nan", [nan], "lattice record holds NaN or infinity"),
        bad("neg_lattice_matrix", [matrix], "matrix entries exceed"),
        bad("neg_lattice_codes", [flat], "not strictly increasing"),
        bad("neg_lattice_twice", [good, good], "two lattice records"),
    ]  # fmt: skip
