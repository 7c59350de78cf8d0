"""`gamut-onnx eval` end to end on a small generated image."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import FAST_FIT, check_ok, make_source, run_cli

from gamut_onnx.errors import GamutError
from gamut_onnx.evaluate import parse_carrier, progress_bar

KEYS = {
    "image",
    "method",
    "psnr",
    "psnr_og",
    "rmse",
    "rmse_og",
    "de2000_og_mean",
    "de2000_og_p95",
    "psnr_ig",
    "psnr_ig_src",
    "psnr_src",
    "psnr_og_src",
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


FIGURES = {
    "a.soft-clip.png",
    "a.default.png",
    "a.chromaticity.png",
    "psnr_og-vs-blob_bytes.png",
    "psnr_og-vs-fit_s.png",
}


@pytest.mark.parametrize("carrier", ["png", "jpeg:90"])
def test_eval_json_reports_and_pictures(tmp_path, carrier):
    pytest.importorskip("torch")
    pytest.importorskip("matplotlib")
    from PIL import Image

    folder = tmp_path / "images"
    folder.mkdir()
    make_source(folder / "a.tif", 64, 48)
    out = tmp_path / "report"
    methods = "clip,soft-clip,default"
    args = ("eval", folder, "--method", methods, "--carrier", carrier, "--out", out, *FAST_FIT)
    result = check_ok(run_cli(*args, "--json"))
    assert result.stderr == ""  # --json is quiet
    report = json.loads(result.stdout)
    assert [(r["image"], r["method"]) for r in report["images"]] == [
        ("a.tif", "clip"),
        ("a.tif", "soft-clip"),
        ("a.tif", "default"),
    ]
    assert all(set(r) == KEYS for r in report["images"])
    means = report["means"]
    assert list(means) == methods.split(",")
    assert all(set(m) == KEYS - {"image", "method"} for m in means.values())
    # Measured on this scene: OG PSNR png clip 25.9, soft-clip 48.6, default (150 steps) 38.8;
    # jpeg:90 25.1, 27.5, 33.9. Soft-clip's CIEDE2000 is worse than clip's under JPEG noise.
    assert means["default"]["psnr_og"] > means["clip"]["psnr_og"]
    assert means["soft-clip"]["psnr_og"] > means["clip"]["psnr_og"]
    assert means["default"]["de2000_og_mean"] < means["clip"]["de2000_og_mean"]
    assert [m["blob_bytes"] for m in means.values()][:2] == [0, 17]
    assert means["default"]["blob_bytes"] > 1000
    assert {p.name for p in out.iterdir()} == {"eval.csv", "eval.json", "eval.md", "figures"}
    assert json.loads((out / "eval.json").read_text()) == report
    assert {p.name for p in (out / "figures").iterdir()} == FIGURES
    for name in FIGURES:
        with Image.open(out / "figures" / name) as im:
            assert im.format == "PNG"
            im.verify()


def test_progress_bar_names_image_and_method():
    bar, update = progress_bar(4)
    update("a.tif", "clip")
    update("a.tif", "soft-clip")
    task = bar.tasks[0]
    assert (task.description, task.completed, task.total) == ("a.tif · soft-clip", 1, 4)


def test_eval_rejects_unknown_methods_and_paths(tmp_path):
    result = run_cli("eval", tmp_path, "--method", "clip,magic")
    assert result.returncode == 1 and "unknown method 'magic'" in result.stderr
    result = run_cli("eval", tmp_path / "missing.tif")
    assert result.returncode == 1 and "no such file" in result.stderr
    result = run_cli("eval", tmp_path, "--method", "soft-clip", "--carrier", "tiff")
    assert result.returncode == 1 and "not TIFF" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    make_source(tmp_path / "a.tif", 16, 16)
    (tmp_path / "file").write_text("")
    result = run_cli("eval", tmp_path / "a.tif", "--method", "clip", "--out", tmp_path / "file")
    assert result.returncode == 1 and "not a folder" in result.stderr


def test_eval_without_matplotlib(tmp_path):
    """Pictures need matplotlib (the fit extra); without it --out fails up front, in one line,
    and eval without --out still works."""
    source = make_source(tmp_path / "a.tif", 16, 16)
    block = "import sys; sys.modules['matplotlib'] = None; from gamut_onnx.cli import main; main()"
    cmd = [sys.executable, "-c", block, "eval", str(source), "--method", "clip,soft-clip"]
    done = subprocess.run([*cmd, "--out", str(tmp_path / "r")], capture_output=True, text=True)
    assert done.returncode == 1 and done.stderr.startswith("error: pictures for --out need")
    assert len(done.stderr.strip().splitlines()) == 1 and not (tmp_path / "r").exists()
    done = subprocess.run([*cmd, "--json"], capture_output=True, text=True)
    assert done.returncode == 0 and len(json.loads(done.stdout)["images"]) == 2


def test_paper_is_scored_as_published_without_the_clip_fallback(tmp_path):
    """One step from random weights is worse than clipping: the encoder's safety net drops such
    a model for every preset, but `paper` reproduces the authors, who ship it regardless."""
    pytest.importorskip("torch")
    from gamut_onnx.evaluate import evaluate_image

    make_source(tmp_path / "a.tif", 48, 32)
    untrained = {"steps": 1, "init": "random", "batch": 256}
    rows = evaluate_image(
        tmp_path / "a.tif",
        ["clip", "paper", "default"],
        device="cpu",
        provider="cpu",
        overrides=untrained,
    )
    clip, paper, default = rows
    assert paper.blob_bytes > 0 and paper.psnr < clip.psnr
    assert default.blob_bytes == 0 and default.psnr == clip.psnr
