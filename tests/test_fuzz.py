"""The fuzz CI slice: 3,000 structure-aware cases through the decoder and `inspect`, the named
bombs (time and peak RSS, each in a fresh interpreter), and a subset through the real CLI.

Every test fails on any finding (tests/fuzz/oracle.py says what one is); the failure message
lists each kind with an example case, which `python bench/fuzz.py` also writes to disk with its
input and traceback. The long run: `python bench/fuzz.py --cases 100000`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fuzz.bomb_check import measure_bomb  # noqa: E402
from fuzz.bombs import BOMBS, bomb  # noqa: E402
from fuzz.cli_checks import run_cli_cases  # noqa: E402
from fuzz.corpus import case  # noqa: E402
from fuzz.file_header import detect  # noqa: E402
from fuzz.jpeg_format import jpeg_parse  # noqa: E402
from fuzz.png_format import png_parse  # noqa: E402
from fuzz.pool import Pool  # noqa: E402
from fuzz.seed_carriers import VECTORS, seeds  # noqa: E402
from fuzz.summary import Summary, describe_findings  # noqa: E402
from fuzz.tiff_format import tiff_parse  # noqa: E402
from fuzz.worker import SELFTEST_CRASH, SELFTEST_HANG  # noqa: E402

SEED = 1
CASES = 3000
CLI_CASES = 40  # mutated cases through the CLI, plus every third seed and every bomb
BOMB_KILL_S = 15.0  # a bomb still decoding after this is killed (and reported)


def test_corpus_is_deterministic_and_structure_aware():
    all_seeds = seeds()
    assert {s.fmt for s in all_seeds} == {"png", "tiff", "jpeg"}
    assert any(s.name.startswith("vector-") for s in all_seeds)
    first = [case(SEED, i).data for i in range(len(all_seeds), len(all_seeds) + 40)]
    again = [case(SEED, i).data for i in range(len(all_seeds), len(all_seeds) + 40)]
    assert first == again
    assert len({detect(d) for d in first}) >= 3
    # the mutated bytes still parse as their format most of the time (the mutations are
    # structural, so they reach the parsers' deeper checks)
    parsed = sum((png_parse(d) or jpeg_parse(d) or tiff_parse(d)) is not None for d in first)
    assert parsed >= 30


def test_pool_survives_crash_and_hang():
    """The harness itself: a segfault and a hang are findings, and the run goes on."""
    good = (VECTORS / "png_gated_fp16.png").read_bytes()
    jobs = [
        {"id": 0, "name": SELFTEST_CRASH, "data": b""},
        {"id": 1, "name": SELFTEST_HANG, "data": b""},
        *({"id": i, "name": f"good-{i}", "data": good} for i in range(2, 6)),
    ]
    with Pool(SEED, workers=2, timeout=3.0) as pool:
        results = {r["id"]: r for r in pool.run(jobs)}
        assert pool.restarts == 2
    assert results[0]["findings"][0][0] == "crash" and "SIGSEGV" in results[0]["findings"][0][1]
    assert results[1]["findings"][0][0] == "hang"
    assert all(results[i]["outcome"] == "ok" for i in range(2, 6)), results


def test_fuzz_slice_decode_and_inspect():
    summary = Summary()
    with Pool(SEED, workers=2) as pool:
        for kind, detail in pool.startup_problems:
            summary.add(
                {
                    "name": "startup",
                    "outcome": "finding",
                    "seconds": 0.0,
                    "findings": [(kind, detail)],
                }
            )
        for res in pool.run({"id": i, "index": i} for i in range(CASES)):
            summary.add(res)
        summary.restarts = pool.restarts
    print(summary.table("python"))
    print(summary.top_prefixes(15))
    assert summary.cases >= CASES
    assert not summary.generator_errors, summary.generator_errors[:5]  # bugs of the fuzzer
    assert summary.ok > CASES // 10 and summary.refused > CASES // 3  # both paths exercised
    assert not summary.kinds, (
        f"{summary.findings} fuzz findings in {summary.with_findings} of {summary.cases} cases "
        f"(seed {SEED}; reproduce with tests/fuzz/corpus.py case({SEED}, index)):\n"
        + describe_findings(summary)
    )


@pytest.mark.parametrize("name", list(BOMBS))
def test_fuzz_bomb_refused_quickly_in_little_memory(name):
    report = measure_bomb(name, bomb(name), timeout=BOMB_KILL_S)
    print(
        f"{name}: {report['outcome']} in {report['seconds']:.2f} s, peak RSS "
        f"{report['peak_mb']:.0f} MB: {report['message'][:200]}"
    )
    assert not report["findings"], "\n".join(f"{k}: {d}" for k, d in report["findings"])


def test_fuzz_cli_subset():
    n_seeds = len(seeds())
    step = (CASES - n_seeds) // CLI_CASES
    indices = list(range(1, n_seeds, 3)) + list(range(n_seeds, CASES, step))[:CLI_CASES]
    items = [(c.name, c.data) for c in map(lambda i: case(SEED, i), indices)]
    items += [(f"bomb-{name}", bomb(name)) for name in BOMBS]
    results = run_cli_cases(items, workers=2, timeout=30.0)
    problems = [
        f"- {res['name']}: {kind}: {detail.strip().splitlines()[-1] if detail.strip() else ''}"
        for res in results
        for kind, detail in res["findings"]
    ]
    assert len(results) == len(items)
    assert not problems, f"{len(problems)} CLI findings:\n" + "\n".join(problems[:60])
