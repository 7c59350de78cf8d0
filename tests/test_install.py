"""Install problems end in one line that says what to install: missing backends and extras,
and two onnxruntime builds in one environment. The real installs (no onnxruntime at all, and
onnxruntime-gpu beside onnxruntime) are exercised by `make package-check` in fresh venvs."""

import sys

import pytest
from conftest import run_cli

from gamut_onnx.errors import GamutError
from gamut_onnx.optional import require
from gamut_onnx.runtime.backend import conflict_message, installed_builds


def _one_line_error(result, *fragments):
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1, result.stderr
    assert len(lines) == 1, lines
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def test_an_onnxruntime_that_cannot_import_says_to_reinstall(work, tmp_path):
    # Installed (its metadata is there) but not importable, as after a half-overwritten install.
    # A plain `pip install gamut-onnx` without any build is checked by `make package-check`.
    result = run_cli("decode", work["png"], "-o", tmp_path / "r.tif", block=["onnxruntime"])
    _one_line_error(result, "cannot be imported", "pip install --force-reinstall onnxruntime")
    assert not (tmp_path / "r.tif").exists()


def test_cuda_on_the_cpu_build_says_to_install_the_gpu_extra(work, tmp_path):
    if "onnxruntime-gpu" in installed_builds():
        pytest.skip("this environment has the GPU build")
    result = run_cli("decode", work["png"], "-o", tmp_path / "r.tif", "--provider", "cuda")
    _one_line_error(result, "no CUDA provider", "pip uninstall -y onnxruntime", "[gpu]")


def test_bake_without_onnx_names_the_export_extra(work, tmp_path):
    result = run_cli(
        "export-onnx", "--bake", work["png"], "-o", tmp_path / "m.onnx", block=["onnx"]
    )
    _one_line_error(result, "gamut-onnx[export]")


def test_the_dev_environment_has_exactly_one_build():
    assert len(installed_builds()) == 1, installed_builds()
    assert conflict_message(installed_builds()) is None


def test_two_builds_message_names_both_and_the_fix():
    message = conflict_message(["onnxruntime", "onnxruntime-gpu"])
    assert "onnxruntime and onnxruntime-gpu are installed together" in message
    assert (
        "pip uninstall -y onnxruntime onnxruntime-gpu && pip install 'gamut-onnx[gpu]'" in message
    )
    assert "\n" not in message


@pytest.mark.parametrize(
    "module, extra", [("rawpy", "raw"), ("pillow_heif", "heic"), ("imagecodecs", "codecs")]
)
def test_a_missing_extra_is_named(monkeypatch, module, extra):
    monkeypatch.setitem(sys.modules, module, None)  # as if not installed
    with pytest.raises(GamutError) as error:
        require(module)
    assert f"pip install 'gamut-onnx[{extra}]'" in str(error.value)
