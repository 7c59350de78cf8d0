"""The fuzz corpus: the deterministic case stream over the seeds, and writing it to a folder.

`case(seed, index)` is a pure function: index < len(seeds()) is a seed as it is, every later
index a few stacked mutations of one seed.

Write cases to a folder (for the Node runtime): `python -m fuzz.corpus --out DIR --cases N`
from the tests folder.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fuzz.bombs import BOMBS, bomb
from fuzz.file_header import declared_size, extension
from fuzz.mutate import mutate
from fuzz.mutation_context import Context
from fuzz.random_draws import pick
from fuzz.seed_carriers import rewrap, seeds
from fuzz.seed_material import icc_pool


@dataclass
class Case:
    index: int
    name: str
    data: bytes
    ops: list[str]
    error: str = ""  # a bug in the fuzzer itself: the case is the unmutated seed

    @property
    def ext(self) -> str:
        return extension(self.data)


def case(seed_value: int, index: int) -> Case:
    """Case `index` of the stream for `seed_value` (the same bytes in every process)."""
    all_seeds = seeds()
    if index < len(all_seeds):
        s = all_seeds[index]
        return Case(index, f"{index:06d}-{s.name}", s.data, ["seed"])
    rng = np.random.default_rng([seed_value, index])
    s = pick(rng, all_seeds)
    ctx = Context(s, list(all_seeds), rewrap, list(icc_pool()))
    try:
        data = mutate(rng, ctx)
    except Exception as exc:  # a fuzzer bug must not look like a decoder finding
        error = f"{type(exc).__name__}: {exc} after {' '.join(ctx.ops)}"
        return Case(index, f"{index:06d}-{s.name}", s.data, ["seed"], error)
    return Case(index, f"{index:06d}-{s.name}", data, ctx.ops)


def write_cases(out: Path, seed_value: int, count: int, start: int = 0, bombs: bool = True):
    """Cases (and bombs) as files plus manifest.json: {cases: [...], bombs: [...]}, each entry
    {file, name, ops, declared: [width, height] or null}."""
    out.mkdir(parents=True, exist_ok=True)
    manifest = {"seed": seed_value, "cases": [], "bombs": []}
    for index in range(start, start + count):
        c = case(seed_value, index)
        path = out / f"case-{index:06d}.{c.ext}"
        path.write_bytes(c.data)
        manifest["cases"].append(
            dict(file=path.name, name=c.name, ops=c.ops, declared=declared_size(c.data))
        )
    for name in BOMBS if bombs else ():
        data = bomb(name)
        path = out / f"bomb-{name}.{extension(data)}"
        path.write_bytes(data)
        manifest["bombs"].append(dict(file=path.name, name=name, declared=declared_size(data)))
    (out / "manifest.json").write_text(json.dumps(manifest, indent=0))
    return manifest


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write fuzz cases and bombs to a folder.")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--cases", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--start", type=int, default=0)
    parser.add_argument("--no-bombs", action="store_true")
    args = parser.parse_args(argv)
    manifest = write_cases(args.out, args.seed, args.cases, args.start, not args.no_bombs)
    print(f"{len(manifest['cases'])} cases, {len(manifest['bombs'])} bombs in {args.out}")


if __name__ == "__main__":
    main()
