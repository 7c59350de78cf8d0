"""The context every mutator acts in: a module of its own, so that the format mutators can all
take it without importing one another."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Context:
    """What a mutator may use besides the bytes: the seed (to re-wrap a changed blob in its
    container) and the other seeds (to splice)."""

    seed: object  # seed_carriers.Seed
    seeds: list
    rewrap: Callable[[object, bytes | None], bytes]
    icc_pool: list[bytes]
    ops: list[str] = field(default_factory=list)
