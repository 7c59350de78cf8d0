"""The map fuzz CI slice: generated hostile residual maps (tests/fuzz/map_cases.py) through the
Python runtime's oracle and, where Node.js and the Node package are installed, through the Node
runtime, whose verdicts and values must equal Python's (tests/fuzz/map_oracle.py). The long
run: `python bench/fuzz_maps.py --cases 20000`."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

pytest.importorskip("imagecodecs")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE / "conformance"))
sys.path.append(str(HERE.parent / "bench"))  # after tests/: bench/fuzz.py is no package

from fuzz.map_cases import map_case  # noqa: E402
from fuzz.map_oracle import verdict  # noqa: E402

SEED, CASES = 7, 120
NODE_PACKAGE = HERE.parent / "runtimes" / "node" / "node_modules"


def test_python_keeps_every_promise_on_generated_maps():
    findings, verdicts = [], set()
    for index in range(CASES):
        name, data, suffix = map_case(SEED, index)
        result = verdict(data, suffix)
        verdicts.add(result["verdict"])
        if result["finding"]:
            findings.append((name, result["finding"]))
    assert verdicts == {"applied", "ignored"}
    assert not findings, findings[:5]


@pytest.mark.skipif(
    shutil.which("node") is None or not NODE_PACKAGE.exists(), reason="Node.js package absent"
)
def test_node_reaches_pythons_verdicts_on_generated_maps():
    from fuzz_maps import run

    counts, findings = run(CASES // 2, SEED + 1, node=True, batch=CASES // 2)
    assert counts["applied"] and counts["ignored"]
    assert not findings, findings[:5]
