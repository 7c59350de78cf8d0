"""Structure-aware mutation of one seed carrier, deterministic from a numpy Generator.

`mutate(rng, ctx)` stacks a few mutations: maybe a changed blob re-wrapped in the seed's
container, then structural changes by the walker of whatever format the bytes now have
(png_mutators, tiff_mutators, jpeg_mutators), sometimes a format-blind one (generic_mutators).

Nothing here imports the decoders: only gamut_onnx's writers and format constants.
"""

from __future__ import annotations

import numpy as np

from fuzz.blob_mutators import blob_repack, mutate_blob
from fuzz.generic_mutators import mutate_generic
from fuzz.jpeg_mutators import mutate_jpeg
from fuzz.mutation_context import Context
from fuzz.png_format import PNG_SIGNATURE
from fuzz.png_mutators import mutate_png
from fuzz.random_draws import chance
from fuzz.tiff_mutators import mutate_tiff


def mutate_container(rng, data: bytes, ctx: Context) -> bytes:
    if data.startswith(PNG_SIGNATURE):
        return mutate_png(rng, data, ctx)
    if data[:2] == b"\xff\xd8":
        return mutate_jpeg(rng, data, ctx)
    if data[:2] in (b"II", b"MM"):
        return mutate_tiff(rng, data, ctx)
    return mutate_generic(rng, data, ctx)


def mutate(rng: np.random.Generator, ctx: Context) -> bytes:
    """A few stacked mutations of ctx.seed: maybe a blob change (re-wrapped in the container by
    the project's writers), then container-structure changes, sometimes a generic one."""
    seed = ctx.seed
    data = seed.data
    if seed.rewrap_ok and chance(rng, 0.4):
        # a plain image gets a model
        new = mutate_blob(rng, seed.blob, ctx) if seed.blob else blob_repack(rng, b"", ctx)
        data = ctx.rewrap(seed, new)
        if chance(rng, 0.5):
            return data
    for _ in range(min(4, int(rng.geometric(0.6)))):
        data = mutate_container(rng, data, ctx)
    if chance(rng, 0.15):
        data = mutate_generic(rng, data, ctx)
    return data
