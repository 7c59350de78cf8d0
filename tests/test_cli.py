"""End-to-end tests of the `gamut-onnx` command line, each command run in a real subprocess."""

from __future__ import annotations

import json

import numpy as np
import onnxruntime as ort
import pytest
import tifffile
from conftest import FAST_FIT, check_ok, run_cli
from PIL import Image

from gamut_onnx import __version__, runtime
from gamut_onnx.codec import decode
from gamut_onnx.colour import out_of_gamut_mask, romm_encode, srgb8_to_prophoto
from gamut_onnx.container import png
from gamut_onnx.container.carrier import PNG_BLOB_CHUNK, read_carrier, write_carrier
from gamut_onnx.metrics import psnr
from gamut_onnx.read import read_prophoto
from gamut_onnx.sample import synthetic_scene

FORMATS = ["png", "tiff"]
SUFFIX = {"png": ".png", "tiff": ".tif"}
QUICK_FIT = ("--steps", "20", "--batch", "2048", "--device", "cpu", "-q")


def check_error(result, out_dir, fragment=""):
    """Exit 1, exactly one 'error:' line on stderr, no traceback, nothing left in out_dir."""
    assert result.returncode == 1, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error:"), result.stderr
    assert fragment.lower() in lines[0].lower()
    assert "Traceback" not in result.stderr + result.stdout
    assert sorted(p.name for p in out_dir.iterdir()) == []  # no output, no stray temp file


def one_warning(result):
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("warning:"), result.stderr
    return lines[0]


def inspect_json(path):
    result = check_ok(run_cli("inspect", path, "--json"))
    assert len(result.stdout.strip().splitlines()) == 1
    return json.loads(result.stdout)


def with_png_blob_byte_flipped(data, index):
    """The PNG with one gmLP payload byte flipped and the chunk CRC fixed up to match."""
    out = bytearray(png.PNG_SIGNATURE)
    for ctype, payload in png.iter_chunks(data):
        if ctype == PNG_BLOB_CHUNK:
            payload = bytearray(payload)
            payload[index] ^= 0xFF
        out += png.make_chunk(ctype, bytes(payload))
    return bytes(out)


@pytest.fixture
def out(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


@pytest.fixture(scope="module")
def bad(work, tmp_path_factory):
    """Broken, foreign and doctored inputs, derived from the session's source and carriers."""
    folder = tmp_path_factory.mktemp("bad")
    files = {"missing": folder / "missing.tif"}
    files["text"] = folder / "notes.txt"
    files["text"].write_text("not an image\n")
    files["png8"] = folder / "eight.png"
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(files["png8"])
    files["gray"] = folder / "gray.tif"
    tifffile.imwrite(files["gray"], np.zeros((16, 16), np.uint16))
    files["trunc_source"] = folder / "trunc_source.tif"
    data = work["source"].read_bytes()
    files["trunc_source"].write_bytes(data[: len(data) // 2])
    for fmt in FORMATS:
        carrier_path = work[fmt]
        data = carrier_path.read_bytes()
        found = read_carrier(carrier_path)
        files[f"trunc_{fmt}"] = folder / f"trunc{SUFFIX[fmt]}"
        files[f"trunc_{fmt}"].write_bytes(data[: len(data) // 2])
        if fmt == "png":
            corrupt = with_png_blob_byte_flipped(data, 100)
        else:  # TIFF tags have no checksum: flip a byte of the blob where it sits in the file
            start = data.find(found.blob)
            assert start > 0
            corrupt = bytearray(data)
            corrupt[start + 100] ^= 0xFF
        files[f"corrupt_{fmt}"] = folder / f"corrupt{SUFFIX[fmt]}"
        files[f"corrupt_{fmt}"].write_bytes(bytes(corrupt))
        # the container layer still reads it; only the blob's own CRC can notice
        assert read_carrier(files[f"corrupt_{fmt}"]).blob != found.blob
        small = np.asarray(Image.fromarray(found.srgb8).resize((48, 32)))
        files[f"resized_{fmt}"] = folder / f"resized{SUFFIX[fmt]}"
        write_carrier(files[f"resized_{fmt}"], small, None, found.blob)
    return files


# --- the main job -------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", FORMATS)
def test_round_trip_restores_og_colour_better_than_clip(work, tmp_path, fmt):
    restored = tmp_path / "restored.tif"
    result = check_ok(run_cli("decode", work[fmt], "-o", restored))
    assert "restored" in result.stdout
    assert result.stderr == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["restored.tif"]
    with tifffile.TiffFile(restored) as tif:
        page = tif.pages[0]
        assert page.dtype == np.uint16
        assert page.shape == (64, 96, 3)

    truth = read_prophoto(work["source"]).prophoto
    back = read_prophoto(restored).prophoto
    clipped = srgb8_to_prophoto(read_carrier(work[fmt]).srgb8)
    og = out_of_gamut_mask(truth)
    assert 0.05 < og.mean() < 0.95
    clip_og, back_og = psnr(clipped, truth, og), psnr(back, truth, og)
    clip_all, back_all = psnr(clipped, truth), psnr(back, truth)
    print(f"{fmt}: OG PSNR clip {clip_og:.2f} -> {back_og:.2f} dB", end="; ")
    print(f"whole image {clip_all:.2f} -> {back_all:.2f} dB")
    assert back_og > clip_og + 3.0
    assert back_all > clip_all


@pytest.mark.parametrize("fmt", FORMATS)
def test_encode_json_is_one_object_matching_inspect(work, fmt):
    stdout, report = work["reports"][fmt]
    assert len(stdout.strip().splitlines()) == 1
    assert isinstance(report, dict)
    assert {"fit_s", "encode_s", "blob_bytes", "og_fraction", "device"} <= report.keys()
    assert isinstance(report["fit_s"], float) and report["fit_s"] > 0
    assert isinstance(report["encode_s"], float) and report["encode_s"] >= report["fit_s"]
    assert isinstance(report["blob_bytes"], int) and report["blob_bytes"] > 64
    assert 0.05 < report["og_fraction"] < 0.95
    assert report["device"] == "cpu"
    assert report["blob_bytes"] < work[fmt].stat().st_size
    assert inspect_json(work[fmt])["blob_bytes"] == report["blob_bytes"]


def test_no_context_writes_a_version_2_blob(work, tmp_path):
    out = tmp_path / "plain.png"
    result = check_ok(
        run_cli("encode", work["source"], "-o", out, *QUICK_FIT, "--no-context", "--json")
    )
    report = json.loads(result.stdout)
    assert report["context"] is False and report["context_race"] is None
    info = inspect_json(out)
    assert (info["format_version"], info["context"]) == (2, False)


@pytest.mark.parametrize("fmt", FORMATS)
def test_inspect_json_describes_the_blob(work, fmt):
    info = inspect_json(work[fmt])
    assert info["carrier"] == fmt
    assert (info["image_width"], info["image_height"]) == (96, 64)
    assert info["has_model"] is True and info["alpha"] is False
    report = work["reports"][fmt][1]  # the race's choice decides the blob's layout
    assert info["context"] is report["context"] is report["context_race"]["context"]
    assert info["format_version"] == (3 if info["context"] else 2)
    assert info["width"] == 32
    assert info["weight_dtype"] == "float16"
    assert info["source_space"] == "prophoto"  # the sample scene is a ProPhoto TIFF
    assert info["model_image_size"] == [96, 64]
    assert info["pixel_digest_ok"] is True


@pytest.mark.parametrize(
    "option, key, expected",
    [(("--weights", "fp32"), "weight_dtype", "float32"), (("--width", "16"), "width", 16)],
    ids=["fp32", "width16"],
)
def test_encode_options_show_in_inspect(work, tmp_path, option, key, expected):
    carrier = tmp_path / "carrier.png"
    check_ok(run_cli("encode", work["source"], "-o", carrier, *QUICK_FIT, *option))
    info = inspect_json(carrier)
    assert info[key] == expected
    default_bytes = work["reports"]["png"][1]["blob_bytes"]
    if key == "weight_dtype":
        assert info["blob_bytes"] > default_bytes
    else:
        assert info["blob_bytes"] < default_bytes


def test_inspect_prints_readable_lines(work):
    result = check_ok(run_cli("inspect", work["png"]))
    assert not result.stdout.lstrip().startswith("{")
    fields = dict(line.split(":", 1) for line in result.stdout.splitlines())
    fields = {k.strip(): v.strip() for k, v in fields.items()}
    assert fields["weight_dtype"] == "float16"
    assert fields["pixel_digest_ok"] == "True"
    assert fields["blob_bytes"] == str(work["reports"]["png"][1]["blob_bytes"])


@pytest.mark.parametrize("fmt", FORMATS)
def test_encode_is_deterministic_on_cpu(work, tmp_path, fmt):
    carrier = tmp_path / f"again{SUFFIX[fmt]}"
    result = check_ok(run_cli("encode", work["source"], "-o", carrier, *FAST_FIT, "-q"))
    assert len(result.stdout.splitlines()) == 1 and "PSNR" in result.stdout
    assert carrier.read_bytes() == work[fmt].read_bytes()


@pytest.mark.parametrize("fmt", FORMATS)
def test_alpha_survives_the_round_trip(tmp_path, fmt):
    h, w = 48, 64
    rgb = np.rint(romm_encode(synthetic_scene(w, h, seed=1)) * 65535).astype(np.uint16)
    alpha = np.tile(np.linspace(0, 65535, w), (h, 1)).astype(np.uint16)
    alpha[:8] = 0
    source = tmp_path / "rgba.tif"
    tifffile.imwrite(
        source, np.dstack([rgb, alpha]), photometric="rgb", extrasamples=["unassalpha"]
    )
    carrier, restored = tmp_path / f"carrier{SUFFIX[fmt]}", tmp_path / "restored.tif"
    check_ok(run_cli("encode", source, "-o", carrier, "--input-space", "prophoto", *QUICK_FIT))
    assert inspect_json(carrier)["alpha"] is True
    check_ok(run_cli("decode", carrier, "-o", restored))
    with tifffile.TiffFile(restored) as tif:
        assert tif.pages[0].shape == (h, w, 4)
        assert tif.pages[0].dtype == np.uint16
    back = read_prophoto(restored)  # decoded into the source space: ProPhoto, tagged
    assert back.alpha is not None
    assert np.abs(back.alpha - alpha / 65535.0).max() <= 1 / 255


# --- ONNX export --------------------------------------------------------------------------------
def test_export_onnx_writes_the_shipped_graph(tmp_path):
    model = tmp_path / "restore.onnx"
    result = check_ok(run_cli("export-onnx", "-o", model))
    assert model.read_bytes() == runtime.GRAPH_PATH.read_bytes()
    assert "restore.onnx" in result.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["restore.onnx"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_export_onnx_bake_matches_decode(work, tmp_path, fmt):
    model = tmp_path / "baked.onnx"
    check_ok(run_cli("export-onnx", "--bake", work[fmt], "-o", model))
    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["srgb8"]
    carrier = read_carrier(work[fmt])
    baked, _ = session.run(None, {"srgb8": carrier.srgb8})
    expected = decode(carrier, provider="cpu").prophoto
    assert baked.shape == expected.shape == (64, 96, 3)
    np.testing.assert_allclose(baked, expected, rtol=0, atol=1e-5)


# --- failures: exit 1, one line, nothing written ------------------------------------------------
ERROR_CASES = [
    # (id, command, input key, output name, fragment of the message)
    ("missing-input", "encode", "missing", "x.png", "no such file"),
    ("text-input", "encode", "text", "x.png", "unrecognised file type"),
    ("untagged-png-input", "encode", "png8", "x.png", "has no colour profile"),
    ("grayscale-tiff", "encode", "gray", "x.png", "grayscale"),
    ("truncated-tiff", "encode", "trunc_source", "x.png", "truncated"),
    ("bmp-output", "encode", "source", "x.bmp", ".bmp"),
    ("decode-missing", "decode", "missing", "r.tif", "no such file"),
    ("decode-text", "decode", "text", "r.tif", "not a png, tiff or jpeg"),
    ("decode-truncated-png", "decode", "trunc_png", "r.tif", "truncated"),
    ("decode-truncated-tiff", "decode", "trunc_tiff", "r.tif", "truncated"),
    ("decode-to-bmp", "decode", "png", "r.bmp", ".bmp"),
    ("corrupt-blob-png", "decode-strict", "corrupt_png", "r.tif", "crc"),
    ("corrupt-blob-tiff", "decode-strict", "corrupt_tiff", "r.tif", "crc"),
    ("resized-png", "decode-strict", "resized_png", "r.tif", "resized"),
    ("resized-tiff", "decode-strict", "resized_tiff", "r.tif", "resized"),
    ("bake-corrupt-blob", "export-onnx", "corrupt_png", "m.onnx", "crc"),
]


@pytest.mark.parametrize(
    "command, key, name, fragment", [c[1:] for c in ERROR_CASES], ids=[c[0] for c in ERROR_CASES]
)
def test_errors_are_one_line_and_leave_nothing(work, bad, out, command, key, name, fragment):
    source = work[key] if key in work else bad[key]
    if command == "encode":
        args = ("encode", source, "-o", out / name, *QUICK_FIT)
    elif command.startswith("decode"):  # a damaged model is an error only under --strict
        strict = ("--strict",) if command == "decode-strict" else ()
        args = ("decode", source, "-o", out / name, *strict)
    else:
        args = ("export-onnx", "--bake", source, "-o", out / name)
    check_error(run_cli(*args), out, fragment)


@pytest.mark.parametrize(
    "args",
    [
        ("encode", "{source}", "-o", "{out}/x.png", "--bogus"),
        ("encode", "{source}"),
        ("decode", "{png}"),
        ("encode", "{source}", "-o", "{out}/x.png", "--width", "wide"),
        ("encode", "{source}", "-o", "{out}/x.png", "--steps", "0"),
        ("decode", "{png}", "-o", "{out}/r.tif", "--tile", "4"),
        ("no-such-command",),
    ],
    ids=[
        "unknown-option",
        "encode-no-output",
        "decode-no-output",
        "bad-int",
        "steps-0",
        "tile-4",
        "unknown-command",
    ],
)
def test_usage_errors_exit_2(work, out, args):
    values = {"source": work["source"], "png": work["png"], "out": out}
    result = run_cli(*(a.format(**values) for a in args))
    assert result.returncode == 2, f"{result.stdout}\n{result.stderr}"
    assert "Usage:" in result.stderr and "Traceback" not in result.stderr
    assert result.stdout == ""
    assert list(out.iterdir()) == []


@pytest.mark.parametrize("command", ["decode", "export-onnx"])
def test_output_in_a_missing_folder_is_a_plain_error(work, out, command):
    target = out / "no-such-folder" / ("r.tif" if command == "decode" else "m.onnx")
    args = ("decode", work["png"], "-o", target) if command == "decode" else (command, "-o", target)
    result = run_cli(*args)
    check_error(result, out, "no-such-folder")
    assert "internal error" not in result.stderr and ".tmp" not in result.stderr


def test_encode_refuses_to_overwrite_its_source(work, tmp_path):
    source = tmp_path / "source.tif"
    source.write_bytes(work["source"].read_bytes())
    result = run_cli("encode", source, "-o", source, *QUICK_FIT)
    assert source.read_bytes() == work["source"].read_bytes()
    assert result.returncode == 1 and result.stderr.startswith("error:")


def test_debug_shows_the_traceback(bad, out):
    result = run_cli("--debug", "decode", bad["text"], "-o", out / "r.tif")
    assert result.returncode != 0
    assert "Traceback" in result.stderr and "GamutError" in result.stderr
    assert list(out.iterdir()) == []


# --- soft problems: warnings, or errors with --strict -------------------------------------------
def write_plain(path, srgb8, how):
    if how == "pillow":
        Image.fromarray(srgb8).save(path)
    else:
        write_carrier(path, srgb8, None, None)


@pytest.mark.parametrize("how, suffix", [("pillow", ".png"), ("png", ".png"), ("tiff", ".tif")])
def test_carrier_without_model_decodes_with_a_warning(work, tmp_path, out, how, suffix):
    srgb8 = read_carrier(work["png"]).srgb8
    plain = tmp_path / f"plain{suffix}"
    write_plain(plain, srgb8, how)
    assert inspect_json(plain)["has_model"] is False

    restored = out / "r.tif"
    result = check_ok(run_cli("decode", plain, "-o", restored))
    assert "model" in one_warning(result)
    assert "no model" in result.stdout
    expanded = read_prophoto(restored).prophoto
    np.testing.assert_allclose(expanded, srgb8_to_prophoto(srgb8), rtol=0, atol=1e-4)

    restored.unlink()
    check_error(run_cli("decode", plain, "-o", restored, "--strict"), out, "model")


@pytest.mark.parametrize("fmt", FORMATS)
def test_edited_pixels_warn_and_fail_strict(work, tmp_path, out, fmt):
    found = read_carrier(work[fmt])
    srgb8 = found.srgb8.copy()
    srgb8[10, 20] = 255 - srgb8[10, 20]
    edited = tmp_path / f"edited{SUFFIX[fmt]}"
    write_carrier(edited, srgb8, found.alpha, found.blob)

    info = inspect_json(edited)
    assert info["has_model"] is True and info["pixel_digest_ok"] is False

    restored = out / "r.tif"
    result = check_ok(run_cli("decode", edited, "-o", restored, "--json"))
    warning = one_warning(result)
    assert "edit" in warning
    report = json.loads(result.stdout)
    assert report["restored"] is True
    assert report["warnings"] == [warning.removeprefix("warning: ")]
    assert restored.exists()

    restored.unlink()
    check_error(run_cli("decode", edited, "-o", restored, "--strict"), out, "edit")


# --- help and version ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "command",
    [
        (),
        ("encode",),
        ("decode",),
        ("inspect",),
        ("export-onnx",),
        ("sample",),
        ("demo",),
    ],
    ids=lambda c: " ".join(c) or "app",
)
def test_help_shows_an_example(command):
    result = check_ok(run_cli(*command, "--help"))
    assert "Usage:" in result.stdout
    assert "Example" in result.stdout
    assert (
        f"gamut-onnx {command[0] if command else ''}".strip() in result.stdout.split("Example")[1]
    )


def test_version():
    result = run_cli("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"gamut-onnx {__version__}\n"
