"""Conformance vectors for the JPEG coefficient digest (blob-format.md sections 4.3 and 4.4).

    python tests/conformance/generate.py --jpeg-vectors

Derived from the committed jpeg_q90_gated carrier, whose blob gets the coefficient digest
record (130), then transcoded losslessly by the real jpegtran (progressive, restart markers, a
4:2:0 frame with partial MCUs, a rotation), plus the changes that must not pass: one coefficient
changed, arithmetic coding, and an old blob (no record) after a transcode. Needs jpegtran.
"""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from gamut_onnx.blob import pack_blob, unpack_blob
from gamut_onnx.container import jpeg
from gamut_onnx.container.jpeg_coefficients import coefficient_digest


def jpegtran(data: bytes, *args: str) -> bytes:
    """The real jpegtran's lossless transcode of `data`, every segment kept."""
    if shutil.which("jpegtran") is None:
        raise SystemExit("jpegtran is needed (apt-get install libjpeg-turbo-progs)")
    return subprocess.run(
        ["jpegtran", "-copy", "all", *args], input=data, capture_output=True, check=True
    ).stdout


def sealed(data: bytes, blob: bytes, **fields) -> bytes:
    """`data` carrying `blob` with both digests of `data` (and `fields`) recorded."""
    found = unpack_blob(blob)
    found = dataclasses.replace(
        found,
        pixel_digest=jpeg.scan_digest(data),
        jpeg_digest=coefficient_digest(data),
        **fields,
    )
    icc = jpeg.jpeg_metadata(data)[0]
    return jpeg.add_segments(data, icc, pack_blob(found))


def _one_coefficient_changed(data: bytes) -> bytes:
    """The same JPEG with one AC coefficient of the luma one step larger (jpeglib writes it)."""
    import jpeglib

    with tempfile.TemporaryDirectory() as folder:
        source, target = Path(folder, "in.jpg"), Path(folder, "out.jpg")
        source.write_bytes(data)
        image = jpeglib.read_dct(str(source))
        luma = image.Y.copy()
        luma[1, 2, 0, 1] += 1
        image.Y = luma
        image.write_dct(str(target))
        changed = _component_ids(target.read_bytes(), data)
    icc, blob, _, _ = jpeg.jpeg_metadata(data)
    return jpeg.add_segments(changed, icc, blob)


def _component_ids(data: bytes, like: bytes) -> bytes:
    """`data` with the component ids of `like` in its frame and scan headers (jpeglib numbers
    them from 0), so that the coefficient is the only difference."""
    ids = {}
    for marker, _, start, _ in jpeg._walk(like):
        if marker == 0xC0:
            ids = {i: like[start + 6 + 3 * i] for i in range(like[start + 5])}
    out = bytearray(data)
    for marker, _, start, _ in jpeg._walk(data):
        if marker == 0xC0:
            for i in range(data[start + 5]):
                out[start + 6 + 3 * i] = ids[data[start + 6 + 3 * i]]
        elif marker == jpeg.SOS:
            for i in range(data[start]):
                out[start + 1 + 2 * i] = ids[data[start + 1 + 2 * i]]
    return bytes(out)


def _subsampled(base: bytes, blob: bytes) -> bytes:
    """A 4:2:0 carrier of 44x30 pixels (partial MCUs at both edges), progressive."""
    import imagecodecs

    pixels = jpeg.decode_jpeg(base)[:30, :44]
    coded = bytes(imagecodecs.jpeg8_encode(pixels, level=85, subsampling="420"))
    coded = jpegtran(coded, "-progressive")
    return sealed(coded, blob, image_width=44, image_height=30)


def jpeg_vectors(base: bytes) -> list[tuple[str, bytes, str, str, str]]:
    """(name, carrier bytes, suffix, expected outcome, message fragment)."""
    blob = jpeg.jpeg_metadata(base)[1]
    carrier = sealed(base, blob)
    rotated = jpegtran(carrier, "-perfect", "-rotate", "90")
    assert np.frombuffer(rotated, np.uint8).size > 0
    return [
        ("jpeg_coef_baseline", carrier, ".jpg", "restore", ""),
        ("jpeg_coef_progressive", jpegtran(carrier, "-progressive"), ".jpg", "restore", ""),
        ("jpeg_coef_restart", jpegtran(carrier, "-restart", "1"), ".jpg", "restore", ""),
        ("jpeg_coef_420_progressive", _subsampled(base, blob), ".jpg", "restore", ""),
        ("jpeg_coef_rotate90", rotated, ".jpg", "restore", ""),
        (
            "neg_jpeg_coef_changed",
            _one_coefficient_changed(carrier),
            ".jpg",
            "warning",
            "pixels changed",
        ),
        (
            "neg_jpeg_arithmetic",
            jpegtran(carrier, "-arithmetic"),
            ".jpg",
            "error",
            "arithmetic-coded JPEG is not supported",
        ),
        (
            "neg_jpeg_old_blob_progressive",
            jpegtran(base, "-progressive"),
            ".jpg",
            "warning",
            "pixels changed",
        ),
    ]
