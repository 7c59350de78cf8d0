"""`gamut-onnx eval` end to end on a small generated image."""

from __future__ import annotations

import json

import pytest
from conftest import check_ok, make_source, run_cli

from gamut_onnx.errors import GamutError
from gamut_onnx.evaluate import parse_carrier

KEYS = {
    "image",
    "method",
    "psnr",
    "psnr_og",
    "rmse",
    "rmse_og",
    "de2000_og_mean",
    "de2000_og_p95",
    "og_fraction",
    "fit_s",
    "restore_s",
    "blob_bytes",
}


def test_parse_carrier():
    assert parse_carrier("png") == ("png", 90)
    assert parse_carrier("jpeg:75") == ("jpeg", 75)
    for bad in ("gif", "jpeg", "jpeg:0", "png:90"):
        with pytest.raises(GamutError):
            parse_carrier(bad)


@pytest.mark.parametrize("carrier", ["png", "jpeg:90"])
def test_eval_json_and_reports(tmp_path, carrier):
    pytest.importorskip("torch")
    folder = tmp_path / "images"
    folder.mkdir()
    make_source(folder / "a.tif", 64, 48)
    out = tmp_path / "report"
    args = ("eval", folder, "--method", "clip,default", "--carrier", carrier, "--out", out)
    report = json.loads(check_ok(run_cli(*args, "--json")).stdout)
    assert [(r["image"], r["method"]) for r in report["images"]] == [
        ("a.tif", "clip"),
        ("a.tif", "default"),
    ]
    assert all(set(r) == KEYS for r in report["images"])
    means = report["means"]
    assert set(means) == {"clip", "default"} and set(means["clip"]) == KEYS - {"image", "method"}
    assert means["default"]["psnr_og"] > means["clip"]["psnr_og"]
    assert means["default"]["de2000_og_mean"] < means["clip"]["de2000_og_mean"]
    assert means["clip"]["blob_bytes"] == 0 and means["default"]["blob_bytes"] > 0
    assert {p.name for p in out.iterdir()} == {"eval.csv", "eval.json", "eval.md"}
    assert json.loads((out / "eval.json").read_text()) == report


def test_eval_rejects_unknown_methods_and_paths(tmp_path):
    result = run_cli("eval", tmp_path, "--method", "clip,magic")
    assert result.returncode == 1 and "unknown method 'magic'" in result.stderr
    result = run_cli("eval", tmp_path / "missing.tif")
    assert result.returncode == 1 and "no such file" in result.stderr
