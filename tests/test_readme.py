"""The README's Python example runs as written (on a small generated photo)."""

import os
import re
from pathlib import Path

import pytest

from gamut_onnx.sample import synthetic_scene
from gamut_onnx.write import write_restored_tiff

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_example_runs(tmp_path, capsys):
    pytest.importorskip("torch")
    code = re.search(r"```python\n(.*?)```", README.read_text(), re.S).group(1)
    write_restored_tiff(tmp_path / "photo_prophoto.tif", synthetic_scene(64, 48), None)
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        exec(compile(code, "README.md", "exec"), {})
    finally:
        os.chdir(cwd)
    assert (tmp_path / "photo.png").stat().st_size > 0
    assert (tmp_path / "restored.png").stat().st_size > 0
    assert "blob_bytes" in capsys.readouterr().out
