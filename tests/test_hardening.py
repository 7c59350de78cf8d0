"""The findings of the outside fuzzing pass (issue 12), each reproduced: bombs refused from the
header in bounded time and memory, the JPEG digest covering APP0/APP14, finite restores,
one-line stderr, our own bugs no longer hidden behind a catch-all, outputs checked first."""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
import tifffile
from conftest import run_cli

from gamut_onnx.blob import Blob, pack_blob, pixel_digest, weight_shapes
from gamut_onnx.container import jpeg, png
from gamut_onnx.container.carrier import PNG_BLOB_CHUNK, decode_carrier, encode_carrier
from gamut_onnx.errors import GamutError

SIDE = 16000  # 16000 x 16000 = 256 MP, the bombs of the issue


def _blob(h: int, w: int, digest: bytes, dtype: str = "float16") -> bytes:
    weights = [np.zeros(s, np.float32) for s in weight_shapes(16, 2)]
    return pack_blob(Blob(weights, 16, 2, w, h, digest, weight_dtype=dtype))


def _zeros_deflated(size: int) -> bytes:
    """zlib of `size` zero bytes, streamed (never holding them all)."""
    deflate, out, chunk = zlib.compressobj(9), [], bytes(1 << 20)
    for _ in range(size >> 20):
        out.append(deflate.compress(chunk))
    out.append(deflate.compress(bytes(size % (1 << 20))))
    return b"".join(out) + deflate.flush()


def png_bomb(with_blob: bool = False) -> bytes:
    ihdr = png.make_chunk(b"IHDR", struct.pack(">IIBBBBB", SIDE, SIDE, 8, 2, 0, 0, 0))
    chunks = [ihdr]
    if with_blob:
        chunks.append(png.make_chunk(PNG_BLOB_CHUNK, _blob(SIDE, SIDE, bytes(32))))
    chunks.append(png.make_chunk(b"IDAT", _zeros_deflated(SIDE * (3 * SIDE + 1))))
    return png.PNG_SIGNATURE + b"".join(chunks) + png.make_chunk(b"IEND", b"")


def iccp_bomb() -> bytes:
    small = encode_carrier("png", np.zeros((8, 8, 3), np.uint8), None, None)
    iccp = png.make_chunk(b"iCCP", b"bomb\0\0" + _zeros_deflated(1 << 30))
    return small[:33] + iccp + small[33:]


def jpeg_bomb() -> bytes:
    data = jpeg.encode_jpeg(np.zeros((16, 16, 3), np.uint8), 90)
    sof = data.index(b"\xff\xc0")
    return data[: sof + 5] + struct.pack(">HH", 65535, 65535) + data[sof + 9 :]


def tiff_bomb() -> bytes:
    """A TIFF header claiming 16000 x 16000 RGB, one deflated strip of zeros."""
    strip = _zeros_deflated(SIDE * SIDE * 3)
    entries = [
        (256, 4, 1, SIDE), (257, 4, 1, SIDE), (258, 3, 3, 0), (259, 3, 1, 8), (262, 3, 1, 2),
        (273, 4, 1, 0), (277, 3, 1, 3), (278, 4, 1, SIDE), (279, 4, 1, len(strip)),
    ]  # fmt: skip
    ifd_at = 8
    extra_at = ifd_at + 2 + 12 * len(entries) + 4
    strip_at = extra_at + 6
    body = struct.pack("<H", len(entries))
    for tag, kind, count, value in entries:
        if tag == 258:
            value = extra_at
        elif tag == 273:
            value = strip_at
        body += struct.pack("<HHII", tag, kind, count, value)
    body += struct.pack("<I", 0)
    return b"II*\0" + struct.pack("<I", ifd_at) + body + struct.pack("<HHH", 8, 8, 8) + strip


BOMBS = {"jpeg-65535": jpeg_bomb, "png-16000": png_bomb, "tiff-16000": tiff_bomb,
         "png-16000-blob": lambda: png_bomb(True), "png-iccp-1gib": iccp_bomb}  # fmt: skip


@pytest.fixture(scope="module")
def bomb_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bombs")
    files = {}
    for name, make in BOMBS.items():
        files[name] = folder / f"{name}.{'jpg' if name.startswith('jpeg') else name[:3]}"
        files[name].write_bytes(make())
    return files


@pytest.mark.parametrize("name", sorted(BOMBS))
@pytest.mark.parametrize("command", ["decode", "inspect"])
def test_bombs_are_refused_fast_in_little_memory(bomb_files, tmp_path, name, command):
    path = bomb_files[name]
    args = [command, str(path)] + (["-o", str(tmp_path / "out.png")] if command == "decode" else [])
    code = (
        "import resource, subprocess, sys, time; start = time.perf_counter(); "
        "r = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
        "rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss; "
        "print(r.returncode, time.perf_counter() - start, rss); print(r.stderr, end='')"
    )
    cli = [sys.executable, "-c", "from gamut_onnx.cli import main; main()"]
    out = subprocess.run([sys.executable, "-c", code, *cli, *args], capture_output=True, text=True)
    head, *stderr = out.stdout.splitlines()
    returncode, seconds, rss_kb = head.split()
    assert returncode == "1" and len(stderr) == 1 and stderr[0].startswith("error: "), stderr
    assert "internal error" not in stderr[0]
    assert int(rss_kb) < 300 * 1024, f"{name}: {int(rss_kb) >> 10} MB"
    assert float(seconds) < 3.0  # < 1 s of work; the rest is starting Python and importing
    assert not (tmp_path / "out.png").exists()


def test_the_work_of_a_bomb_takes_well_under_a_second(bomb_files):
    for path in bomb_files.values():
        data = path.read_bytes()
        start = time.perf_counter()
        with pytest.raises(GamutError):
            decode_carrier(data, "bomb")
        assert time.perf_counter() - start < 1.0


def _plain_jpeg_carrier() -> bytes:
    srgb8 = np.random.default_rng(1).integers(0, 256, (32, 48, 3), dtype=np.uint8)
    bare = jpeg.encode_jpeg(srgb8, 90)
    return jpeg.add_segments(bare, None, _blob(32, 48, jpeg.scan_digest(bare)))


def test_swapping_jfif_for_adobe_app14_is_noticed(tmp_path):
    data = _plain_jpeg_carrier()
    app0 = data.index(b"\xff\xe0")
    length = struct.unpack(">H", data[app0 + 2 : app0 + 4])[0]
    adobe = b"\xff\xee" + struct.pack(">H", 14) + b"Adobe" + struct.pack(">HHHB", 100, 0, 0, 0)
    swapped = data[:app0] + adobe + data[app0 + 2 + length :]
    before = decode_carrier(data, "a").srgb8
    after = decode_carrier(swapped, "b").srgb8
    assert np.abs(before.astype(int) - after).mean() > 10  # the colours really change
    path = tmp_path / "swapped.jpg"
    path.write_bytes(swapped)
    result = run_cli("decode", path, "-o", tmp_path / "r.png")
    assert result.returncode == 0 and "pixels changed after encoding" in result.stderr
    strict = run_cli("decode", path, "-o", tmp_path / "s.png", "--strict")
    assert strict.returncode == 1 and "pixels changed" in strict.stderr


def test_weights_that_could_overflow_are_refused_before_restoring(tmp_path):
    srgb8 = np.zeros((8, 8, 3), np.uint8)
    blob = bytearray(_blob(8, 8, pixel_digest(srgb8), "float32"))
    struct.pack_into("<f", blob, 64 + 4 * 40, 3e38)  # a W1 weight
    struct.pack_into("<I", blob, len(blob) - 4, zlib.crc32(bytes(blob[:-4])))
    path = tmp_path / "overflow.png"
    path.write_bytes(encode_carrier("png", srgb8, None, bytes(blob)))
    result = run_cli("decode", path, "-o", tmp_path / "r.png", "--json", "--strict")
    assert result.returncode == 1 and "exceed" in result.stderr
    assert "error" in json.loads(result.stdout)  # --json failures are JSON on stdout too
    plain = run_cli("decode", path, "-o", tmp_path / "p.png", "--json")  # the photo, not the model
    assert (
        plain.returncode == 0
        and "model ignored (invalid weight blob: weights exceed" in plain.stderr
    )
    assert json.loads(plain.stdout)["model"] == "ignored"


def test_a_malformed_srgb_chunk_on_a_good_decode_prints_nothing(tmp_path):
    srgb8 = np.random.default_rng(2).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    good = encode_carrier("png", srgb8, None, _blob(8, 8, pixel_digest(srgb8)))
    noisy = good[:33] + png.make_chunk(b"sRGB", b"\0\0\0") + good[33:]  # libpng: "too long"
    path = tmp_path / "noisy.png"
    path.write_bytes(noisy)
    result = run_cli("decode", path, "-o", tmp_path / "r.png")
    assert result.returncode == 0 and result.stderr == ""


def test_a_float64_tiff_of_1e300_is_one_line(tmp_path):
    path = tmp_path / "huge.tif"
    tifffile.imwrite(path, np.full((8, 8, 3), 1e300), photometric="rgb")
    result = run_cli("encode", path, "-o", tmp_path / "c.png", "--input-space", "prophoto")
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1 and len(lines) == 1 and "infinity" in lines[0], lines


def test_unknown_photometric_and_odd_layouts_are_our_errors_not_bugs():
    for photometric in (7, 32844):
        buffer = io.BytesIO()
        tifffile.imwrite(buffer, np.zeros((8, 8, 3), np.uint8), photometric="rgb")
        data = bytearray(buffer.getvalue())
        tag = data.index(struct.pack("<HH", 262, 3))
        struct.pack_into("<H", data, tag + 8, photometric)
        with pytest.raises(GamutError, match=f"not photometric {photometric}|RGB"):
            decode_carrier(bytes(data), "odd.tif")


def test_a_model_tag_rewritten_as_text_decodes_plain_with_a_warning(tmp_path):
    srgb8 = np.random.default_rng(3).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    text = _blob(8, 8, pixel_digest(srgb8)).hex()  # as an editor writing ASCII would
    path = tmp_path / "rewritten.tif"
    tifffile.imwrite(path, srgb8, photometric="rgb", extratags=[(65117, "s", 0, text, True)])
    result = run_cli("decode", path, "-o", tmp_path / "r.png")
    assert result.returncode == 0 and "another program rewrote the model tag" in result.stderr
    strict = run_cli("decode", path, "-o", tmp_path / "s.png", "--strict")
    assert strict.returncode == 1 and "rewrote the model tag" in strict.stderr


def test_an_unwritable_output_is_found_before_the_fit(work, tmp_path):
    (tmp_path / "a-file").write_text("x")
    locked = tmp_path / "locked"
    locked.mkdir()
    os.chmod(locked, 0o500)
    outputs = [tmp_path / "a-file" / "c.png"]
    if not os.access(locked, os.W_OK):  # root may write anywhere; others get this case too
        outputs.append(locked / "c.png")
    for output in outputs:
        start = time.perf_counter()
        result = run_cli("encode", work["source"], "-o", output, "--steps", "5000")
        assert result.returncode == 1 and "cannot write" in result.stderr, result.stderr
        assert time.perf_counter() - start < 5.0  # a 5,000-step fit would take far longer
    (tmp_path / "taken.png").mkdir()  # an existing folder is where the output goes, as with cp
    result = run_cli("encode", work["source"], "-o", tmp_path / "taken.png", "--steps", "5")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "taken.png" / (Path(work["source"]).stem + ".png")).is_file()


def test_outputs_have_normal_permissions(work, tmp_path):
    old = os.umask(0o022)
    try:
        out = tmp_path / "r.png"
        assert run_cli("decode", work["png"], "-o", out).returncode == 0
        assert oct(out.stat().st_mode & 0o777) == oct(0o644)
    finally:
        os.umask(old)
