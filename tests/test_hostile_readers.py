"""Hostile photos at the readers: AVIF coded sizes that disagree with `ispe`, JPEGs past
Pillow's own bomb limit, ICC profiles over the limit or that cannot be written back, and one
stderr line for every failure."""

from __future__ import annotations

import io
import json
import struct
import subprocess
import sys

import numpy as np
import pytest
import tifffile
from conftest import run_cli
from PIL import Image

from gamut_onnx.colour import icc
from gamut_onnx.read import read_prophoto_bytes

imagecodecs = pytest.importorskip("imagecodecs")


def one_line_failure(result, fragment: str) -> None:
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1 and len(lines) == 1, result.stderr
    assert fragment in lines[0] and "Traceback" not in result.stderr, lines[0]


def patched_ispe(avif: bytes, width: int, height: int) -> bytes:
    data = bytearray(avif)
    struct.pack_into(">II", data, data.index(b"ispe") + 8, width, height)
    return bytes(data)


MEASURED = """
import resource, subprocess, sys, time
start = time.perf_counter()
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
print(time.perf_counter() - start, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.stderr.write(done.stderr)
"""


def test_an_avif_claiming_a_huge_size_around_a_small_frame_costs_nothing(tmp_path):
    """A 3 KB AVIF whose `ispe` says 16000 x 15000 around a 96 x 64 frame: libavif would
    scale it up (118 s and 16.5 GB measured before); refused from the AV1 sequence header."""
    path = tmp_path / "bomb.avif"
    path.write_bytes(
        patched_ispe(imagecodecs.avif_encode(np.zeros((64, 96, 3), np.uint8)), 16000, 15000)
    )
    cli = [sys.executable, "-c", "from gamut_onnx.cli import main; main()"]
    command = [*cli, "encode", path, "-o", tmp_path / "c.png", "--input-space", "display-p3"]
    done = subprocess.run(
        [sys.executable, "-c", MEASURED, *map(str, command)], capture_output=True, text=True
    )
    seconds, peak_kb = done.stdout.split()
    assert "its AV1 frame is 96x64 but the file says 16000x15000" in done.stderr
    assert float(seconds) < 5 and int(peak_kb) < 300_000  # 2 s and 300 MB, with room for CI
    assert not (tmp_path / "c.png").exists()


def test_an_avif_whose_frame_is_larger_than_its_ispe_is_refused(tmp_path):
    path = tmp_path / "small-ispe.avif"
    frame = np.random.default_rng(0).integers(0, 256, (64, 96, 3), np.uint8)
    path.write_bytes(patched_ispe(imagecodecs.avif_encode(frame), 48, 32))
    result = run_cli("encode", path, "-o", tmp_path / "c.png", "--input-space", "display-p3")
    one_line_failure(result, "its AV1 frame is 96x64 but the file says 48x32")


def test_jpegs_past_pillows_own_bomb_limit_read(monkeypatch):
    """Pillow refuses images over 2 x its MAX_IMAGE_PIXELS (179 MP by default) as bombs; ours
    is the limit that counts (250 MP by default), checked from the header."""
    buffer = io.BytesIO()
    Image.fromarray(np.full((40, 60, 3), 90, np.uint8)).save(buffer, "JPEG")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # 2,400 pixels: a "bomb" to Pillow
    image = read_prophoto_bytes(buffer.getvalue(), "big.jpg", untagged="srgb")
    assert image.prophoto.shape == (40, 60, 3)


def _big_profile() -> bytes:
    """A valid display profile padded with a 5 MB private tag."""
    return icc.assemble_icc([(b"desc", icc._mluc_tag("big")), (b"zzzz", bytes(5 << 20))])


@pytest.mark.parametrize("suffix", [".jpg", ".tif"])
def test_icc_profiles_over_the_limit_are_refused_by_every_reader(tmp_path, suffix):
    path = tmp_path / f"big{suffix}"
    pixels = np.full((16, 24, 3), 100, np.uint8)
    if suffix == ".jpg":
        Image.fromarray(pixels).save(path, "JPEG", icc_profile=_big_profile())
    else:
        tifffile.imwrite(path, pixels, photometric="rgb", iccprofile=_big_profile())
    result = run_cli("encode", path, "-o", tmp_path / "c.png")
    one_line_failure(result, "over the 4 MB limit")


def _lut_only_profile() -> bytes:
    """An RGB profile with only an AToB0 table (2-point mft2): readable, not writable."""
    eye = [65536, 0, 0, 0, 65536, 0, 0, 0, 65536]
    curves = struct.pack(">6H", *([0, 65535] * 3))
    table = b"mft2" + bytes(4) + bytes([3, 3, 2, 0]) + struct.pack(">9iHH", *eye, 2, 2) + curves
    for r in (0, 1):
        for g in (0, 1):
            for b in (0, 1):
                xyz = (0.43 * r + 0.38 * g + 0.14 * b, 0.22 * r + 0.72 * g + 0.06 * b,
                       0.01 * r + 0.1 * g + 0.71 * b)  # fmt: skip
                table += struct.pack(">3H", *(int(v / 1.99997 * 65535) for v in xyz))
    tags = [(b"desc", icc._mluc_tag("LUT only")), (b"wtpt", icc._xyz_tag(icc.PCS_D50)),
            (b"A2B0", table + curves)]  # fmt: skip
    return icc.assemble_icc(tags)


@pytest.mark.parametrize(
    "profile, fragment",
    [
        (_lut_only_profile, "cannot be written back"),
        (lambda: icc.build_matrix_trc_icc(np.ones((3, 3)), icc.SRGB_TRC, "flat"), "singular"),
    ],
)
def test_profiles_the_restore_cannot_write_are_refused_at_encode(tmp_path, profile, fragment):
    path = tmp_path / "photo.jpg"
    Image.fromarray(np.full((16, 24, 3), 100, np.uint8)).save(path, "JPEG", icc_profile=profile())
    result = run_cli("encode", path, "-o", tmp_path / "c.png")
    one_line_failure(result, fragment)


def test_a_warning_before_a_failure_leaves_one_line(tmp_path):
    """An invalid Orientation (a warning) in a TIFF that then fails (grayscale): the error
    alone is printed."""
    path = tmp_path / "o.tif"
    tifffile.imwrite(path, np.zeros((20, 30), np.uint16), extratags=[(274, 3, 1, 9, True)])
    result = run_cli("encode", path, "-o", tmp_path / "c.png", "--input-space", "prophoto")
    one_line_failure(result, "grayscale")


def test_float_output_works_without_imagecodecs(tmp_path):
    from pathlib import Path

    vector = Path(__file__).parent / "conformance" / "vectors" / "png_gated_fp16.png"
    out = tmp_path / "linear.tif"
    args = ("--space", "prophoto-linear", "--depth", "float", "--json")
    result = run_cli("decode", vector, "-o", out, *args, block=("imagecodecs", "torch"))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["depth"] == "float"
    assert tifffile.imread(out).dtype == np.float32
