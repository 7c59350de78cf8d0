"""Carriers in the wild: a damaged model falls back to the photo, sidecars (detach, attach,
decode beside the file), and hostile sidecars. Real carriers, real CLI runs."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import zlib

import numpy as np
import pytest
from conftest import FAST_FIT, check_ok, run_cli
from PIL import Image

from gamut_onnx.container import jpeg, png
from gamut_onnx.container.carrier import PNG_BLOB_CHUNK, read_carrier
from gamut_onnx.container.sidecar import HEADER_BYTES, Sidecar, pack_sidecar, unpack_sidecar
from gamut_onnx.errors import GamutError
from gamut_onnx.read import read_prophoto

IGNORED = "warning: damaged gamut-onnx model ignored ("


@pytest.fixture(scope="module")
def carriers(work, tmp_path_factory):
    """The session's PNG and TIFF carriers plus a JPEG one, and each one's restore."""
    folder = tmp_path_factory.mktemp("wild")
    files = {"png": work["png"], "tiff": work["tiff"], "jpeg": folder / "carrier.jpg"}
    check_ok(run_cli("encode", work["source"], "-o", files["jpeg"], *FAST_FIT, "-q"))
    restored = {}
    for fmt, path in files.items():
        out = folder / f"restored_{fmt}.tif"
        check_ok(run_cli("decode", path, "-o", out, "--strict"))
        restored[fmt] = read_prophoto(out).prophoto
    return {"dir": folder, "files": files, "restored": restored}


def decode_json(path, out, *flags):
    result = run_cli("decode", path, "-o", out, "--json", *flags)
    return result, (json.loads(result.stdout) if result.returncode == 0 else None)


def plain_png(source, target):
    """What a tool that drops unknown chunks writes: the same pixels, no model."""
    Image.open(source).save(target)
    return target


# --- a damaged model is not a damaged photo ------------------------------------------------------
def crc_damaged_png(data: bytes) -> bytes:
    """The PNG with a blob byte flipped and the chunk CRC fixed: only the blob's CRC notices."""
    out = bytearray(png.PNG_SIGNATURE)
    for ctype, payload in png.iter_chunks(data):
        if ctype == PNG_BLOB_CHUNK:
            payload = payload[:100] + bytes([payload[100] ^ 0xFF]) + payload[101:]
        out += png.make_chunk(ctype, payload)
    return bytes(out)


def test_a_crc_damaged_blob_decodes_as_the_plain_photo_with_one_warning(carriers, tmp_path):
    damaged = tmp_path / "damaged.png"
    damaged.write_bytes(crc_damaged_png(carriers["files"]["png"].read_bytes()))
    plain = plain_png(carriers["files"]["png"], tmp_path / "plain.png")
    result, report = decode_json(damaged, tmp_path / "r.tif")
    check_ok(result)
    assert result.stderr.count("\n") == 1 and result.stderr.startswith(IGNORED), result.stderr
    assert "CRC32 mismatch" in result.stderr and "plain sRGB" in result.stderr
    assert (report["restored"], report["model"]) == (False, "ignored")
    expected = check_ok(run_cli("decode", plain, "-o", tmp_path / "p.tif"))
    assert "no model" in expected.stdout
    assert np.array_equal(read_prophoto(tmp_path / "r.tif").prophoto,
                          read_prophoto(tmp_path / "p.tif").prophoto)  # fmt: skip
    strict = run_cli("decode", damaged, "-o", tmp_path / "s.tif", "--strict")
    assert strict.returncode == 1 and strict.stderr.startswith("error: invalid weight blob: CRC32")
    assert not (tmp_path / "s.tif").exists()


def test_damaged_jpeg_segments_and_chunk_crc_fall_back_but_broken_pixels_still_fail(
    carriers, tmp_path
):
    data = carriers["files"]["jpeg"].read_bytes()
    blob = read_carrier(carriers["files"]["jpeg"]).blob
    # the blob's APP9 segment claims to be 1 of 2: a chunk is missing
    at = data.index(jpeg.BLOB_ID) + len(jpeg.BLOB_ID)
    missing = data[: at + 1] + b"\x02" + data[at + 2 :]
    png_data = bytearray(carriers["files"]["png"].read_bytes())
    png_data[png_data.index(PNG_BLOB_CHUNK) + 50] ^= 1  # the chunk's CRC no longer matches
    cases = {"missing.jpg": (missing, "missing chunks 2 of 2"),
             "chunk.png": (bytes(png_data), "gmLp has a bad CRC")}  # fmt: skip
    for name, (bytes_, reason) in cases.items():
        (tmp_path / name).write_bytes(bytes_)
        result = check_ok(run_cli("decode", tmp_path / name, "-o", tmp_path / f"{name}.tif"))
        assert result.stderr.startswith(IGNORED) and reason in result.stderr, result.stderr
        assert result.stderr.count("\n") == 1
    assert len(blob) > 1000
    # the pixels themselves broken: an error with or without --strict, nothing written
    broken = bytearray(carriers["files"]["png"].read_bytes())
    idat = broken.index(b"IDAT")
    broken[idat + 40 : idat + 60] = bytes(20)
    (tmp_path / "broken.png").write_bytes(broken)
    result = run_cli("decode", tmp_path / "broken.png", "-o", tmp_path / "b.tif")
    assert result.returncode == 1 and result.stderr.startswith("error:")
    assert "Traceback" not in result.stderr and not (tmp_path / "b.tif").exists()


def test_a_batch_counts_fallbacks_as_warnings(carriers, tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    shutil.copy(carriers["files"]["png"], inputs / "good.png")
    (inputs / "bad.png").write_bytes(crc_damaged_png(carriers["files"]["png"].read_bytes()))
    result = check_ok(run_cli("decode", inputs, "-o", tmp_path / "out", "-q"))
    assert "2 done" in result.stdout and "0 failed, 1 with warnings" in result.stdout
    lines = (tmp_path / "out" / "gamut-onnx-manifest.jsonl").read_text().splitlines()
    records = {json.loads(line)["input"].rsplit("/", 1)[1]: json.loads(line) for line in lines}
    assert records["bad.png"]["status"] == "ok" and records["bad.png"]["model"] == "ignored"
    assert records["bad.png"]["warnings"][0].startswith("damaged gamut-onnx model ignored")
    assert (records["good.png"]["model"], records["good.png"]["warnings"]) == ("embedded", [])


def imagemagick():
    """ImageMagick's own convert (not a stand-in), or None."""
    for tool in (shutil.which("magick"), "/usr/bin/convert"):
        if tool and shutil.os.path.exists(tool):
            version = subprocess.run([tool, "-version"], capture_output=True, text=True)
            if "ImageMagick" in version.stdout:
                return tool
    return None


@pytest.mark.skipif(imagemagick() is None, reason="ImageMagick is not installed")
@pytest.mark.parametrize("fmt", ["jpeg", "png"])
def test_imagemagick_rewrites_decode_with_one_warning_and_fail_strict(carriers, tmp_path, fmt):
    """ImageMagick re-encodes: it drops the PNG chunks, and keeps the JPEG's APP9 segments (all
    or part of them) for pixels that changed. Either way the photo decodes, with one line."""
    source = carriers["files"][fmt]
    out = tmp_path / f"magick{source.suffix}"
    subprocess.run([imagemagick(), str(source), str(out)], check=True, capture_output=True)
    result = check_ok(run_cli("decode", out, "-o", tmp_path / "r.tif"))
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("warning:"), result.stderr
    strict = run_cli("decode", out, "-o", tmp_path / "s.tif", "--strict")
    assert strict.returncode == 1 and strict.stderr.count("\n") == 1, strict.stderr
    assert not (tmp_path / "s.tif").exists()


# --- sidecars ----------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["png", "jpeg", "tiff"])
def test_detach_then_decode_beside_and_attach_restore_what_the_carrier_did(carriers, tmp_path, fmt):
    source = carriers["files"][fmt]
    suffix = source.suffix
    check_ok(run_cli("detach", source, "-o", tmp_path / "model.gamut"))
    bare = tmp_path / f"bare{suffix}"  # the same file bytes without our metadata
    found = read_carrier(source)
    if fmt == "png":
        bare.write_bytes(png.without_chunks(source.read_bytes(), frozenset({PNG_BLOB_CHUNK})))
    elif fmt == "jpeg":
        bare.write_bytes(jpeg.add_segments(source.read_bytes(), found.icc, None))
    else:
        from gamut_onnx.container.tiff import encode_tiff_carrier

        bare.write_bytes(encode_tiff_carrier(found.srgb8, found.alpha, None))
    assert read_carrier(bare).blob is None
    shutil.copy(tmp_path / "model.gamut", tmp_path / f"bare{suffix}.gamut")
    result, report = decode_json(bare, tmp_path / "side.tif", "--strict")
    check_ok(result)
    assert (report["restored"], report["model"]) == (True, "sidecar")
    assert report["sidecar"].endswith(f"bare{suffix}.gamut")
    assert np.array_equal(read_prophoto(tmp_path / "side.tif").prophoto, carriers["restored"][fmt])
    # attach (default sidecar: FILE.gamut) gives a carrier that restores the same on its own
    check_ok(run_cli("attach", bare, "-o", tmp_path / f"attached{suffix}"))
    check_ok(
        run_cli("decode", tmp_path / f"attached{suffix}", "-o", tmp_path / "a.tif", "--strict")
    )
    assert np.array_equal(read_prophoto(tmp_path / "a.tif").prophoto, carriers["restored"][fmt])


def test_attach_refuses_other_pixels_and_formats_and_writes_nothing(carriers, tmp_path):
    check_ok(run_cli("detach", carriers["files"]["png"], "-o", tmp_path / "m.gamut"))
    pixels = np.asarray(Image.open(carriers["files"]["png"])).copy()
    pixels[3, 4, 0] ^= 1
    Image.fromarray(pixels).save(tmp_path / "edited.png")
    out = tmp_path / "out"
    out.mkdir()
    cases = [
        (tmp_path / "edited.png", out / "x.png", "pixel digest differs"),
        (carriers["files"]["png"], out / "x.jpg", "give the output its extension"),
    ]
    for image, target, fragment in cases:
        result = run_cli("attach", image, tmp_path / "m.gamut", "-o", target)
        assert result.returncode == 1 and result.stderr.count("\n") == 1, result.stderr
        assert fragment in result.stderr and "Traceback" not in result.stderr
    assert list(out.iterdir()) == []
    bare = run_cli("detach", plain_png(carriers["files"]["png"], tmp_path / "p.png"))
    assert bare.returncode == 1 and "carries no gamut-onnx model" in bare.stderr


def damaged_sidecars(good: bytes) -> dict[str, tuple[bytes, str]]:
    """Hostile sidecars: each field broken in turn, lengths that lie, trailing junk."""

    def patched(offset, fmt, value, reseal=True):
        data = bytearray(good)
        struct.pack_into(fmt, data, offset, value)
        if reseal:
            struct.pack_into("<I", data, len(data) - 4, zlib.crc32(bytes(data[:-4])))
        return bytes(data)

    return {
        "empty": (b"", "truncated"),
        "magic": (b"GAMUTSIX" + good[8:], "bad magic"),
        "version": (patched(8, "<H", 2), "version 2"),
        "flags": (patched(10, "<H", 1), "flags 0x0001"),
        "huge": (patched(12, "<I", 0xFFFFFFF0), "sidecar claims"),
        "short": (patched(12, "<I", len(good)), "its header says"),
        "zero": (patched(12, "<I", 0), "sidecar claims a 0-byte blob"),
        "junk": (good + b"\0", "its header says"),
        "crc": (patched(HEADER_BYTES + 7, "<B", good[HEADER_BYTES + 7] ^ 1, False), "CRC32"),
    }


def test_hostile_sidecars_are_one_line_errors(carriers, tmp_path):
    good = pack_sidecar(Sidecar(read_carrier(carriers["files"]["png"]).blob, None))
    assert unpack_sidecar(good).blob == read_carrier(carriers["files"]["png"]).blob
    for name, (data, fragment) in damaged_sidecars(good).items():
        with pytest.raises(GamutError, match=fragment) as info:
            unpack_sidecar(data, "x.gamut")
        assert "\n" not in str(info.value) and str(info.value).startswith("x.gamut: "), name
    bare = plain_png(carriers["files"]["png"], tmp_path / "bare.png")
    side = tmp_path / "bare.png.gamut"
    for name in ("crc", "huge"):
        side.write_bytes(damaged_sidecars(good)[name][0])
        result = check_ok(run_cli("decode", bare, "-o", tmp_path / f"{name}.tif"))
        assert result.stderr.startswith(IGNORED) and "bare.png.gamut" in result.stderr
        strict = run_cli("decode", bare, "-o", tmp_path / f"{name}s.tif", "--strict")
        assert strict.returncode == 1 and strict.stderr.count("\n") == 1
        attach = run_cli("attach", bare, "-o", tmp_path / f"{name}.png")
        assert attach.returncode == 1 and not (tmp_path / f"{name}.png").exists()
    with open(side, "wb") as f:  # too large to be a sidecar: refused from its size
        f.truncate(17 << 20)
    result = run_cli("attach", bare, "-o", tmp_path / "big.png")
    assert result.returncode == 1 and "too large for a gamut-onnx sidecar" in result.stderr
