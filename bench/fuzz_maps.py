"""Hostile residual maps through every runtime: generated cases (tests/fuzz/map_cases.py), the
Python runtime's verdict and oracle (tests/fuzz/map_oracle.py), and the Node runtime's verdict
and values on the same files, which must agree.

    python bench/fuzz_maps.py [--cases 20000] [--seed 1] [--no-node] [--batch 200]

Prints the verdict counts and every finding (kind, case); exit code 1 when there is any.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "conformance"))

from fuzz.map_cases import map_case  # noqa: E402
from fuzz.map_oracle import compare, verdict  # noqa: E402

NODE_SCRIPT = ROOT / "runtimes" / "node" / "test" / "map-verdicts.js"


def node_verdicts(files: list[Path]) -> dict[str, dict]:
    done = subprocess.run(["node", str(NODE_SCRIPT), *map(str, files)], capture_output=True,
                          text=True, cwd=NODE_SCRIPT.parent.parent, timeout=1800)  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"the Node runtime failed: {done.stderr[-2000:]}")
    return {line["file"]: line for line in map(json.loads, done.stdout.splitlines())}


def run(cases: int, seed: int, node: bool, batch: int) -> tuple[Counter, list]:
    counts, findings = Counter(), []
    with tempfile.TemporaryDirectory() as tmp:
        for first in range(0, cases, batch):
            files, python = [], {}
            for index in range(first, min(first + batch, cases)):
                name, data, suffix = map_case(seed, index)
                path = Path(tmp) / f"{name}{suffix}"
                path.write_bytes(data)
                python[str(path)] = result = verdict(data, suffix)
                counts[result["verdict"]] += 1
                if result["finding"]:
                    findings.append((result["finding"], name))
                files.append(path)
            if node:
                for path_name, theirs in node_verdicts(files).items():
                    finding = compare(python[path_name], theirs)
                    if finding:
                        findings.append((f"node: {finding}", Path(path_name).name))
            for path in files:
                path.unlink()
            print(f"{min(first + batch, cases)} cases, {len(findings)} findings", file=sys.stderr)
    return counts, findings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-node", action="store_true")
    parser.add_argument("--batch", type=int, default=200)
    args = parser.parse_args()
    start = time.perf_counter()
    counts, findings = run(args.cases, args.seed, not args.no_node, args.batch)
    runtimes = "Python" if args.no_node else "Python and Node"
    print(f"{args.cases} map cases through {runtimes} in {time.perf_counter() - start:.0f} s: "
          f"{dict(counts)}; {len(findings)} findings")  # fmt: skip
    for kind, count in Counter(kind for kind, _ in findings).most_common():
        example = next(name for k, name in findings if k == kind)
        print(f"  {count} x {kind} (e.g. {example})")
    sys.exit(1 if findings else 0)


if __name__ == "__main__":
    main()
