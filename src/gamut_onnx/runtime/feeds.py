"""What the restore graph is fed for one image: the blob's weights and gate, the context grids
and the residual map's parameters (docs/blob-format.md, "Embedding restore").

Pure numpy, no onnxruntime: the same dictionaries serve the sessions and `export-onnx --bake`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gamut_onnx.blob import Blob, boundary_edges
from gamut_onnx.context import LEVELS

WEIGHT_INPUTS = ("w1", "b1", "w2", "b2", "w3", "b3")
GRID_INPUTS = tuple(f"grid{s}" for s in LEVELS)
PLAIN_EDGES = np.array([-1.0, 256.0], np.float32)  # selects no pixel: the plain expansion
PLAIN_TRANSFORM = 2  # a carrier without a model is expanded with the current transform


@dataclass(frozen=True)
class Grids:
    """The carrier's context grids, [4, ceil(H/S), ceil(W/S)] float32 per block size S (planar:
    mean linear R, G, B and the boundary share)."""

    levels: tuple[np.ndarray, ...]

    def feeds(self) -> dict[str, np.ndarray]:
        return dict(zip(GRID_INPUTS, self.levels, strict=True))


# A layout-1 blob's graph never reads the grids or an absent map's samples (`If` branches),
# but every input must be fed.
UNUSED_GRIDS = Grids(tuple(np.zeros((4, 1, 1), np.float32) for _ in LEVELS))
UNUSED_SAMPLES = np.full((1, 1, 3), 128, np.uint8)
NO_MAP = np.zeros(2, np.float32)  # scale 0: no map
NO_LATTICE = {  # mode 0: the graph skips the lattice step
    "lattice_matrices": np.stack([np.eye(3, dtype=np.float32)] * 2),
    "lattice_codes": np.array([[0.0, 1.0]], np.float32),
    "lattice_mode": np.array(0, np.int64),
}


def lattice_feeds(blob: Blob | None) -> dict[str, np.ndarray]:
    """The lattice inputs of a blob's record 131, or NO_LATTICE."""
    lattice = blob.lattice if blob is not None else None
    if lattice is None:
        return NO_LATTICE
    return {
        "lattice_matrices": np.stack([lattice.to_source, lattice.to_prophoto]).astype(np.float32),
        "lattice_codes": np.ascontiguousarray(lattice.codes, np.float32),
        "lattice_mode": np.array(lattice.mode, np.int64),
    }


def _weights(blob: Blob) -> dict[str, np.ndarray]:
    return {
        name: np.ascontiguousarray(value, np.float32)
        for name, value in zip(WEIGHT_INPUTS, blob.weights, strict=True)
    }


def plain_weights() -> dict[str, np.ndarray]:
    """Zero weights of the smallest architecture (1 octave, width 16): with PLAIN_EDGES no pixel
    reaches them, so the graph returns the reference expansion."""
    shapes = [(10, 16), (16,), (16, 16), (16,), (16, 3), (3,)]
    return {name: np.zeros(s, np.float32) for name, s in zip(WEIGHT_INPUTS, shapes, strict=True)}


def image_feeds(
    blob: Blob | None,
    height: int,
    width: int,
    grids: Grids | None = None,
    map_params: tuple[float, float] | None = None,
) -> dict[str, np.ndarray]:
    """Every restore input that is the same for all tiles of one image (all but srgb8, origin
    and map_samples). `blob` None: the plain expansion of a carrier without a model."""
    if blob is None:
        model = {
            **plain_weights(),
            "edges": PLAIN_EDGES,
            "carrier_transform": np.array(PLAIN_TRANSFORM, np.int64),
        }
    else:
        model = {
            **_weights(blob),
            "edges": boundary_edges(blob),
            "carrier_transform": np.array(blob.carrier_transform, np.int64),
        }
    params = NO_MAP if map_params is None else np.array(map_params, np.float32)
    return {
        "image_size": np.array([height, width], np.int64),
        **model,
        **(grids or UNUSED_GRIDS).feeds(),
        "map_params": params,
        **lattice_feeds(blob),
    }
