"""Decoding, inspecting and exporting need onnxruntime only: they must work where torch is absent.

The CLI runs in fresh interpreters where `import torch` raises ImportError; one more test runs
the restore paths with torch installed and checks that none of them imports it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import tifffile
from conftest import check_ok, run_cli

from gamut_onnx import runtime

FORMATS = ["png", "tiff"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_decode_without_torch(work, tmp_path, fmt):
    blocked, normal = tmp_path / "blocked.tif", tmp_path / "normal.tif"
    result = check_ok(run_cli("decode", work[fmt], "-o", blocked, block_torch=True))
    assert "restored" in result.stdout and result.stderr == ""
    check_ok(run_cli("decode", work[fmt], "-o", normal))
    np.testing.assert_array_equal(tifffile.imread(blocked), tifffile.imread(normal))


def test_inspect_without_torch(work):
    result = check_ok(run_cli("inspect", work["png"], "--json", block_torch=True))
    info = json.loads(result.stdout)
    assert info["has_model"] is True and info["pixel_digest_ok"] is True


def test_export_onnx_without_torch(work, tmp_path):
    fixed, baked = tmp_path / "restore.onnx", tmp_path / "baked.onnx"
    check_ok(run_cli("export-onnx", "-o", fixed, block_torch=True))
    assert fixed.read_bytes() == runtime.GRAPH_PATH.read_bytes()
    check_ok(run_cli("export-onnx", "--bake", work["png"], "-o", baked, block_torch=True))
    session = ort.InferenceSession(str(baked), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["srgb8"]


# Runs the restore paths in one interpreter (torch installed, not blocked) and reports whether
# any of them imported torch.
NEVER_IMPORTS = """
import json, sys
from gamut_onnx import decode, read_carrier, write_restored_tiff
from gamut_onnx.cli import main

carrier, folder = sys.argv[1], sys.argv[2]
result = decode(read_carrier(carrier))
write_restored_tiff(folder + "/api.tif", result.prophoto, result.alpha)
codes = []
for args in (
    ["decode", carrier, "-o", folder + "/cli.tif"],
    ["inspect", carrier, "--json"],
    ["export-onnx", "-o", folder + "/restore.onnx"],
    ["export-onnx", "--bake", carrier, "-o", folder + "/baked.onnx"],
):
    sys.argv = ["gamut-onnx", *args]
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = exc.code or 0
    codes.append(code)
print(json.dumps({"codes": codes, "torch": "torch" in sys.modules}))
"""


@pytest.mark.parametrize("fmt", FORMATS)
def test_restore_paths_never_import_torch(work, tmp_path, fmt):
    result = subprocess.run(
        [sys.executable, "-c", NEVER_IMPORTS, str(work[fmt]), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.splitlines()[-1])
    assert report["codes"] == [0, 0, 0, 0]
    assert report["torch"] is False
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["api.tif", "baked.onnx", "cli.tif", "restore.onnx"]


def test_encode_without_torch_says_to_install_the_fit_extra(work, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    args = ("encode", work["source"], "-o", out / "x.png", "--steps", "5")
    result = run_cli(*args, block_torch=True)
    assert result.returncode == 1, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr
    assert "gamut-onnx[fit]" in lines[0] and "Traceback" not in result.stderr
    assert list(out.iterdir()) == []


VECTORS = Path(__file__).resolve().parent / "conformance" / "vectors"


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_decode_only_restores_an_icc_photo_into_its_own_profile(tmp_path, suffix):
    """Without torch and imagecodecs (the `[cpu]` install) a carrier whose photo was described
    by an ICC profile decodes into that profile, tagged with it, within 1e-4 in linear light of
    the linear float restore (both read back here through LittleCMS)."""
    from gamut_onnx.blob import unpack_blob
    from gamut_onnx.colour.cms import IccProfile
    from gamut_onnx.container import png
    from gamut_onnx.container.carrier import read_carrier
    from gamut_onnx.evaluate.harness import linear_in
    from gamut_onnx.read import read_prophoto

    vector = VECTORS / "png_source_icc.png"
    profile = IccProfile(unpack_blob(read_carrier(vector).blob).source_icc, "source")
    out, linear = tmp_path / f"restored{suffix}", tmp_path / "linear.tif"
    check_ok(run_cli("decode", vector, "-o", out, block=("torch", "imagecodecs")))
    args = ("--space", "prophoto-linear", "--depth", "float")
    check_ok(run_cli("decode", vector, "-o", linear, *args))
    if suffix == ".png":
        assert png.iccp_profile(png.ancillary_chunks(out.read_bytes())) == profile.data
    else:
        assert tifffile.TiffFile(out).pages[0].tags[34675].value == profile.data
    back = linear_in(read_prophoto(out).prophoto, profile)
    exact = linear_in(read_prophoto(linear).prophoto, profile)
    assert np.abs(back - exact).max() < 1e-4


@pytest.mark.parametrize("suffix", [".avif", ".jxl"])
def test_decode_only_names_the_codec_extra_for_avif_and_jpeg_xl(tmp_path, suffix):
    out = tmp_path / f"restored{suffix}"
    args = ("--space", "display-p3")
    result = run_cli(
        "decode", VECTORS / "png_gated_fp16.png", "-o", out, *args, block=("torch", "imagecodecs")
    )
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1 and len(lines) == 1 and "gamut-onnx[" in lines[0], result.stderr
    assert not out.exists()
