"""A fast slice of bench/survival.py: the tools that must keep a carrier's model, and a sidecar
that restores what a metadata-stripping tool dropped. Each tool is skipped when not installed."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from conftest import FAST_FIT, check_ok, run_cli

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import survival  # noqa: E402

TOOLS = {(fmt, tool): run for fmt, tool, run in survival.tools()}
# (carrier, tool, what decode --strict must say, what it must say with the sidecar beside it)
EXPECTED = [
    ("png", "exiftool -Artist=x", "restores", "restores (embedded model)"),
    ("png", "optipng -o2", "restores", "restores (embedded model)"),
    ("png", "pngcrush", "restores", "restores (embedded model)"),  # safe-to-copy chunks
    ("png", "optipng -strip all", "dropped", "restores (sidecar model)"),
    ("jpeg", "exiftool -Artist=x", "restores", "restores (embedded model)"),
    ("jpeg", "jpegtran -copy all -optimize", "restores", "restores (embedded model)"),
    ("jpeg", "jpegtran -copy all -progressive", "restores", "restores (embedded model)"),
    ("jpeg", "jpegtran -copy all -rotate 90", "restores", "restores (embedded model)"),
]


@pytest.fixture(scope="module")
def carriers(work, tmp_path_factory):
    """The session's PNG carrier and a JPEG one, each with a sidecar made by `detach`."""
    folder = tmp_path_factory.mktemp("survival")
    made = {}
    for fmt, source in (("png", work["png"]), ("jpeg", folder / "carrier.jpg")):
        if fmt == "jpeg":
            check_ok(run_cli("encode", work["source"], "-o", source, *FAST_FIT, "-q"))
        sidecar = folder / f"{fmt}.gamut"
        check_ok(run_cli("detach", source, "-o", sidecar))
        made[fmt] = source, sidecar
    return made


@pytest.mark.parametrize(
    "fmt, tool, strict, sidecar", EXPECTED, ids=[f"{f}-{t}" for f, t, *_ in EXPECTED]
)
def test_tool_keeps_the_model_or_the_sidecar_restores(
    carriers, tmp_path, fmt, tool, strict, sidecar
):
    run = TOOLS[fmt, tool]
    if run is None:
        pytest.skip(f"{tool.split()[0]} is not installed")
    row = survival.survive(fmt, tool, run, *carriers[fmt], tmp_path)
    assert (row.strict, row.sidecar) == (strict, sidecar), row
    assert row.lenient.startswith("exit 0"), row  # never an error without --strict
